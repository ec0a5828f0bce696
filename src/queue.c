/* SPDX-License-Identifier: MIT */
/*
 * Queues: a FIFO of pointers in a ring buffer, with parked getters and putters served in
 * arrival order (gevent.queue.JoinableQueue).
 *
 * No barging. A put that finds getters parked hands its item to the first of them. A get that
 * frees a slot moves the first parked putter's item into it. Both happen before the woken
 * greenlet runs. So a parked greenlet never wakes to find that a newcomer took its item or
 * slot, and it never has to retry. Getters park only while the buffer is empty, putters only
 * while it is full.
 *
 * A waiter's record lives on its own stack. A waiter woken by its timer or a kill stays linked
 * until it runs again. Wakers skip such records: their greenlet is no longer BLOCKED. So
 * nothing is ever handed to a greenlet that has given up.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "wait.h"

#define INITIAL_SLOTS 16

struct green_queue {
  struct green__hub *hub;  /* the thread it belongs to */
  void **buf;              /* ring of cap slots, len of them used from head on */
  size_t cap, head, len;
  size_t max;              /* capacity; SIZE_MAX when unbounded */
  size_t unfinished;       /* items put and not yet marked done */
  int closed;
  green__list_t getters, putters, joiners; /* of struct waiter, oldest first */
};

struct waiter {
  green__list_t link;
  green_t *g;
  void *item; /* a putter's item, or the item handed to a getter */
};

green_queue_t *green_queue_new(size_t capacity) {
  struct green__hub *h = green__hub_get();
  green_queue_t *q;
  if (!h) return NULL;
  if (!(q = calloc(1, sizeof *q))) {
    errno = ENOMEM;
    return NULL;
  }
  q->hub = h;
  q->max = capacity ? capacity : SIZE_MAX;
  green__list_init(&q->getters);
  green__list_init(&q->putters);
  green__list_init(&q->joiners);
  return q;
}

int green_queue_free(green_queue_t *q) {
  if (!q) return green__fail(-EINVAL);
  /* records of waiters that timed out but have not run yet count: they unlink themselves */
  if (!green__list_empty(&q->getters) || !green__list_empty(&q->putters) ||
      !green__list_empty(&q->joiners))
    return green__fail(-EBUSY);
  free(q->buf);
  free(q);
  return 0;
}

/* The calling thread's hub when q belongs to it: -EINVAL, -EPERM otherwise. */
static int begin(const green_queue_t *q, struct green__hub **hp) {
  struct green__hub *h = green__hub_get();
  if (!h) return -ENOMEM; /* the only way a hub cannot be had */
  if (!q) return -EINVAL;
  if (q->hub != h) return -EPERM;
  *hp = h;
  return 0;
}

/* begin, and what every blocking call checks first: the timeout, a kill, the deadline. */
static int begin_blocking(const green_queue_t *q, struct green__hub **hp, double timeout,
                          double *at) {
  int r;
  if ((r = begin(q, hp))) return r;
  if (timeout < 0) *at = INFINITY; /* the common case, without a call (NaN goes on: EINVAL) */
  else if ((r = green__timeout_to_at(timeout, at))) return r;
  return green__may_block((*hp)->current);
}

/* Unlink and return the oldest waiter that is still parked. Records of waiters already woken
 * by a timer or a kill are dropped on the way. */
static struct waiter *pop_waiter(green__list_t *list) {
  green__list_t *n;
  while ((n = green__list_pop_front(list))) {
    struct waiter *w = green__container_of(n, struct waiter, link);
    if (w->g->state == GREEN_BLOCKED) return w;
  }
  return NULL;
}

/* Park the caller on `list` (one of q's) until a waker hands it over (0) or it gives up (-errno). */
static int park(struct green__hub *h, green_queue_t *q, green__list_t *list, struct waiter *w,
                double at) {
  int r;
  w->g = h->current;
  green__list_push_back(list, &w->link);
  r = green__park(h, GREEN_WAIT_QUEUE, q, at, 0);
  green__list_remove(&w->link);
  return r == GREEN__TIMER ? -ETIMEDOUT : r;
}

static int grow(green_queue_t *q) {
  size_t cap = q->cap ? (q->cap <= q->max / 2 ? q->cap * 2 : q->max) : INITIAL_SLOTS;
  size_t i, first;
  void **buf;
  if (cap > q->max) cap = q->max;
  if (cap > SIZE_MAX / sizeof *buf || !(buf = malloc(cap * sizeof *buf))) return -ENOMEM;
  first = q->cap - q->head < q->len ? q->cap - q->head : q->len; /* the part before the wrap */
  for (i = 0; i < first; i++) buf[i] = q->buf[q->head + i];
  for (; i < q->len; i++) buf[i] = q->buf[i - first];
  free(q->buf);
  q->buf = buf;
  q->cap = cap;
  q->head = 0;
  return 0;
}

/* Append to the buffer, which has room (len < max). */
static inline int push(green_queue_t *q, void *item) {
  size_t tail;
  int r;
  if (q->len == q->cap && (r = grow(q))) return r;
  tail = q->head + q->len;
  q->buf[tail < q->cap ? tail : tail - q->cap] = item;
  q->len++;
  q->unfinished++;
  return 0;
}

static void *shift(green_queue_t *q) {
  void *item = q->buf[q->head];
  if (++q->head == q->cap) q->head = 0;
  q->len--;
  return item;
}

/* A put that does not park: 0, -EPIPE, -EAGAIN (full) or -ENOMEM. */
static int put_now(struct green__hub *h, green_queue_t *q, void *item) {
  struct waiter *w;
  if (q->closed) return -EPIPE;
  if ((w = pop_waiter(&q->getters))) {
    w->item = item;
    q->unfinished++;
    green__wake(h, w->g, 0);
    return 0;
  }
  return q->len < q->max ? push(q, item) : -EAGAIN;
}

/* A get that does not park: 0, -EPIPE (closed and drained) or -EAGAIN (empty). */
static int get_now(struct green__hub *h, green_queue_t *q, void **item) {
  struct waiter *w;
  if (!q->len) return q->closed ? -EPIPE : -EAGAIN;
  *item = shift(q);
  if ((w = pop_waiter(&q->putters))) { /* a slot is free: the first putter's item takes it */
    push(q, w->item); /* cannot fail: the slot exists */
    green__wake(h, w->g, 0);
  }
  return 0;
}

int green_queue_try_put(green_queue_t *q, void *item) {
  struct green__hub *h;
  int r;
  if ((r = begin(q, &h)) || (r = put_now(h, q, item))) return green__fail(r);
  return 0;
}

int green_queue_try_get(green_queue_t *q, void **item) {
  struct green__hub *h;
  void *it;
  int r;
  if ((r = begin(q, &h)) || (r = get_now(h, q, &it))) return green__fail(r);
  if (item) *item = it;
  return 0;
}

int green_queue_put(green_queue_t *q, void *item, double timeout) {
  struct green__hub *h;
  struct waiter w;
  double at;
  int r;
  if ((r = begin_blocking(q, &h, timeout, &at))) return green__fail(r);
  if ((r = put_now(h, q, item)) != -EAGAIN) return r ? green__fail(r) : 0;
  w.item = item;
  return (r = park(h, q, &q->putters, &w, at)) ? green__fail(r) : 0; /* 0: a getter moved it */
}

int green_queue_get(green_queue_t *q, void **item, double timeout) {
  struct green__hub *h;
  struct waiter w;
  double at;
  int r;
  if ((r = begin_blocking(q, &h, timeout, &at))) return green__fail(r);
  if ((r = get_now(h, q, &w.item)) == -EAGAIN) r = park(h, q, &q->getters, &w, at);
  if (r) return green__fail(r);
  if (item) *item = w.item;
  return 0;
}

static void wake_all(struct green__hub *h, green__list_t *list, int reason) {
  struct waiter *w;
  while ((w = pop_waiter(list))) green__wake(h, w->g, reason);
}

int green_queue_close(green_queue_t *q) {
  struct green__hub *h;
  int r;
  if ((r = begin(q, &h))) return green__fail(r);
  if (q->closed) return green__fail(-EPIPE);
  q->closed = 1;
  wake_all(h, &q->putters, -EPIPE);
  wake_all(h, &q->getters, -EPIPE);
  return 0;
}

ssize_t green_queue_len(const green_queue_t *q) {
  struct green__hub *h;
  int r;
  if ((r = begin(q, &h))) return green__fail(r);
  return (ssize_t)q->len;
}

int green_queue_task_done(green_queue_t *q) {
  struct green__hub *h;
  int r;
  if ((r = begin(q, &h))) return green__fail(r);
  if (!q->unfinished) return green__fail(-EINVAL);
  if (--q->unfinished == 0) wake_all(h, &q->joiners, 0);
  return 0;
}

int green_queue_join(green_queue_t *q, double timeout) {
  struct green__hub *h;
  struct waiter w;
  double at;
  int r;
  if ((r = begin_blocking(q, &h, timeout, &at))) return green__fail(r);
  if (!q->unfinished) return 0;
  return (r = park(h, q, &q->joiners, &w, at)) ? green__fail(r) : 0;
}
