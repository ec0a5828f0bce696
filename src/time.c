/* SPDX-License-Identifier: MIT */
/*
 * The clock, sleeping and scoped deadlines.
 */
#include <math.h>
#include <time.h>

#include "wait.h"

double green_now(void) { return green__clock_seconds(CLOCK_MONOTONIC); }

int green__timeout_to_at(double timeout, double *at) {
  if (isnan(timeout)) return -EINVAL;
  *at = timeout < 0 ? INFINITY : green_now() + timeout;
  return 0;
}

int green_sleep(double seconds) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if (isnan(seconds) || seconds < 0) return green__fail(-EINVAL);
  if (seconds == 0) {
    if ((r = green__may_block(h->current))) return green__fail(r);
    green_yield();
    return 0;
  }
  r = green__park(h, GREEN_WAIT_SLEEP, NULL, green_now() + seconds, 0);
  return r == GREEN__TIMER ? 0 : green__fail(r);
}

int green_deadline_enter(green_deadline_t *d, double seconds) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  if (!h) return -1;
  if (!d || isnan(seconds)) return green__fail(-EINVAL);
  g = h->current;
  d->at = seconds < 0 ? INFINITY : green_now() + seconds;
  d->outer = g->deadlines;
  d->outer_at = g->deadline;
  g->deadlines = d;
  if (d->at < g->deadline) g->deadline = d->at;
  return 0;
}

int green_deadline_leave(green_deadline_t *d) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  if (!h) return -1;
  g = h->current;
  if (!d || g->deadlines != d) return green__fail(-EINVAL);
  g->deadline = d->outer_at;
  g->deadlines = d->outer;
  return 0;
}

int green_deadline_expired(const green_deadline_t *d) {
  if (!d) return green__fail(-EINVAL);
  return green_now() >= d->at;
}
