/* SPDX-License-Identifier: MIT */
/*
 * Pools (gevent.pool.Pool): a group that runs at most `limit` greenlets at once. A spawn into a
 * full pool parks until a member ends.
 *
 * A freed slot is handed to the first parked spawner. It counts in the group's `reserved` until
 * it has spawned. So spawners get slots in the order they came. A spawn that did not wait
 * cannot take a slot from under one that did.
 */
#include <stdlib.h>

#include "group.h"
#include "wait.h"

struct green_pool {
  struct green_group group;
  size_t limit;
  green__list_t spawners;   /* greenlets parked in green_pool_spawn, FIFO (wait_link) */
};

static green_pool_t *pool_of(struct green_group *grp) {
  return green__container_of(grp, green_pool_t, group);
}

/* The group's on_leave hook: hand the freed slot to the first parked spawner. */
static void hand_slot(struct green__hub *h, struct green_group *grp) {
  green_pool_t *p = pool_of(grp);
  if (green__list_empty(&p->spawners)) return;
  grp->reserved++;
  green__wake(h, green__container_of(p->spawners.next, green_t, wait_link), 0);
}

/* 0 once the caller holds a slot (counted in reserved), or -errno. */
static int take_slot(struct green__hub *h, green_pool_t *p, double timeout) {
  struct green_group *grp = &p->group;
  double at;
  int r;
  if ((r = green__timeout_to_at(timeout, &at))) return r;
  if (grp->size + grp->reserved < p->limit && green__list_empty(&p->spawners)) {
    grp->reserved++;
    return 0;
  }
  green__list_push_back(&p->spawners, &h->current->wait_link);
  r = green__park(h, GREEN_WAIT_GROUP, p, at, 0); /* woken with 0 only by hand_slot */
  return r == GREEN__TIMER ? -ETIMEDOUT : r;
}

static int check(struct green__hub *h, green_pool_t *p) {
  return p ? green__group_check(h, &p->group) : -EINVAL;
}

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
  green__group_init(h, &p->group);
  p->group.on_leave = hand_slot;
  p->limit = limit;
  green__list_init(&p->spawners);
  return p;
}

int green_pool_free(green_pool_t *p) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = check(h, p))) return green__fail(r);
  if (!green__group_idle(&p->group) || !green__list_empty(&p->spawners))
    return green__fail(-EBUSY);
  p->group.magic = 0;
  free(p);
  return 0;
}

green_t *green_pool_spawn(green_pool_t *p, void *(*fn)(void *), void *arg, double timeout) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  int r;
  if (!h) return NULL;
  if (!(r = check(h, p)) && !fn) r = -EINVAL;
  if (r || (r = take_slot(h, p, timeout))) {
    errno = -r;
    return NULL;
  }
  p->group.reserved--;
  if (!(g = green__greenlet_new(fn, arg, 0))) {
    r = errno;
    green__group_left(h, &p->group); /* give the slot to the next one */
    errno = r;
    return NULL;
  }
  green__hub_push_ready(h, g);
  green__group_add(h, &p->group, g);
  return g->handle;
}

int green_pool_join(green_pool_t *p, double timeout) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = check(h, p)) || (r = green__group_join(h, &p->group, timeout))) return green__fail(r);
  return 0;
}

int green_pool_kill(green_pool_t *p) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = check(h, p))) return green__fail(r);
  green__group_kill(&p->group);
  return 0;
}

ssize_t green_pool_size(green_pool_t *p) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = check(h, p))) return green__fail(r);
  return (ssize_t)p->group.size;
}
