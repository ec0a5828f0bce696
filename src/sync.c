/*
 * Waiter queues, timeouts and absolute times shared by the synchronisation objects.
 */
#include "sync.h"

#include <math.h>
#include <time.h>

int green__until_check_abstime(green__until_t u) {
  if (u.clock != CLOCK_REALTIME && u.clock != CLOCK_MONOTONIC) return -EINVAL;
  if (!u.abstime || u.abstime->tv_nsec < 0 || u.abstime->tv_nsec >= 1000000000) return -EINVAL;
  return 0;
}

double green__until_at(green__until_t u) {
  struct timespec now;
  if (!u.absolute) return u.timeout < 0 ? INFINITY : green_now() + u.timeout;
  if (u.clock == CLOCK_MONOTONIC) /* green_now()'s own clock */
    return (double)u.abstime->tv_sec + (double)u.abstime->tv_nsec * 1e-9;
  clock_gettime(CLOCK_REALTIME, &now);
  return green_now() + (double)(u.abstime->tv_sec - now.tv_sec) + /* exact to the ns */
         (double)(u.abstime->tv_nsec - now.tv_nsec) * 1e-9;
}

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
