/* SPDX-License-Identifier: MIT */
/*
 * Condition variables. A waiter queues on the condition, releases the mutex, parks, and
 * locks the mutex again whatever woke it. signal and broadcast wake with 0. The waiter keeps
 * that 0 even if it is killed or times out before it runs: a wake-up is never lost.
 */
#include "posix.h"
#include "sync.h"

#ifdef __LP64__ /* a layer on top may embed one in pthread_cond_t (48 bytes) */
_Static_assert(sizeof(green_cond_t) <= 48, "green_cond_t must fit in pthread_cond_t");
#endif

int green_cond_init(green_cond_t *c, clockid_t clock) {
  if (!c || (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)) return green__fail(-EINVAL);
  *c = (green_cond_t)GREEN_COND_INITIALIZER;
  c->clock = clock;
  return 0;
}

int green_cond_destroy(green_cond_t *c) {
  if (!c) return green__fail(-EINVAL);
  if (!green__waitq_empty(&c->waiters)) return green__fail(-EBUSY);
  *c = (green_cond_t)GREEN_COND_INITIALIZER;
  return 0;
}

static int wait(struct green__hub *h, green_cond_t *c, green_mutex_t *m, green__until_t u) {
  unsigned count;
  int r, relocked;
  if (!green__mutex_owned(m, h->current)) return -EPERM;
  if (!green__waitq_empty(&c->waiters) && c->mutex != m) return -EINVAL;
  if ((r = green__waitq_foreign(&c->waiters, h))) return r;
  c->mutex = m;
  count = green__mutex_release(h, m); /* no switch until we park: no signal can slip by */
  r = green__waitq_park(h, GREEN_WAIT_COND, c, &c->waiters, green__until_at(u));
  relocked = green__mutex_relock(h, m, count);
  return relocked ? relocked : r;
}

static int wait_until(green_cond_t *c, green_mutex_t *m, green__until_t u) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if (!c || !m) return green__fail(-EINVAL);
  if ((r = green__until_check(u)) || (r = wait(h, c, m, u))) return green__fail(r);
  return 0;
}

int green_cond_wait(green_cond_t *c, green_mutex_t *m, double timeout) {
  return wait_until(c, m, green__until_timeout(timeout));
}

int green__cond_clockwait(green_cond_t *c, green_mutex_t *m, clockid_t clock,
                          const struct timespec *abstime) {
  return wait_until(c, m, green__until_abstime(clock, abstime));
}

int green__cond_timedwait(green_cond_t *c, green_mutex_t *m, const struct timespec *abstime) {
  if (!c) return green__fail(-EINVAL);
  return wait_until(c, m, green__until_abstime(c->clock, abstime));
}

int green_cond_signal(green_cond_t *c) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  int r;
  if (!h) return -1;
  if (!c) return green__fail(-EINVAL);
  if ((r = green__waitq_foreign(&c->waiters, h))) return green__fail(r);
  if ((g = green__waitq_pop(&c->waiters))) green__wake(h, g, 0);
  return 0;
}

int green_cond_broadcast(green_cond_t *c) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if (!c) return green__fail(-EINVAL);
  if ((r = green__waitq_foreign(&c->waiters, h))) return green__fail(r);
  green__waitq_wake_all(h, &c->waiters);
  return 0;
}
