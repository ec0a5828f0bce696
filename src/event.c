/* SPDX-License-Identifier: MIT */
/*
 * Events: a flag and the greenlets waiting for it to be set.
 */
#include "sync.h"

int green_event_init(green_event_t *e) {
  if (!e) return green__fail(-EINVAL);
  *e = (green_event_t)GREEN_EVENT_INITIALIZER;
  return 0;
}

/* Checked and reset inside e's home: a set on another hub is either before or after. */
int green_event_destroy(green_event_t *e) {
  int how, busy;
  if (!e) return green__fail(-EINVAL);
  if ((how = green__home_enter_destroy(&e->home)) < 0) return green__fail(how);
  busy = !green__waitq_empty(&e->waiters);
  if (!busy) {
    e->waiters = (green__list_t){NULL, NULL};
    __atomic_store_n(&e->is_set, 0, __ATOMIC_RELAXED); /* clear and is_set take no lock */
  }
  green__home_leave_destroy(&e->home, how, !busy);
  return busy ? green__fail(-EBUSY) : 0;
}

int green_event_set(green_event_t *e) {
  struct green__hub *h = green__hub_get();
  green__taken_t woken = GREEN__TAKEN_INIT(woken);
  int how;
  if (!h) return -1;
  if (!e) return green__fail(-EINVAL);
  how = green__home_enter(&e->home, h);
  __atomic_store_n(&e->is_set, 1, __ATOMIC_RELEASE);
  green__waitq_take_all(&e->waiters, &woken);
  green__home_leave(&e->home, h, how);
  green__waitq_hand_all(h, &woken);
  return 0;
}

/* The flag is one word: clear and is_set need not take the object. */
int green_event_clear(green_event_t *e) {
  if (!e) return green__fail(-EINVAL);
  __atomic_store_n(&e->is_set, 0, __ATOMIC_RELAXED);
  return 0;
}

int green_event_is_set(const green_event_t *e) {
  if (!e) return green__fail(-EINVAL);
  return __atomic_load_n(&e->is_set, __ATOMIC_ACQUIRE);
}

int green_event_wait(green_event_t *e, double timeout) {
  struct green__hub *h = green__hub_get();
  green__until_t u = green__until_timeout(timeout);
  int r, how;
  if (!h) return -1;
  if (!e) return green__fail(-EINVAL);
  if ((r = green__until_check(u))) return green__fail(r);
  if (__atomic_load_n(&e->is_set, __ATOMIC_ACQUIRE)) return 0;
  how = green__home_enter(&e->home, h);
  if (__atomic_load_n(&e->is_set, __ATOMIC_RELAXED)) { /* clear writes it unentered */
    green__home_leave(&e->home, h, how);
    return 0;
  }
  r = green__waitq_park(h, GREEN_WAIT_EVENT, e, &e->waiters, green__until_at(u), &e->home, how);
  return r ? green__fail(r) : 0;
}
