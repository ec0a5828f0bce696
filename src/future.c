/* SPDX-License-Identifier: MIT */
/*
 * Futures (gevent's AsyncResult, asyncio's Future). A future holds a value or an error, set
 * once. Any number of greenlets can wait for it.
 *
 * A waiter parks with a record on its own stack. The completer copies the outcome into it
 * before waking it. So a woken waiter never reads the future again. The future may be freed as
 * soon as nobody is parked on it.
 */
#include "future.h"

#include <stdlib.h>

#include "wait.h"

#define FUTURE_MAGIC 0x66757475u /* "futu" */

struct green_future {
  uint32_t magic;
  int done;
  int err;                  /* once done: 0, or the error it was set with */
  void *value;              /* once done without an error */
  struct green__hub *hub;
  green__list_t waiters;    /* waiter_t of parked greenlets, FIFO */
  green__list_t watches;    /* green__watch_t of iterators (iwait.c) */
  green__list_t callbacks;  /* done_cb_t to post once done */
};

typedef struct waiter {
  green__list_t link;       /* in f->waiters until woken or gone */
  green_t *g;
  void *value;
  int err;
} waiter_t;

/* A done callback: waits in f->callbacks, then runs as a soon call and frees itself. */
typedef struct done_cb {
  green__call_t call;       /* call.link is in f->callbacks until posted */
  void (*cb)(void *arg, void *value, int err);
  void *arg;
  void *value;
  int err;
} done_cb_t;

int green__future_check(struct green__hub *h, green_future_t *f) {
  if (!f) return -EINVAL;
  if (f->magic != FUTURE_MAGIC) return -ESRCH;
  return f->hub == h ? 0 : -EPERM;
}

int green__future_done(green_future_t *f) { return f->done; }

void green__future_watch(green_future_t *f, green__watch_t *w) {
  green__list_push_back(&f->watches, &w->link);
}

green_future_t *green_future_new(void) {
  struct green__hub *h = green__hub_get();
  green_future_t *f;
  if (!h) return NULL;
  if (!(f = calloc(1, sizeof *f))) {
    errno = ENOMEM;
    return NULL;
  }
  f->magic = FUTURE_MAGIC;
  f->hub = h;
  green__list_init(&f->waiters);
  green__list_init(&f->watches);
  green__list_init(&f->callbacks);
  return f;
}

int green_future_free(green_future_t *f) {
  struct green__hub *h = green__hub_get();
  green__list_t *n;
  int r;
  if (!h) return -1;
  if ((r = green__future_check(h, f))) return green__fail(r);
  if (!green__list_empty(&f->waiters) || !green__list_empty(&f->watches))
    return green__fail(-EBUSY);
  while ((n = green__list_pop_front(&f->callbacks))) /* it never completed: they never run */
    free(green__container_of(n, done_cb_t, call.link));
  f->magic = 0;
  free(f);
  return 0;
}

static void run_done_cb(void *arg) {
  done_cb_t *d = arg;
  d->cb(d->arg, d->value, d->err);
  free(d);
}

static void post_done_cb(struct green__hub *h, done_cb_t *d, void *value, int err) {
  d->value = value;
  d->err = err;
  d->call.fn = run_done_cb;
  d->call.arg = d;
  d->call.slot = GREEN__CALL_OWNED;
  green__call_post(h, &d->call);
}

/* Wake the waiters in the order they came, tell the watches, post the callbacks. */
static int complete(green_future_t *f, void *value, int err) {
  struct green__hub *h = green__hub_get();
  green__list_t *n;
  int r;
  if (!h) return -1;
  if ((r = green__future_check(h, f))) return green__fail(r);
  if (f->done) return green__fail(-EALREADY);
  f->done = 1;
  f->value = value;
  f->err = err;
  while ((n = green__list_pop_front(&f->waiters))) {
    waiter_t *w = green__container_of(n, waiter_t, link);
    w->value = value;
    w->err = err;
    green__wake(h, w->g, 0);
  }
  while ((n = green__list_pop_front(&f->watches))) {
    green__watch_t *w = green__container_of(n, green__watch_t, link);
    w->fn(h, w);
  }
  while ((n = green__list_pop_front(&f->callbacks)))
    post_done_cb(h, green__container_of(n, done_cb_t, call.link), value, err);
  return 0;
}

int green_future_set(green_future_t *f, void *value) { return complete(f, value, 0); }

int green_future_set_error(green_future_t *f, int err) {
  if (err <= 0) return green__fail(-EINVAL);
  return complete(f, NULL, err);
}

int green_future_get(green_future_t *f, void **value, double timeout) {
  struct green__hub *h = green__hub_get();
  waiter_t w;
  double at;
  int r;
  if (!h) return -1;
  if ((r = green__future_check(h, f)) || (r = green__timeout_to_at(timeout, &at)))
    return green__fail(r);
  if (f->done) {
    w.value = f->value;
    w.err = f->err;
  } else {
    w.g = h->current;
    green__list_push_back(&f->waiters, &w.link);
    r = green__park(h, GREEN_WAIT_FUTURE, f, at, 0);
    if (r) { /* not woken by the future: still linked in it, which is still there */
      green__list_remove(&w.link);
      return green__fail(r == GREEN__TIMER ? -ETIMEDOUT : r);
    }
  }
  if (w.err) return green__fail(-w.err);
  if (value) *value = w.value;
  return 0;
}

int green_future_done(green_future_t *f) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = green__future_check(h, f))) return green__fail(r);
  return f->done;
}

int green_future_add_done_callback(green_future_t *f, void (*cb)(void *arg, void *value, int err),
                                   void *arg) {
  struct green__hub *h = green__hub_get();
  done_cb_t *d;
  int r;
  if (!h) return -1;
  if ((r = green__future_check(h, f))) return green__fail(r);
  if (!cb) return green__fail(-EINVAL);
  if (!(d = malloc(sizeof *d))) return green__fail(-ENOMEM);
  d->cb = cb;
  d->arg = arg;
  if (f->done) post_done_cb(h, d, f->value, f->err);
  else green__list_push_back(&f->callbacks, &d->call.link);
  return 0;
}
