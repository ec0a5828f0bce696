/* SPDX-License-Identifier: MIT */
#include "wait.h"

#include "hibernate.h"
#include "share.h"

#include <math.h>

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  green_t *g = green__container_of(w, green_t, timer);
  (void)loop, (void)revents;
  green__wake(g->hub, g, g->timer_is_deadline ? -ETIMEDOUT : GREEN__TIMER);
}

void green__wait_init(green_t *g) { ev_init(&g->timer, timer_cb); }

/* Arm g's timer for the earlier of `at` and its deadline. Returns 0, or the verdict at
 * once when that time has already passed. */
static int arm_timer(struct green__hub *h, green_t *g, double at) {
  double limit, now;
  g->timer_is_deadline = g->deadline < at;
  limit = g->timer_is_deadline ? g->deadline : at;
  if (limit == INFINITY) return 0;
  now = green_now();
  if (now >= limit) return g->timer_is_deadline ? -ETIMEDOUT : GREEN__TIMER;
  ev_now_update(h->loop); /* libev counts `after` from its loop time, stale while we ran */
  ev_timer_set(&g->timer, limit - now, 0.);
  ev_timer_start(h->loop, &g->timer);
  return 0;
}

/* Take g out of the queue it waits in. Returns 1, or 0 when a waker has already taken it out
 * to hand it the object: the news is on its way. A SHARED object's queue is read under its
 * lock. */
static int unlink_waiter(struct green__hub *h, green_t *g) {
  uint32_t *home = g->wait_home;
  int linked, how;
  if (!home) {
    green__list_remove(&g->wait_link);
    return 1;
  }
  how = green__home_enter(home, h);
  linked = !green__list_empty(&g->wait_link);
  green__list_remove(&g->wait_link);
  green__home_leave(home, h, how);
  if (linked) g->wait_home = NULL;
  return linked;
}

static void make_ready(struct green__hub *h, green_t *g, int reason) {
  if (g->flags & GREEN__LOOP_WAIT) {
    g->flags &= ~GREEN__LOOP_WAIT;
    h->nloop_waits--;
  }
  if (g->flags & GREEN__HOME_WAIT) {
    g->flags &= ~GREEN__HOME_WAIT;
    h->nhome_waits--;
  }
  g->wake = reason;
  g->state = GREEN_READY;
  h->nblocked--;
  green__hub_push_ready(h, g);
}

int green__park(struct green__hub *h, int kind, const void *on, double at, int loop_wait) {
  green_t *g = h->current;
  int r;
  if (green__unlikely(g == &h->hub)) r = -EPERM; /* a callback on the hub must not block */
  else r = (g->flags & GREEN__KILLED) ? -ECANCELED : arm_timer(h, g, at);
  if (r && !unlink_waiter(h, g)) r = 0; /* handed the object already: wait for the news */
  if (r) return r;
  if (loop_wait || ev_is_active(&g->timer)) {
    g->flags |= GREEN__LOOP_WAIT;
    h->nloop_waits++;
  }
  g->wait_kind = (uint8_t)kind;
  g->wait_on = on;
  g->wait_since = h->last_poll; /* no clock read: the dump says how long roughly */
  h->parks[kind]++;
  g->state = GREEN_BLOCKED;
  h->nblocked++;
  green__hibernate_parked(h, g);
  if (g->wait_home) {
    g->flags |= GREEN__HOME_WAIT;
    h->nhome_waits++;
  }
  green__hub_schedule(h);
  if (ev_is_active(&g->timer)) ev_timer_stop(h->loop, &g->timer);
  return g->wake;
}

void green__wake(struct green__hub *h, green_t *g, int reason) {
  if (g->state != GREEN_BLOCKED || !unlink_waiter(h, g)) return;
  make_ready(h, g, reason);
}

void green__wake_handed(struct green__hub *h, green_t *g, int reason) {
  if (g->state != GREEN_BLOCKED) return;
  g->wait_home = NULL;
  make_ready(h, g, reason);
}

void green__wait_abandon(struct green__hub *h, green_t *g) {
  if (g->state == GREEN_BLOCKED && g->wait_home) unlink_waiter(h, g);
}
