/* SPDX-License-Identifier: MIT */
/*
 * Futures (gevent's AsyncResult, asyncio's Future). A future holds a value or an error, set
 * once. Any number of greenlets can wait for it, on any hub (share.h).
 *
 * A waiter parks with a record on its own stack. While nobody has served it, its greenlet's
 * wait_link sits in the record's `armed` list. The completer takes it out under the future's
 * lock and copies the outcome into the record before waking it. A timeout or kill takes it
 * out the same way (green__wake): whoever comes first decides. So a woken waiter never reads
 * the future again. The future may be freed as soon as nobody is parked on it.
 *
 * Done callbacks run on the hub that added them. Completed on another hub, the future posts
 * each such callback to its hub as a message (green__hub_post). The message's run queues it
 * there as a soon call. Callbacks of one hub run in the order they were added. The post happens
 * inside the future: a hub's message queue lock is never held while entering an object, so
 * no lock order cycle. Watches (iwait.c) are told on the completer's hub: the watcher passes
 * the news on to its own hub.
 */
#include "future.h"

#include <stdlib.h>

#include "share.h"
#include "threadsafe.h"
#include "wait.h"

#define FUTURE_MAGIC 0x66757475u /* "futu" */

struct green_future {
  uint32_t magic;
  uint32_t home;            /* the hubs that use it (share.h); its lock once shared */
  int done;
  int err;                  /* once done: 0, or the error it was set with */
  void *value;              /* once done without an error */
  green__list_t waiters;    /* waiter_t of parked greenlets, FIFO */
  green__list_t watches;    /* green__watch_t of iterators (iwait.c) */
  green__list_t callbacks;  /* done_cb_t to post once done */
};

typedef struct waiter {
  green__list_t link;       /* in f->waiters until served or gone */
  green__list_t armed;      /* holds g's wait_link until served or given up */
  green_t *g;
  void *value;
  int err;
} waiter_t;

/* A done callback: waits in f->callbacks, then runs as a soon call of its hub and frees
 * itself. */
typedef struct done_cb {
  green__call_t call;       /* call.link is in f->callbacks until posted */
  green__remote_t msg;      /* to its hub, when another hub completes the future */
  struct green__hub *hub;   /* the hub that added it */
  unsigned hub_number;
  void (*cb)(void *arg, void *value, int err);
  void *arg;
  void *value;
  int err;
} done_cb_t;

static int check_any(green_future_t *f) {
  if (!f) return -EINVAL;
  return f->magic == FUTURE_MAGIC ? 0 : -ESRCH;
}

int green__future_check(green_future_t *f) { return check_any(f); }

int green__future_done(struct green__hub *h, green_future_t *f) {
  int how = green__home_enter(&f->home, h), done = f->done;
  green__home_leave(&f->home, h, how);
  return done;
}

int green__future_watch(struct green__hub *h, green_future_t *f, green__watch_t *w) {
  int how = green__home_enter(&f->home, h), done = f->done;
  if (!done) green__list_push_back(&f->watches, &w->link);
  green__home_leave(&f->home, h, how);
  return done;
}

void green__future_unwatch(struct green__hub *h, green_future_t *f, green__watch_t *w) {
  int how = green__home_enter(&f->home, h);
  green__list_remove(&w->link);
  green__home_leave(&f->home, h, how);
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
  green__list_init(&f->waiters);
  green__list_init(&f->watches);
  green__list_init(&f->callbacks);
  return f;
}

/* Checked inside f's home: a call on another hub is either before or after. */
int green_future_free(green_future_t *f) {
  struct green__hub *h = green__hub_get();
  green__list_t *n;
  int r, how, busy;
  if (!h) return -1;
  if ((r = check_any(f))) return green__fail(r);
  if ((how = green__home_enter_destroy(&f->home)) < 0) return green__fail(how);
  /* records of waiters that timed out but have not run yet count: they unlink themselves */
  busy = !green__list_empty(&f->waiters) || !green__list_empty(&f->watches);
  if (!busy) f->magic = 0;
  green__home_leave_destroy(&f->home, how, 0);
  if (busy) return green__fail(-EBUSY);
  while ((n = green__list_pop_front(&f->callbacks))) /* it never completed: they never run */
    free(green__container_of(n, done_cb_t, call.link));
  free(f);
  return 0;
}

static void run_done_cb(void *arg) {
  done_cb_t *d = arg;
  d->cb(d->arg, d->value, d->err);
  free(d);
}

static void queue_done_cb(struct green__hub *h, done_cb_t *d) {
  d->call.fn = run_done_cb;
  d->call.arg = d;
  d->call.slot = GREEN__CALL_OWNED;
  green__call_post(h, &d->call);
}

/* The message from the completer's hub, on d's hub. */
static void on_done_msg(green__remote_t *r) {
  queue_done_cb(green__hub_tls, green__container_of(r, done_cb_t, msg));
}

/* d's hub has exited: its callback never runs. */
static void drop_done_msg(green__remote_t *r) { free(green__container_of(r, done_cb_t, msg)); }

/* Run d on its hub; h is the completer's. */
static void post_done_cb(struct green__hub *h, done_cb_t *d, void *value, int err) {
  green_hub_t *hb;
  d->value = value;
  d->err = err;
  if (d->hub == h) {
    queue_done_cb(h, d);
    return;
  }
  d->msg.run = on_done_msg;
  d->msg.drop = drop_done_msg;
  if (!(hb = green__hub_ref_number(d->hub_number))) { /* its hub has exited */
    free(d);
    return;
  }
  if (green__hub_post(hb, &d->msg) < 0) free(d);
  green__hub_unref(hb);
}

/* Serve the waiters in the order they came: move them to `served` (empty). Inside f. */
static void serve_waiters(green_future_t *f, green__list_t *served) {
  green__list_t *n;
  while ((n = green__list_pop_front(&f->waiters))) {
    waiter_t *w = green__container_of(n, waiter_t, link);
    if (green__list_empty(&w->armed)) continue; /* it gave up */
    green__list_remove(&w->g->wait_link);
    w->value = f->value;
    w->err = f->err;
    green__list_push_back(served, n);
  }
}

/* Tell the watches, post the callbacks: on the completer's hub h, inside f. */
static void tell_watchers(struct green__hub *h, green_future_t *f) {
  green__list_t *n;
  while ((n = green__list_pop_front(&f->watches))) {
    green__watch_t *w = green__container_of(n, green__watch_t, link);
    w->fn(h, w);
  }
  while ((n = green__list_pop_front(&f->callbacks)))
    post_done_cb(h, green__container_of(n, done_cb_t, call.link), f->value, f->err);
}

/* Complete f: serve its waiters, then wake them outside f; tell its watchers. */
static int complete(green_future_t *f, void *value, int err) {
  struct green__hub *h = green__hub_get();
  green__list_t served = {&served, &served}, *n;
  int r = 0, how;
  if (!h) return -1;
  if ((r = check_any(f))) return green__fail(r);
  how = green__home_enter(&f->home, h);
  if (f->done) r = -EALREADY;
  else {
    f->done = 1;
    f->value = value;
    f->err = err;
    serve_waiters(f, &served);
    tell_watchers(h, f);
  }
  green__home_leave(&f->home, h, how);
  /* a served waiter keeps its record (and its stack) until it is woken: read it first */
  while ((n = green__list_pop_front(&served)))
    green__hand(h, green__container_of(n, waiter_t, link)->g, 0);
  return r ? green__fail(r) : 0;
}

int green_future_set(green_future_t *f, void *value) { return complete(f, value, 0); }

int green_future_set_error(green_future_t *f, int err) {
  if (err <= 0) return green__fail(-EINVAL);
  return complete(f, NULL, err);
}

/* Park the caller until f is done; inside f (entered as how), which it leaves. 0 (w has the
 * outcome), or -errno when it gave up. */
static int park(struct green__hub *h, green_future_t *f, waiter_t *w, double at, int how) {
  green_t *g = h->current;
  int r;
  w->g = g;
  green__waiter_arm(&w->armed, g, &f->home);
  green__list_push_back(&f->waiters, &w->link);
  green__home_leave(&f->home, h, how);
  if ((r = green__park(h, GREEN_WAIT_FUTURE, f, at, 0)) == 0) return 0;
  how = green__home_enter(&f->home, h); /* not served: still linked in f, which is still there */
  green__list_remove(&w->link);
  green__home_leave(&f->home, h, how);
  return r == GREEN__TIMER ? -ETIMEDOUT : r;
}

int green_future_get(green_future_t *f, void **value, double timeout) {
  struct green__hub *h = green__hub_get();
  waiter_t w;
  double at;
  int r, how;
  if (!h) return -1;
  if ((r = check_any(f)) || (r = green__timeout_to_at(timeout, &at))) return green__fail(r);
  how = green__home_enter(&f->home, h);
  if (f->done) {
    w.value = f->value;
    w.err = f->err;
    green__home_leave(&f->home, h, how);
  } else if ((r = park(h, f, &w, at, how))) {
    return green__fail(r);
  }
  if (w.err) return green__fail(-w.err);
  if (value) *value = w.value;
  return 0;
}

int green_future_done(green_future_t *f) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if ((r = check_any(f))) return green__fail(r);
  return green__future_done(h, f);
}

int green_future_add_done_callback(green_future_t *f, void (*cb)(void *arg, void *value, int err),
                                   void *arg) {
  struct green__hub *h = green__hub_get();
  done_cb_t *d;
  int r, how;
  if (!h) return -1;
  if ((r = check_any(f))) return green__fail(r);
  if (!cb) return green__fail(-EINVAL);
  if (!(d = malloc(sizeof *d))) return green__fail(-ENOMEM);
  d->cb = cb;
  d->arg = arg;
  d->hub = h;
  d->hub_number = h->number;
  how = green__home_enter(&f->home, h);
  if (f->done) post_done_cb(h, d, f->value, f->err);
  else green__list_push_back(&f->callbacks, &d->call.link);
  green__home_leave(&f->home, h, how);
  return 0;
}
