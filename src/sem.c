/* SPDX-License-Identifier: MIT */
/*
 * Counting semaphores. Invariant: while anyone waits, the value is 0. post hands its unit
 * straight to the oldest waiter (woken with 0) instead of raising the value.
 */
#include "posix.h"
#include "sync.h"

#ifdef __LP64__ /* a layer on top may embed one in sem_t (32 bytes) */
_Static_assert(sizeof(green_sem_t) <= 32, "green_sem_t must fit in sem_t");
#endif

int green_sem_init(green_sem_t *s, unsigned value) {
  if (!s || value > GREEN_SEM_VALUE_MAX) return green__fail(-EINVAL);
  *s = (green_sem_t)GREEN_SEM_INITIALIZER;
  s->value = value;
  return 0;
}

/* Checked and reset inside s's home: a post on another hub is either before or after. */
int green_sem_destroy(green_sem_t *s) {
  int how, busy;
  if (!s) return green__fail(-EINVAL);
  if ((how = green__home_enter_destroy(&s->home)) < 0) return green__fail(how);
  busy = !green__waitq_empty(&s->waiters);
  if (!busy) {
    s->waiters = (green__list_t){NULL, NULL};
    __atomic_store_n(&s->value, 0, __ATOMIC_RELAXED); /* getvalue reads it unlocked */
  }
  green__home_leave_destroy(&s->home, how, !busy);
  return busy ? green__fail(-EBUSY) : 0;
}

static int wait_until(green_sem_t *s, green__until_t u) {
  struct green__hub *h = green__hub_get();
  int r, how;
  if (!h) return -1;
  if (!s) return green__fail(-EINVAL);
  if ((r = green__until_check(u))) return green__fail(r);
  how = green__home_enter(&s->home, h);
  if (s->value) {
    __atomic_store_n(&s->value, s->value - 1, __ATOMIC_RELAXED); /* getvalue reads it unlocked */
    green__home_leave(&s->home, h, how);
    return 0;
  }
  /* on 0 the poster gave us its unit */
  r = green__waitq_park(h, GREEN_WAIT_SEM, s, &s->waiters, green__until_at(u), &s->home, how);
  return r ? green__fail(r) : 0;
}

int green_sem_wait(green_sem_t *s, double timeout) {
  return wait_until(s, green__until_timeout(timeout));
}

int green__sem_timedwait(green_sem_t *s, clockid_t clock, const struct timespec *abstime) {
  return wait_until(s, green__until_abstime(clock, abstime));
}

int green_sem_trywait(green_sem_t *s) {
  struct green__hub *h = green__hub_get();
  int r = 0, how;
  if (!h) return -1;
  if (!s) return green__fail(-EINVAL);
  how = green__home_enter(&s->home, h);
  if (s->value) __atomic_store_n(&s->value, s->value - 1, __ATOMIC_RELAXED);
  else r = -EAGAIN;
  green__home_leave(&s->home, h, how);
  return r ? green__fail(r) : 0;
}

int green_sem_post(green_sem_t *s) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  int r = 0, how;
  if (!h) return -1;
  if (!s) return green__fail(-EINVAL);
  how = green__home_enter(&s->home, h);
  if (!(g = green__waitq_pop(&s->waiters)) && s->value >= GREEN_SEM_VALUE_MAX) r = -EOVERFLOW;
  else if (!g) __atomic_store_n(&s->value, s->value + 1, __ATOMIC_RELAXED);
  green__home_leave(&s->home, h, how);
  if (g) green__hand(h, g, 0);
  return r ? green__fail(r) : 0;
}

int green_sem_getvalue(const green_sem_t *s, int *value) {
  if (!s || !value) return green__fail(-EINVAL);
  *value = (int)__atomic_load_n(&s->value, __ATOMIC_RELAXED);
  return 0;
}
