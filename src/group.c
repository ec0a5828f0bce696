/* SPDX-License-Identifier: MIT */
/*
 * Groups (gevent.pool.Group): track greenlets, join them all, kill them all.
 *
 * Members are detached: nobody joins them one by one. The greenlet's end watches (greenlet.c)
 * tell the group when each one ends. So the group counts live members without keeping dead
 * handles around.
 *
 * Across hubs: a member's record belongs to its own hub. Its group_link, and the group's
 * counts and queues, are touched only inside the group's home (share.h). Its end watch runs on
 * its hub, leaves the group there and hands the woken joiners (green__hand: a message to a
 * joiner of another hub). A kill takes the members' handles inside the group, then kills them
 * outside it: a member of another hub by a message.
 */
#include "group.h"

#include <stdlib.h>

#include "hubs.h"

#define GROUP_MAGIC 0x67727570u /* "grup" */

void green__group_init(struct green_group *grp) {
  grp->magic = GROUP_MAGIC;
  grp->home = 0;
  green__list_init(&grp->members);
  green__list_init(&grp->joiners);
  grp->size = grp->reserved = 0;
  grp->on_leave = NULL;
}

int green__group_check(struct green_group *grp) {
  if (!grp) return -EINVAL;
  return grp->magic == GROUP_MAGIC ? 0 : -ESRCH;
}

void green__group_left(struct green_group *grp, green__taken_t *woken) {
  if (grp->on_leave) grp->on_leave(grp, woken);
  if (!grp->size && !grp->reserved) green__waitq_take_all(&grp->joiners, woken);
}

/* A member's end watch, on its hub: it leaves the group (its handle is released right after). */
static void member_ended(struct green__hub *h, green__watch_t *w) {
  green_t *g = green__container_of(w, green_t, group_watch);
  struct green_group *grp = g->group;
  green__taken_t woken = GREEN__TAKEN_INIT(woken);
  int how = green__home_enter(&grp->home, h);
  green__list_remove(&g->group_link);
  grp->size--;
  green__group_left(grp, &woken);
  green__home_leave(&grp->home, h, how); /* grp may be freed from here on */
  g->group = NULL;
  green__waitq_hand_all(h, &woken);
}

void green__group_unreserve(struct green__hub *h, struct green_group *grp) {
  green__taken_t woken = GREEN__TAKEN_INIT(woken);
  int how = green__home_enter(&grp->home, h);
  grp->reserved--;
  green__group_left(grp, &woken);
  green__home_leave(&grp->home, h, how);
  green__waitq_hand_all(h, &woken);
}

void green__group_add(struct green__hub *h, struct green_group *grp, green_t *g, int reserved) {
  int how;
  if (g->state == GREEN_DEAD) {
    green__greenlet_release(h, g);
    if (reserved) green__group_unreserve(h, grp);
    return;
  }
  g->flags |= GREEN__DETACHED;
  g->group = grp;
  g->group_watch.fn = member_ended;
  green__greenlet_watch(g, &g->group_watch);
  how = green__home_enter(&grp->home, h);
  green__list_push_back(&grp->members, &g->group_link);
  grp->size++;
  grp->reserved -= reserved != 0;
  green__home_leave(&grp->home, h, how);
}

int green__group_add_handle(struct green__hub *h, struct green_group *grp, green_t *handle) {
  int err;
  green_t *g = green__greenlet_find(h, handle, &err);
  if (!g) return err;
  if (!green__greenlet_joinable(h, g)) return -EINVAL;
  green__group_add(h, grp, g, 0);
  return 0;
}

int green__group_join(struct green__hub *h, struct green_group *grp, double timeout) {
  double at;
  int r, how;
  if ((r = green__timeout_to_at(timeout, &at))) return r;
  if (h->current->group == grp) return -EDEADLK; /* it would wait for itself */
  how = green__home_enter(&grp->home, h);
  if (!grp->size && !grp->reserved) {
    green__home_leave(&grp->home, h, how);
    return 0;
  }
  /* handed 0 only once it is empty */
  return green__waitq_park(h, GREEN_WAIT_GROUP, grp, &grp->joiners, at, &grp->home, how);
}

/* The members' handles, copied inside grp into *hs (grown as needed): how many, or -ENOMEM. */
static ssize_t member_handles(struct green__hub *h, struct green_group *grp, green_t ***hs) {
  size_t cap = 0, n;
  for (;;) {
    green__list_t *l;
    green_t **more;
    int how = green__home_enter(&grp->home, h);
    if ((n = grp->size) <= cap) {
      n = 0;
      for (l = grp->members.next; l != &grp->members; l = l->next)
        (*hs)[n++] = green__container_of(l, green_t, group_link)->handle;
    }
    green__home_leave(&grp->home, h, how);
    if (n <= cap) return (ssize_t)n;
    if (!(more = realloc(*hs, n * sizeof *more))) return -ENOMEM;
    *hs = more;
    cap = n;
  }
}

int green__group_kill(struct green__hub *h, struct green_group *grp) {
  green_t **hs = NULL;
  ssize_t n = member_handles(h, grp, &hs), i;
  int saved = errno;
  /* A member that ended meanwhile has been released: its handle misses (ESRCH). */
  for (i = 0; i < n; i++) green_kill(hs[i]);
  free(hs);
  errno = saved;
  return n < 0 ? (int)n : 0;
}

size_t green__group_size(struct green__hub *h, struct green_group *grp) {
  int how = green__home_enter(&grp->home, h);
  size_t n = grp->size;
  green__home_leave(&grp->home, h, how);
  return n;
}

int green__group_idle(struct green__hub *h, struct green_group *grp, const green__list_t *extra) {
  int how = green__home_enter(&grp->home, h), idle;
  idle = !grp->size && !grp->reserved && green__waitq_empty(&grp->joiners) &&
         (!extra || green__waitq_empty(extra));
  green__home_leave(&grp->home, h, how);
  return idle;
}

/* ---- the public group -------------------------------------------------------------------- */

green_group_t *green_group_new(void) {
  struct green__hub *h = green__hub_get();
  green_group_t *grp;
  if (!h) return NULL;
  if (!(grp = malloc(sizeof *grp))) {
    errno = ENOMEM;
    return NULL;
  }
  green__group_init(grp);
  return grp;
}

int green_group_free(green_group_t *grp) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = green__group_check(grp))) return green__fail(r);
  if (!green__group_idle(h, grp, NULL)) return green__fail(-EBUSY);
  grp->magic = 0;
  free(grp);
  return 0;
}

int green_group_add(green_group_t *grp, green_t *handle) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = green__group_check(grp))) return green__fail(r);
  if ((r = green__group_add_handle(h, grp, handle)) == -ESRCH)
    r = green__hubs_group_add(h, grp, handle); /* a greenlet of another hub */
  return r ? green__fail(r) : 0;
}

green_t *green_group_spawn(green_group_t *grp, void *(*fn)(void *), void *arg) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  int r;
  if (!h) return NULL;
  if ((r = green__group_check(grp))) {
    errno = -r;
    return NULL;
  }
  if (!(g = green__greenlet_new(fn, arg, 0))) return NULL;
  green__hub_push_ready(h, g);
  green__group_add(h, grp, g, 0);
  return g->handle;
}

int green_group_join(green_group_t *grp, double timeout) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = green__group_check(grp)) || (r = green__group_join(h, grp, timeout)))
    return green__fail(r);
  return 0;
}

int green_group_kill(green_group_t *grp) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = green__group_check(grp)) || (r = green__group_kill(h, grp))) return green__fail(r);
  return 0;
}

ssize_t green_group_size(green_group_t *grp) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = green__group_check(grp))) return green__fail(r);
  return (ssize_t)green__group_size(h, grp);
}
