/* SPDX-License-Identifier: MIT */
/*
 * Queues: a FIFO of pointers in a ring buffer, with parked getters and putters served in
 * arrival order (gevent.queue.JoinableQueue). Greenlets of any hub may use one (share.h).
 *
 * No barging. A put that finds getters parked hands its item to the first of them. A get that
 * frees a slot moves the first parked putter's item into it. Both happen before the woken
 * greenlet runs. So a parked greenlet never wakes to find that a newcomer took its item or
 * slot, and it never has to retry. Getters park only while the buffer is empty, putters only
 * while it is full.
 *
 * A waiter's record lives on its own stack. While nobody has served it, its greenlet's
 * wait_link sits in the record's `armed` list, and its wait_home is the queue's home word.
 * A waker serves it by taking wait_link out, under the queue's lock. Its own timeout or kill
 * takes it out the same way (green__wake). Whoever comes first decides. A record whose
 * greenlet gave up stays in the queue's list until it runs again: wakers drop it.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "share.h"
#include "wait.h"

#define INITIAL_SLOTS 16

struct green_queue {
  uint32_t home;           /* the hubs that use it (share.h); its lock once shared */
  void **buf;              /* ring of cap slots, len of them used from head on */
  size_t cap, head, len;
  size_t max;              /* capacity; SIZE_MAX when unbounded */
  size_t unfinished;       /* items put and not yet marked done */
  int closed;
  green__list_t getters, putters, joiners; /* of struct waiter, oldest first */
};

struct waiter {
  green__list_t link;  /* in getters, putters or joiners */
  green__list_t armed; /* holds g's wait_link until g is served or gives up */
  green_t *g;
  void *item;          /* a putter's item, or the item handed to a getter */
};

green_queue_t *green_queue_new(size_t capacity) {
  green_queue_t *q;
  if (!green__hub_get()) return NULL;
  if (!(q = calloc(1, sizeof *q))) {
    errno = ENOMEM;
    return NULL;
  }
  q->max = capacity ? capacity : SIZE_MAX;
  green__list_init(&q->getters);
  green__list_init(&q->putters);
  green__list_init(&q->joiners);
  return q;
}

/* Checked inside q's home: a call on another hub is either before or after. */
int green_queue_free(green_queue_t *q) {
  int how, busy;
  if (!q) return green__fail(-EINVAL);
  if ((how = green__home_enter_destroy(&q->home)) < 0) return green__fail(how);
  /* records of waiters that timed out but have not run yet count: they unlink themselves */
  busy = !green__list_empty(&q->getters) || !green__list_empty(&q->putters) ||
         !green__list_empty(&q->joiners);
  green__home_leave_destroy(&q->home, how, 0);
  if (busy) return green__fail(-EBUSY);
  free(q->buf);
  free(q);
  return 0;
}

/* Enter q for the calling thread's hub (*hp): 0 and *how, or -ENOMEM, -EINVAL. */
static inline int begin(green_queue_t *q, struct green__hub **hp, int *how) {
  struct green__hub *h = green__hub_tls ? green__hub_tls : green__hub_get();
  if (!h) return -ENOMEM; /* the only way a hub cannot be had */
  if (!q) return -EINVAL;
  *how = green__home_enter(&q->home, h);
  *hp = h;
  return 0;
}

static inline void leave(green_queue_t *q, struct green__hub *h, int how) {
  green__home_leave(&q->home, h, how);
}

/* begin, after what every blocking call checks first: the timeout, a kill, the deadline. */
static inline int begin_blocking(green_queue_t *q, struct green__hub **hp, int *how,
                                 double timeout, double *at) {
  struct green__hub *h = green__hub_tls ? green__hub_tls : green__hub_get();
  int r;
  if (!h) return -ENOMEM;
  if (!q) return -EINVAL;
  if (timeout < 0) *at = INFINITY; /* the common case, without a call (NaN goes on: EINVAL) */
  else if ((r = green__timeout_to_at(timeout, at))) return r;
  if ((r = green__may_block(h->current))) return r;
  *how = green__home_enter(&q->home, h);
  *hp = h;
  return 0;
}

/* Unlink the oldest waiter of list that still waits and serve it (its wait_link out of
 * armed); NULL when there is none. Records of waiters that gave up are dropped. Inside q. */
static inline struct waiter *serve_first(green__list_t *list) {
  green__list_t *n;
  while ((n = green__list_pop_front(list))) {
    struct waiter *w = green__container_of(n, struct waiter, link);
    if (!green__list_empty(&w->armed)) {
      green__list_remove(&w->g->wait_link);
      return w;
    }
  }
  return NULL;
}

/* Queue the caller's record w on `list` (one of q's), leave q, and park until a waker hands
 * it over (0, or -EPIPE from close) or it gives up (-errno). */
static int park(struct green__hub *h, green_queue_t *q, green__list_t *list, struct waiter *w,
                double at, int how) {
  green_t *g = h->current;
  int r;
  w->g = g;
  green__waiter_arm(&w->armed, g, &q->home);
  green__list_push_back(list, &w->link);
  leave(q, h, how);
  r = green__park(h, GREEN_WAIT_QUEUE, q, at, 0);
  if (r == 0 || r == -EPIPE) return r; /* served: the waker took the record out */
  how = green__home_enter(&q->home, h);
  green__list_remove(&w->link);
  leave(q, h, how);
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

/* A put that does not park: 0, -EPIPE, -EAGAIN (full) or -ENOMEM. Inside q. *woken: a
 * getter that was handed the item, to wake once outside q. */
static int put_now(green_queue_t *q, void *item, green_t **woken) {
  struct waiter *w;
  if (q->closed) return -EPIPE;
  if ((w = serve_first(&q->getters))) {
    w->item = item;
    q->unfinished++;
    *woken = w->g;
    return 0;
  }
  return q->len < q->max ? push(q, item) : -EAGAIN;
}

/* A get that does not park: 0, -EPIPE (closed and drained) or -EAGAIN (empty). Inside q.
 * *woken: a putter whose item took the freed slot. */
static int get_now(green_queue_t *q, void **item, green_t **woken) {
  struct waiter *w;
  if (!q->len) return q->closed ? -EPIPE : -EAGAIN;
  *item = shift(q);
  if ((w = serve_first(&q->putters))) { /* a slot is free: the first putter's item takes it */
    push(q, w->item); /* cannot fail: the slot exists */
    *woken = w->g;
  }
  return 0;
}

/* Leave q, then wake the greenlet a put or get served, if any. */
static void leave_and_wake(green_queue_t *q, struct green__hub *h, int how, green_t *woken) {
  leave(q, h, how);
  if (woken) green__hand_inline(h, woken, 0);
}

int green_queue_try_put(green_queue_t *q, void *item) {
  struct green__hub *h;
  green_t *woken = NULL;
  int r, how;
  if ((r = begin(q, &h, &how))) return green__fail(r);
  r = put_now(q, item, &woken);
  leave_and_wake(q, h, how, woken);
  return r ? green__fail(r) : 0;
}

int green_queue_try_get(green_queue_t *q, void **item) {
  struct green__hub *h;
  green_t *woken = NULL;
  void *it;
  int r, how;
  if ((r = begin(q, &h, &how))) return green__fail(r);
  r = get_now(q, &it, &woken);
  leave_and_wake(q, h, how, woken);
  if (r) return green__fail(r);
  if (item) *item = it;
  return 0;
}

int green_queue_put(green_queue_t *q, void *item, double timeout) {
  struct green__hub *h;
  green_t *woken = NULL;
  struct waiter w;
  double at;
  int r, how;
  if ((r = begin_blocking(q, &h, &how, timeout, &at))) return green__fail(r);
  if ((r = put_now(q, item, &woken)) != -EAGAIN) {
    leave_and_wake(q, h, how, woken);
    return r ? green__fail(r) : 0;
  }
  w.item = item;
  return (r = park(h, q, &q->putters, &w, at, how)) ? green__fail(r) : 0; /* 0: a getter moved it */
}

int green_queue_get(green_queue_t *q, void **item, double timeout) {
  struct green__hub *h;
  green_t *woken = NULL;
  struct waiter w;
  double at;
  int r, how;
  if ((r = begin_blocking(q, &h, &how, timeout, &at))) return green__fail(r);
  if ((r = get_now(q, &w.item, &woken)) == -EAGAIN) r = park(h, q, &q->getters, &w, at, how);
  else leave_and_wake(q, h, how, woken);
  if (r) return green__fail(r);
  if (item) *item = w.item;
  return 0;
}

/* Serve every waiter of list: move its record to `served` (empty). Inside q. */
static void serve_all(green__list_t *list, green__list_t *served) {
  struct waiter *w;
  while ((w = serve_first(list))) green__list_push_back(served, &w->link);
}

/* Wake each waiter of `served` with reason. Outside q: a served waiter keeps its record (and
 * its stack) until it is woken, so read it first. */
static void wake_served(struct green__hub *h, green__list_t *served, int reason) {
  green__list_t *n;
  while ((n = green__list_pop_front(served)))
    green__hand(h, green__container_of(n, struct waiter, link)->g, reason);
}

int green_queue_close(green_queue_t *q) {
  struct green__hub *h;
  green__list_t served = {&served, &served};
  int r, how;
  if ((r = begin(q, &h, &how))) return green__fail(r);
  if (q->closed) {
    leave(q, h, how);
    return green__fail(-EPIPE);
  }
  q->closed = 1;
  serve_all(&q->putters, &served);
  serve_all(&q->getters, &served);
  leave(q, h, how);
  wake_served(h, &served, -EPIPE);
  return 0;
}

ssize_t green_queue_len(const green_queue_t *q) {
  struct green__hub *h;
  ssize_t len;
  int r, how;
  if ((r = begin((green_queue_t *)q, &h, &how))) return green__fail(r);
  len = (ssize_t)q->len;
  leave((green_queue_t *)q, h, how);
  return len;
}

int green_queue_task_done(green_queue_t *q) {
  struct green__hub *h;
  green__list_t served = {&served, &served};
  int r, how;
  if ((r = begin(q, &h, &how))) return green__fail(r);
  if (!q->unfinished) r = -EINVAL;
  else if (--q->unfinished == 0) serve_all(&q->joiners, &served);
  leave(q, h, how);
  wake_served(h, &served, 0);
  return r ? green__fail(r) : 0;
}

int green_queue_join(green_queue_t *q, double timeout) {
  struct green__hub *h;
  struct waiter w;
  double at;
  int r, how;
  if ((r = begin_blocking(q, &h, &how, timeout, &at))) return green__fail(r);
  if (!q->unfinished) {
    leave(q, h, how);
    return 0;
  }
  return (r = park(h, q, &q->joiners, &w, at, how)) ? green__fail(r) : 0;
}
