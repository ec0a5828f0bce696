/* SPDX-License-Identifier: MIT */
/*
 * green_iwait (gevent.iwait, asyncio.as_completed) and green_wait_any: greenlets and futures
 * reported in the order they finish.
 *
 * Each item is a watch on its greenlet's end or its future's completion. When told, the item
 * moves to the iterator's `finished` list; its watch link is free by then. The greenlet parked
 * in green_iwait_next, if any, wakes. Items that had already finished when the iterator was
 * made come first, in argument order.
 */
#include <stdlib.h>

#include "future.h"
#include "wait.h"

#define IWAIT_MAGIC 0x69776169u /* "iwai" */

typedef struct item {
  green__watch_t watch;     /* in the watched object's list, then in it->finished */
  green_iwait_t *it;
  green_future_t *future;   /* the future it watches; NULL for a greenlet */
  size_t index;
} item_t;

struct green_iwait {
  uint32_t magic;
  struct green__hub *hub;
  size_t n, reported;
  green__list_t finished;   /* items finished and not reported yet, in finishing order */
  green_t *waiter;          /* the greenlet parked in green_iwait_next */
  item_t items[];
};

static void item_finished(struct green__hub *h, green__watch_t *w) {
  item_t *item = green__container_of(w, item_t, watch);
  green_iwait_t *it = item->it;
  green__list_push_back(&it->finished, &w->link);
  if (it->waiter) green__wake(h, it->waiter, 0);
}

static int check_items(struct green__hub *h, green_t **gs, size_t ng, green_future_t **fs,
                       size_t nf) {
  size_t i;
  int r;
  if ((ng && !gs) || (nf && !fs)) return -EINVAL;
  for (i = 0; i < ng; i++) {
    green_t *g = green__greenlet_find(h, gs[i], &r);
    if (!g) return r;
    if (g == h->main || g == &h->hub) return -EINVAL; /* they never end */
  }
  for (i = 0; i < nf; i++)
    if ((r = green__future_check(h, fs[i]))) return r;
  return 0;
}

green_iwait_t *green_iwait_new(green_t **gs, size_t ng, green_future_t **fs, size_t nf) {
  struct green__hub *h = green__hub_get();
  green_iwait_t *it;
  size_t i;
  int r;
  if (!h) return NULL;
  if ((r = check_items(h, gs, ng, fs, nf))) {
    errno = -r;
    return NULL;
  }
  if (ng + nf < ng || !(it = malloc(sizeof *it + (ng + nf) * sizeof it->items[0]))) {
    errno = ENOMEM;
    return NULL;
  }
  it->magic = IWAIT_MAGIC;
  it->hub = h;
  it->n = ng + nf;
  it->reported = 0;
  it->waiter = NULL;
  green__list_init(&it->finished);
  for (i = 0; i < it->n; i++) {
    item_t *item = &it->items[i];
    item->watch.fn = item_finished;
    item->it = it;
    item->future = i < ng ? NULL : fs[i - ng];
    item->index = i;
    green_t *g = i < ng ? green__greenlet_find(h, gs[i], &r) : NULL; /* found above */
    if (g ? g->state == GREEN_DEAD : green__future_watch(h, item->future, &item->watch))
      green__list_push_back(&it->finished, &item->watch.link);
    else if (g)
      green__greenlet_watch(g, &item->watch);
  }
  return it;
}

static int check(struct green__hub *h, green_iwait_t *it) {
  if (!it) return -EINVAL;
  if (it->magic != IWAIT_MAGIC) return -ESRCH;
  return it->hub == h ? 0 : -EPERM;
}

int green_iwait_next(green_iwait_t *it, size_t *index, double timeout) {
  struct green__hub *h = green__hub_get();
  green__list_t *n;
  double at;
  int r;
  if (!h) return -1;
  if ((r = check(h, it)) || (r = green__timeout_to_at(timeout, &at))) return green__fail(r);
  if (!index) return green__fail(-EINVAL);
  if (it->waiter) return green__fail(-EBUSY);
  if (it->reported == it->n) return 0;
  if (green__list_empty(&it->finished)) {
    it->waiter = h->current;
    r = green__park(h, GREEN_WAIT_ITERATE, it, at, 0); /* woken with 0 only by item_finished */
    it->waiter = NULL;
    if (r) return green__fail(r == GREEN__TIMER ? -ETIMEDOUT : r);
  }
  n = green__list_pop_front(&it->finished);
  *index = green__container_of(n, item_t, watch.link)->index;
  it->reported++;
  return 1;
}

int green_iwait_free(green_iwait_t *it) {
  struct green__hub *h = green__hub_get();
  size_t i;
  int r;
  if (!h) return -1;
  if ((r = check(h, it))) return green__fail(r);
  if (it->waiter) return green__fail(-EBUSY);
  for (i = 0; i < it->n; i++) {
    item_t *item = &it->items[i];
    if (item->future) green__future_unwatch(h, item->future, &item->watch); /* f's lock */
    else green__list_remove(&item->watch.link);
  }
  it->magic = 0;
  free(it);
  return 0;
}

ssize_t green_wait_any(green_t **gs, size_t n, double timeout) {
  green_iwait_t *it;
  size_t index;
  int r, err;
  if (!gs || !n) {
    errno = EINVAL;
    return -1;
  }
  if (!(it = green_iwait_new(gs, n, NULL, 0))) return -1;
  r = green_iwait_next(it, &index, timeout);
  err = errno;
  green_iwait_free(it);
  if (r != 1) {
    errno = err;
    return -1;
  }
  return (ssize_t)index;
}
