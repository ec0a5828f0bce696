/* SPDX-License-Identifier: MIT */
/*
 * The back-off park of retry.h. Parked greenlets are linked by their wait_link in a list per
 * OS thread. green__park unlinks it on every path. A kick wakes them all with reason 0. The
 * list belongs to one hub. In the child of fork, or when the thread's hub changed, it starts
 * empty again.
 */
#include "retry.h"

#include <math.h>

#include "../src/wait.h"
#include "threads.h"

static __thread green__list_t parked;
static __thread struct green__hub *parked_hub; /* the hub `parked` belongs to */

static green__list_t *parked_list(struct green__hub *h) {
  if (parked_hub != h) {
    green__list_init(&parked);
    parked_hub = h;
  }
  return &parked;
}

int green__shim_retry_park(struct green__hub *h, double *step, double deadline, int intr,
                           int cancel_point, const char *call) {
  green__shim_wait_t w = {.kind = GREEN_WAIT_CALL, .call = call, .intr = intr,
                          .at = fmin(green_now() + *step, deadline),
                          .cancel = cancel_point ? GREEN__CANCEL_REPORT : GREEN__CANCEL_NONE,
                          .quiet = *step != GREEN__RETRY_FIRST, .list = parked_list(h)};
  int r;
  *step = fmin(*step * 2, GREEN__RETRY_MAX);
  r = green__shim_park(h, &w);
  if (r == GREEN__TIMER || (r == -ECANCELED && !cancel_point)) return 0;
  return r;
}

int green__shim_retry_fail(struct green__hub *h, int r) {
  if (r == -ECANCELED) green__shim_cancel_point(green__shim_self(h));
  return green__fail(r);
}

void green__shim_retry_kick(void) {
  struct green__hub *h = green__shim_tls.hub;
  green__list_t *n;
  if (!h || parked_hub != h || green__list_empty(&parked) || green__shim_hub() != h) return;
  while ((n = green__list_pop_front(&parked)))
    green__wake(h, green__container_of(n, green_t, wait_link), 0);
}
