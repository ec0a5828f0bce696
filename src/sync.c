/*
 * Waiter queues and absolute deadlines shared by the synchronisation objects.
 */
#include "sync.h"

#include <math.h>
#include <time.h>

int green__waitq_park(struct green__hub *h, green__list_t *q, double at) {
  int r;
  green__waitq_push(q, h->current);
  r = green__park(h, at, 0);
  return r == GREEN__TIMER ? -ETIMEDOUT : r;
}

size_t green__waitq_wake_all(struct green__hub *h, green__list_t *q) {
  green_t *g;
  size_t n = 0;
  for (; (g = green__waitq_pop(q)); n++) green__wake(h, g, 0);
  return n;
}

int green__abstime_to_at(clockid_t clock, const struct timespec *abstime, double *at) {
  struct timespec now;
  if (!abstime || abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000) return -EINVAL;
  if (clock == CLOCK_MONOTONIC) { /* green_now()'s own clock */
    *at = (double)abstime->tv_sec + (double)abstime->tv_nsec * 1e-9;
    return 0;
  }
  if (clock != CLOCK_REALTIME) return -EINVAL;
  clock_gettime(CLOCK_REALTIME, &now);
  *at = green_now() + (double)(abstime->tv_sec - now.tv_sec) + /* exact to the ns */
        (double)(abstime->tv_nsec - now.tv_nsec) * 1e-9;
  return 0;
}
