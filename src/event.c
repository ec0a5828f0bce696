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

int green_event_destroy(green_event_t *e) {
  if (!e) return green__fail(-EINVAL);
  if (!green__waitq_empty(&e->waiters)) return green__fail(-EBUSY);
  *e = (green_event_t)GREEN_EVENT_INITIALIZER;
  return 0;
}

int green_event_set(green_event_t *e) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if (!e) return green__fail(-EINVAL);
  if ((r = green__waitq_foreign(&e->waiters, h))) return green__fail(r);
  e->is_set = 1;
  green__waitq_wake_all(h, &e->waiters);
  return 0;
}

int green_event_clear(green_event_t *e) {
  if (!e) return green__fail(-EINVAL);
  e->is_set = 0;
  return 0;
}

int green_event_is_set(const green_event_t *e) {
  if (!e) return green__fail(-EINVAL);
  return e->is_set;
}

int green_event_wait(green_event_t *e, double timeout) {
  struct green__hub *h = green__hub_get();
  green__until_t u = green__until_timeout(timeout);
  int r;
  if (!h) return -1;
  if (!e) return green__fail(-EINVAL);
  if ((r = green__until_check(u))) return green__fail(r);
  if (e->is_set) return 0;
  if ((r = green__waitq_park(h, GREEN_WAIT_EVENT, e, &e->waiters, green__until_at(u)))) return green__fail(r);
  return 0;
}
