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

int green_sem_destroy(green_sem_t *s) {
  if (!s) return green__fail(-EINVAL);
  if (!green__waitq_empty(&s->waiters)) return green__fail(-EBUSY);
  *s = (green_sem_t)GREEN_SEM_INITIALIZER;
  return 0;
}

static int wait_until(green_sem_t *s, green__until_t u) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if (!s) return green__fail(-EINVAL);
  if ((r = green__until_check(u))) return green__fail(r);
  if (s->value) {
    s->value--;
    return 0;
  }
  /* on 0 the poster gave us its unit */
  if ((r = green__waitq_park(h, GREEN_WAIT_SEM, s, &s->waiters, green__until_at(u)))) return green__fail(r);
  return 0;
}

int green_sem_wait(green_sem_t *s, double timeout) {
  return wait_until(s, green__until_timeout(timeout));
}

int green__sem_timedwait(green_sem_t *s, clockid_t clock, const struct timespec *abstime) {
  return wait_until(s, green__until_abstime(clock, abstime));
}

int green_sem_trywait(green_sem_t *s) {
  if (!s) return green__fail(-EINVAL);
  if (!s->value) return green__fail(-EAGAIN);
  s->value--;
  return 0;
}

int green_sem_post(green_sem_t *s) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  int r;
  if (!h) return -1;
  if (!s) return green__fail(-EINVAL);
  if ((r = green__waitq_foreign(&s->waiters, h))) return green__fail(r);
  if ((g = green__waitq_pop(&s->waiters))) green__wake(h, g, 0);
  else if (s->value >= GREEN_SEM_VALUE_MAX) return green__fail(-EOVERFLOW);
  else s->value++;
  return 0;
}

int green_sem_getvalue(const green_sem_t *s, int *value) {
  if (!s || !value) return green__fail(-EINVAL);
  *value = (int)s->value;
  return 0;
}
