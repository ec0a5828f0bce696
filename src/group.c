/* SPDX-License-Identifier: MIT */
/*
 * Groups (gevent.pool.Group): track greenlets, join them all, kill them all.
 *
 * Members are detached: nobody joins them one by one. The greenlet's end watches (greenlet.c)
 * tell the group when each one ends. So the group counts live members without keeping dead
 * handles around.
 */
#include "group.h"

#include <stdlib.h>

#include "wait.h"

#define GROUP_MAGIC 0x67727570u /* "grup" */

void green__group_init(struct green__hub *h, struct green_group *grp) {
  grp->magic = GROUP_MAGIC;
  grp->hub = h;
  green__list_init(&grp->members);
  green__list_init(&grp->joiners);
  grp->size = grp->reserved = 0;
  grp->on_leave = NULL;
}

int green__group_check(struct green__hub *h, struct green_group *grp) {
  if (!grp) return -EINVAL;
  if (grp->magic != GROUP_MAGIC) return -ESRCH;
  return grp->hub == h ? 0 : -EPERM;
}

/* The record of a handle that can become a member (see green__group_add), or NULL with
 * *err set. */
static green_t *find_addable(struct green__hub *h, green_t *handle, int *err) {
  green_t *g = green__greenlet_find(h, handle, err);
  if (g && !green__greenlet_joinable(h, g)) {
    *err = -EINVAL;
    return NULL;
  }
  return g;
}

void green__group_left(struct green__hub *h, struct green_group *grp) {
  green__list_t *n;
  if (grp->on_leave) grp->on_leave(h, grp);
  if (grp->size || grp->reserved) return;
  while ((n = grp->joiners.next) != &grp->joiners) /* green__wake unlinks it */
    green__wake(h, green__container_of(n, green_t, wait_link), 0);
}

/* A member's end watch: it leaves the group (its handle is released right after). */
static void member_ended(struct green__hub *h, green__watch_t *w) {
  green_t *g = green__container_of(w, green_t, group_watch);
  struct green_group *grp = g->group;
  green__list_remove(&g->group_link);
  g->group = NULL;
  grp->size--;
  green__group_left(h, grp);
}

void green__group_add(struct green__hub *h, struct green_group *grp, green_t *g) {
  if (g->state == GREEN_DEAD) {
    green__greenlet_release(h, g);
    return;
  }
  g->flags |= GREEN__DETACHED;
  g->group = grp;
  g->group_watch.fn = member_ended;
  green__greenlet_watch(g, &g->group_watch);
  green__list_push_back(&grp->members, &g->group_link);
  grp->size++;
}

int green__group_join(struct green__hub *h, struct green_group *grp, double timeout) {
  double at;
  int r;
  if ((r = green__timeout_to_at(timeout, &at))) return r;
  if (h->current->group == grp) return -EDEADLK; /* it would wait for itself */
  if (!grp->size && !grp->reserved) return 0;
  green__list_push_back(&grp->joiners, &h->current->wait_link);
  r = green__park(h, GREEN_WAIT_GROUP, grp, at, 0);
  return r == GREEN__TIMER ? -ETIMEDOUT : r; /* woken with 0 only once it is empty */
}

void green__group_kill(struct green_group *grp) {
  green__list_t *n, *next;
  /* A member that never ran ends inside green_kill and leaves the list: step past it first. */
  for (n = grp->members.next; n != &grp->members; n = next) {
    next = n->next;
    green__greenlet_kill(grp->hub, green__container_of(n, green_t, group_link));
  }
}

int green__group_idle(struct green_group *grp) {
  return !grp->size && !grp->reserved && green__list_empty(&grp->joiners);
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
  green__group_init(h, grp);
  return grp;
}

int green_group_free(green_group_t *grp) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = green__group_check(h, grp))) return green__fail(r);
  if (!green__group_idle(grp)) return green__fail(-EBUSY);
  grp->magic = 0;
  free(grp);
  return 0;
}

int green_group_add(green_group_t *grp, green_t *handle) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  int r;
  if (!h) return -1;
  if ((r = green__group_check(h, grp)) || !(g = find_addable(h, handle, &r)))
    return green__fail(r);
  green__group_add(h, grp, g);
  return 0;
}

green_t *green_group_spawn(green_group_t *grp, void *(*fn)(void *), void *arg) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  int r;
  if (!h) return NULL;
  if ((r = green__group_check(h, grp))) {
    errno = -r;
    return NULL;
  }
  if (!(g = green__greenlet_new(fn, arg, 0))) return NULL;
  green__hub_push_ready(h, g);
  green__group_add(h, grp, g);
  return g->handle;
}

int green_group_join(green_group_t *grp, double timeout) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = green__group_check(h, grp)) || (r = green__group_join(h, grp, timeout)))
    return green__fail(r);
  return 0;
}

int green_group_kill(green_group_t *grp) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = green__group_check(h, grp))) return green__fail(r);
  green__group_kill(grp);
  return 0;
}

ssize_t green_group_size(green_group_t *grp) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = green__group_check(h, grp))) return green__fail(r);
  return (ssize_t)grp->size;
}
