/* SPDX-License-Identifier: MIT */
/*
 * Waiter queues, timeouts and absolute times shared by the synchronisation objects.
 */
#include "sync.h"

#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int green__until_check_abstime(green__until_t u) {
  if (u.clock != CLOCK_REALTIME && u.clock != CLOCK_MONOTONIC) return -EINVAL;
  if (!u.abstime || u.abstime->tv_nsec < 0 || u.abstime->tv_nsec >= 1000000000) return -EINVAL;
  return 0;
}

double green__until_at(green__until_t u) {
  if (!u.absolute) return u.timeout < 0 ? INFINITY : green_now() + u.timeout;
  if (u.clock == CLOCK_MONOTONIC) return green__ts_seconds(u.abstime); /* green_now()'s clock */
  return green_now() + green__ts_left(CLOCK_REALTIME, u.abstime);
}

/* Whether the running greenlet may wait until `at`: 0, or why not. Checked before it
 * queues on a home object, so a greenlet that fails at once was never in the queue. */
static int may_wait(struct green__hub *h, double at) {
  int r;
  if (h->current == &h->hub) return -EPERM; /* a callback on the hub must not block */
  if ((r = green__may_block(h->current))) return r;
  return at != INFINITY && green_now() >= at ? -ETIMEDOUT : 0;
}

int green__waitq_queue(struct green__hub *h, green__list_t *q, double at, uint32_t *home,
                       int how) {
  int r = may_wait(h, at);
  if (r == 0) {
    h->current->wait_home = home;
    green__waitq_push(q, h->current);
  }
  green__home_leave(home, h, how);
  return r;
}

int green__waitq_sleep(struct green__hub *h, int kind, const void *on, double at) {
  int r = green__park(h, kind, on, at, 0);
  return r == GREEN__TIMER ? -ETIMEDOUT : r;
}

int green__waitq_park(struct green__hub *h, int kind, const void *on, green__list_t *q,
                      double at, uint32_t *home, int how) {
  int r = green__waitq_queue(h, q, at, home, how);
  return r ? r : green__waitq_sleep(h, kind, on, at);
}

void green__waitq_take_all(green__list_t *q, green__taken_t *taken) {
  green_t *g;
  while ((g = green__waitq_pop(q))) green__taken_add(taken, g);
}

size_t green__waitq_hand_all(struct green__hub *h, green__taken_t *taken) {
  green_t *g, *next;
  size_t n = 0;
  for (g = taken->head; g; g = next, n++) {
    next = g->hand_next; /* read first: once handed, g may run and wait again */
    green__hand(h, g, 0);
  }
  return n;
}

int green__futex_wait(uint32_t *word, uint32_t value, double at) {
  struct timespec ts, *limit = NULL;
  if (at != INFINITY) {
    if (green_now() >= at) return -ETIMEDOUT;
    ts.tv_sec = (time_t)at;
    ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
    limit = &ts;
  }
  syscall(SYS_futex, word, FUTEX_WAIT_BITSET_PRIVATE, value, limit, NULL, FUTEX_BITSET_MATCH_ANY);
  return at != INFINITY && green_now() >= at ? -ETIMEDOUT : 0;
}

void green__futex_wake(uint32_t *word, int n) {
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}
