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

/* Checked and reset inside c's home: a signal on another hub is either before or after. */
int green_cond_destroy(green_cond_t *c) {
  int how, busy;
  if (!c) return green__fail(-EINVAL);
  if ((how = green__home_enter_destroy(&c->home)) < 0) return green__fail(how);
  busy = !green__waitq_empty(&c->waiters);
  if (!busy) {
    c->waiters = (green__list_t){NULL, NULL};
    c->mutex = NULL;
    c->clock = CLOCK_REALTIME;
  }
  green__home_leave_destroy(&c->home, how, !busy);
  return busy ? green__fail(-EBUSY) : 0;
}

/* Queued before the mutex is released: no signal slips by. One that comes before the park
 * is delivered after it. A wait that fails at once still releases and relocks the mutex, as
 * a timed-out one does. */
static int wait(struct green__hub *h, green_cond_t *c, green_mutex_t *m, green__until_t u) {
  double at = green__until_at(u);
  unsigned count;
  int r, relocked, how;
  if (!green__mutex_owned(m, h->current)) return -EPERM;
  how = green__home_enter(&c->home, h);
  if (!green__waitq_empty(&c->waiters) && c->mutex != m) {
    green__home_leave(&c->home, h, how);
    return -EINVAL;
  }
  c->mutex = m;
  r = green__waitq_queue(h, &c->waiters, at, &c->home, how);
  count = green__mutex_release(h, m);
  if (r == 0) r = green__waitq_sleep(h, GREEN_WAIT_COND, c, at);
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
  int how;
  if (!h) return -1;
  if (!c) return green__fail(-EINVAL);
  how = green__home_enter(&c->home, h);
  g = green__waitq_pop(&c->waiters);
  green__home_leave(&c->home, h, how);
  if (g) green__hand(h, g, 0);
  return 0;
}

int green_cond_broadcast(green_cond_t *c) {
  struct green__hub *h = green__hub_get();
  int how;
  green__taken_t woken = GREEN__TAKEN_INIT(woken);
  if (!h) return -1;
  if (!c) return green__fail(-EINVAL);
  how = green__home_enter(&c->home, h);
  green__waitq_take_all(&c->waiters, &woken);
  green__home_leave(&c->home, h, how);
  green__waitq_hand_all(h, &woken);
  return 0;
}
