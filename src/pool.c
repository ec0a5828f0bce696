/* SPDX-License-Identifier: MIT */
/*
 * Pools (gevent.pool.Pool): a group that runs at most `limit` greenlets at once. A spawn into a
 * full pool parks until a member ends.
 *
 * A freed slot is handed to the first parked spawner. It counts in the group's `reserved` until
 * it has spawned. So spawners get slots in the order they came. A spawn that did not wait
 * cannot take a slot from under one that did. Spawners of every hub share the bound. The
 * counts and the spawners' queue sit behind the group's home word. A spawner becomes a
 * member in the same step as it gives its reservation back.
 */
#include <stdlib.h>

#include "group.h"

struct green_pool {
  struct green_group group;
  size_t limit;
  green__list_t spawners;   /* greenlets parked in green_pool_spawn, FIFO (waitq) */
};

static green_pool_t *pool_of(struct green_group *grp) {
  return green__container_of(grp, green_pool_t, group);
}

/* The group's on_leave hook, inside the group: hand the freed slot to the first spawner. */
static void hand_slot(struct green_group *grp, green__taken_t *woken) {
  green_t *g = green__waitq_pop(&pool_of(grp)->spawners);
  if (!g) return;
  grp->reserved++;
  green__taken_add(woken, g);
}

/* 0 once the caller holds a slot (counted in reserved), or -errno. */
static int take_slot(struct green__hub *h, green_pool_t *p, double timeout) {
  struct green_group *grp = &p->group;
  double at;
  int r, how;
  if ((r = green__timeout_to_at(timeout, &at))) return r;
  how = green__home_enter(&grp->home, h);
  if (grp->size + grp->reserved < p->limit && green__waitq_empty(&p->spawners)) {
    grp->reserved++;
    green__home_leave(&grp->home, h, how);
    return 0;
  }
  /* handed 0 only by hand_slot */
  return green__waitq_park(h, GREEN_WAIT_GROUP, p, &p->spawners, at, &grp->home, how);
}

static int check(green_pool_t *p) { return p ? green__group_check(&p->group) : -EINVAL; }

green_pool_t *green_pool_new(size_t limit) {
  struct green__hub *h = green__hub_get();
  green_pool_t *p;
  if (!h) return NULL;
  if (!limit) {
    errno = EINVAL;
    return NULL;
  }
  if (!(p = malloc(sizeof *p))) {
    errno = ENOMEM;
    return NULL;
  }
  green__group_init(&p->group);
  p->group.on_leave = hand_slot;
  p->limit = limit;
  green__list_init(&p->spawners);
  return p;
}

int green_pool_free(green_pool_t *p) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = check(p))) return green__fail(r);
  if (!green__group_idle(h, &p->group, &p->spawners)) return green__fail(-EBUSY);
  p->group.magic = 0;
  free(p);
  return 0;
}

green_t *green_pool_spawn(green_pool_t *p, void *(*fn)(void *), void *arg, double timeout) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  int r;
  if (!h) return NULL;
  if (!(r = check(p)) && !fn) r = -EINVAL;
  if (r || (r = take_slot(h, p, timeout))) {
    errno = -r;
    return NULL;
  }
  if (!(g = green__greenlet_new(fn, arg, 0))) {
    r = errno;
    green__group_unreserve(h, &p->group); /* give the slot to the next one */
    errno = r;
    return NULL;
  }
  green__hub_push_ready(h, g);
  green__group_add(h, &p->group, g, 1);
  return g->handle;
}

int green_pool_join(green_pool_t *p, double timeout) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = check(p)) || (r = green__group_join(h, &p->group, timeout))) return green__fail(r);
  return 0;
}

int green_pool_kill(green_pool_t *p) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = check(p)) || (r = green__group_kill(h, &p->group))) return green__fail(r);
  return 0;
}

ssize_t green_pool_size(green_pool_t *p) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = check(p))) return green__fail(r);
  return (ssize_t)green__group_size(h, &p->group);
}
