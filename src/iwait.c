/* SPDX-License-Identifier: MIT */
/*
 * green_iwait (gevent.iwait, asyncio.as_completed) and green_wait_any: greenlets and futures
 * reported in the order they finish.
 *
 * Each item is a watch on its greenlet's end or its future's completion. When told, the item
 * joins the iterator's `finished` list (by done_link: the watch link stays the watched side's,
 * which may be another hub's, until the iterator is freed). The greenlet parked
 * in green_iwait_next, if any, wakes. Items that had already finished when the iterator was
 * made come first, in argument order.
 *
 * Across hubs: a greenlet of another hub is watched on its hub (green__hubs_watch, a request
 * the caller parks for); a future is told on the hub that completes it. Told on another hub,
 * an item goes home as a message (its msg) and counts in `pending` until it arrives. Free
 * unwatches every item first (inside the future; by a request on a greenlet's hub). So no
 * item is told after it. The memory goes once the last pending message has arrived.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "future.h"
#include "hubs.h"
#include "threadsafe.h"
#include "wait.h"

#define IWAIT_MAGIC 0x69776169u /* "iwai" */

typedef struct item {
  green__watch_t watch;     /* in the watched object's list until told */
  green__list_t done_link;  /* in it->finished once told */
  green__remote_t msg;      /* home to the iterator's hub, when told on another hub */
  green_iwait_t *it;
  green_future_t *future;   /* the future it watches; NULL for a greenlet */
  green_t *remote;          /* the handle of another hub's greenlet it watches there */
  size_t index;
} item_t;

struct green_iwait {
  uint32_t magic;
  struct green__hub *hub;
  unsigned hub_number;
  size_t n, reported;
  green__list_t finished;   /* items finished and not reported yet, in finishing order */
  green_t *waiter;          /* the greenlet parked in green_iwait_next */
  atomic_size_t pending;    /* items told on another hub whose message has not arrived */
  int freed;                /* green_iwait_free has run: the last message frees it */
  item_t items[];
};

static void arrived(struct green__hub *h, item_t *item) {
  green_iwait_t *it = item->it;
  green__list_push_back(&it->finished, &item->done_link);
  if (it->waiter) green__wake(h, it->waiter, 0);
}

/* On the iterator's hub: an item told elsewhere. */
static void on_item_msg(green__remote_t *r) {
  item_t *item = green__container_of(r, item_t, msg);
  green_iwait_t *it = item->it;
  size_t left = atomic_fetch_sub_explicit(&it->pending, 1, memory_order_acq_rel) - 1;
  if (!it->freed) arrived(green__hub_tls, item);
  else if (!left) free(it);
}

static void drop_item_msg(green__remote_t *r) { (void)r; /* the iterator's hub has gone */ }

/* The watch's fn, on the hub that ended the greenlet or completed the future. */
static void item_finished(struct green__hub *h, green__watch_t *w) {
  item_t *item = green__container_of(w, item_t, watch);
  green_iwait_t *it = item->it;
  green_hub_t *hb;
  if (h == it->hub) {
    arrived(h, item);
    return;
  }
  atomic_fetch_add_explicit(&it->pending, 1, memory_order_relaxed);
  item->msg.run = on_item_msg;
  item->msg.drop = drop_item_msg;
  if ((hb = green__hub_ref_number(it->hub_number))) {
    if (green__hub_post(hb, &item->msg) < 0) drop_item_msg(&item->msg);
    green__hub_unref(hb);
  }
}

static int check_items(struct green__hub *h, green_t **gs, size_t ng, green_future_t **fs,
                       size_t nf) {
  size_t i;
  int r;
  if ((ng && !gs) || (nf && !fs)) return -EINVAL;
  for (i = 0; i < ng; i++) {
    green_t *g = green__greenlet_find(h, gs[i], &r);
    if (!g && (r != -ESRCH || !gs[i])) return r; /* ESRCH: maybe another hub's */
    if (g == h->main || g == &h->hub) return -EINVAL; /* they never end */
  }
  for (i = 0; i < nf; i++)
    if ((r = green__future_check(fs[i]))) return r;
  return 0;
}

/* Stop watching items [0, n). 0, or -EPERM from a callback when one is on another hub. */
static int unwatch(struct green__hub *h, green_iwait_t *it, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (it->items[i].remote && h->current == &h->hub) return -EPERM; /* it cannot park */
  for (i = 0; i < n; i++) {
    item_t *item = &it->items[i];
    if (item->future) green__future_unwatch(h, item->future, &item->watch); /* f's lock */
    else if (item->remote && green__hubs_unwatch(h, item->remote, &item->watch))
      atomic_fetch_add(&it->pending, 1); /* still watched (no memory for the request): keep it */
    else green__list_remove(&item->watch.link);
  }
  return 0;
}

/* Free it once the messages on their way have arrived (their item memory is it's). */
static void release(green_iwait_t *it) {
  it->magic = 0;
  it->freed = 1;
  if (!atomic_load_explicit(&it->pending, memory_order_acquire)) free(it);
}

/* Watch item i; h is the caller's hub. 0, or -errno. */
static int watch_item(struct green__hub *h, green_iwait_t *it, size_t i, green_t *handle) {
  item_t *item = &it->items[i];
  green_t *g = NULL;
  int r = 0;
  item->watch.fn = item_finished;
  green__list_init(&item->watch.link);
  item->it = it;
  item->index = i;
  item->remote = NULL;
  if (!item->future && !(g = green__greenlet_find(h, handle, &r))) { /* another hub's */
    if ((r = green__hubs_watch(h, handle, &item->watch)) < 0) return r;
    item->remote = handle;
  }
  if (item->future) r = green__future_watch(h, item->future, &item->watch);
  else if (g && !(r = g->state == GREEN_DEAD)) green__greenlet_watch(g, &item->watch);
  if (r) green__list_push_back(&it->finished, &item->done_link);
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
  it->hub_number = h->number;
  it->n = ng + nf;
  it->reported = 0;
  it->waiter = NULL;
  it->freed = 0;
  atomic_init(&it->pending, 0);
  green__list_init(&it->finished);
  for (i = 0; i < it->n; i++) {
    it->items[i].future = i < ng ? NULL : fs[i - ng];
    if ((r = watch_item(h, it, i, i < ng ? gs[i] : NULL))) {
      unwatch(h, it, i);
      release(it);
      errno = -r;
      return NULL;
    }
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
    r = green__park(h, GREEN_WAIT_ITERATE, it, at, 0); /* woken with 0 only by arrived */
    it->waiter = NULL;
    if (r) return green__fail(r == GREEN__TIMER ? -ETIMEDOUT : r);
  }
  n = green__list_pop_front(&it->finished);
  *index = green__container_of(n, item_t, done_link)->index;
  it->reported++;
  return 1;
}

int green_iwait_free(green_iwait_t *it) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = check(h, it))) return green__fail(r);
  if (it->waiter) return green__fail(-EBUSY);
  if ((r = unwatch(h, it, it->n))) return green__fail(r);
  release(it);
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
