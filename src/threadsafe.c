/* SPDX-License-Identifier: MIT */
/*
 * green_hub_current, green_hub_release, green_call_threadsafe: the one way into a hub from
 * another thread.
 *
 * The handle holds a reference for its hub while the hub lives. It holds one more per
 * green_hub_current, and per pending thread-pool job. The ev_async watcher stays referenced in
 * libev's sense on purpose. The hub decides deadlock from its own counts (hub.c). A poll with
 * no active watcher would not block at all. References held by anyone but the hub count as "a
 * call may still come". While they are held, a hub whose greenlets are all parked waits for
 * calls instead of failing main with EDEADLK.
 */
#include "threadsafe.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "clock.h"
#include "deadlock.h"
#include "ownfd.h"

enum { SPIN_CHECKS = 64 }; /* looks at the queue between two reads of the clock */

struct green_hub {
  pthread_mutex_t mu;
  atomic_size_t refs;
  struct green__hub *hub;   /* under mu: NULL once the hub's thread has exited */
  green__remote_t *head;    /* under mu: queued calls, FIFO */
  green__remote_t **tail;
  ev_async async;           /* on the hub's loop while it lives */
};

/* A green_call_threadsafe call. */
typedef struct call {
  green__remote_t remote;
  void (*fn)(void *);
  void *arg;
} call_t;

/* Runs on the hub's stack: every call queued so far, in order. */
static void run_queued(green_hub_t *hb) {
  green__remote_t *r, *next;
  size_t ran = 0;
  pthread_mutex_lock(&hb->mu);
  r = hb->head;
  __atomic_store_n(&hb->head, NULL, __ATOMIC_RELAXED); /* green__threadsafe_spin peeks */
  hb->tail = &hb->head;
  pthread_mutex_unlock(&hb->mu);
  for (; r; r = next, ran++) {
    next = r->next;
    r->run(r);
  }
  green__deadlock_ran(ran);
}

static void async_cb(struct ev_loop *loop, ev_async *w, int revents) {
  (void)loop, (void)revents;
  run_queued(green__container_of(w, green_hub_t, async));
}

green_hub_t *green__hub_ref(struct green__hub *h, int *err) {
  green_hub_t *hb = h->handle;
  if (!hb) {
    if (!(hb = calloc(1, sizeof *hb))) {
      *err = -ENOMEM;
      return NULL;
    }
    pthread_mutex_init(&hb->mu, NULL);
    atomic_init(&hb->refs, 1); /* the hub's own */
    hb->hub = h;
    hb->tail = &hb->head;
    ev_async_init(&hb->async, async_cb);
    green__ownfd_depth++; /* the loop's first async watcher makes its wake-up fd */
    ev_async_start(h->loop, &hb->async);
    green__ownfd_depth--;
    green__hubs_lock(); /* other hubs read it there (green__hub_ref_number) */
    h->handle = hb;
    green__hubs_unlock();
  }
  atomic_fetch_add_explicit(&hb->refs, 1, memory_order_relaxed);
  return hb;
}

green_hub_t *green__hub_ref_number(unsigned number) {
  struct green__hub *h;
  green_hub_t *hb = NULL;
  green__hubs_lock(); /* a numbered hub still holds its own reference */
  if ((h = green__hubs_numbered(number)) && (hb = h->handle))
    atomic_fetch_add_explicit(&hb->refs, 1, memory_order_relaxed);
  green__hubs_unlock();
  return hb;
}

green_hub_t *green__hub_hold(green_hub_t *hb) {
  atomic_fetch_add_explicit(&hb->refs, 1, memory_order_relaxed);
  return hb;
}

int green__hub_is(green_hub_t *hb, struct green__hub *h) { return h->handle == hb; }

/* Under the lock: whoever gives back the last reference takes it after everyone else has let
 * go of it. */
void green__hub_unref(green_hub_t *hb) {
  size_t was;
  pthread_mutex_lock(&hb->mu);
  was = atomic_fetch_sub_explicit(&hb->refs, 1, memory_order_acq_rel);
  /* The hub's own is left: another thread's hub has to check whether it is stuck. */
  if (was == 2 && hb->hub && hb->hub != green__hub_tls) ev_async_send(hb->hub->loop, &hb->async);
  pthread_mutex_unlock(&hb->mu);
  if (was != 1) return;
  pthread_mutex_destroy(&hb->mu);
  free(hb);
}

int green__hub_post(green_hub_t *hb, green__remote_t *r) {
  int err = 0;
  pthread_mutex_lock(&hb->mu);
  if (!hb->hub) {
    err = -ESRCH;
  } else {
    r->next = NULL;
    green__deadlock_posted(); /* in flight until it has run (deadlock.c) */
    __atomic_store_n(hb->tail, r, __ATOMIC_RELAXED); /* the head, when it was empty */
    hb->tail = &r->next;
    if (hb->head == r) ev_async_send(hb->hub->loop, &hb->async); /* it was empty */
  }
  pthread_mutex_unlock(&hb->mu);
  return err;
}

/* Whether a call is queued, read without the lock: a hint. */
static int queued(green_hub_t *hb) { return __atomic_load_n(&hb->head, __ATOMIC_RELAXED) != NULL; }

int green__threadsafe_queued(struct green__hub *h) {
  green_hub_t *hb = __atomic_load_n(&h->handle, __ATOMIC_RELAXED);
  return hb && queued(hb);
}

int green__threadsafe_spin(struct green__hub *h, double seconds) {
  green_hub_t *hb = h->handle;
  double until;
  unsigned i;
  if (!hb || seconds <= 0) return 0;
  until = green__clock_seconds(CLOCK_MONOTONIC) + seconds;
  for (;;) {
    for (i = 0; i < SPIN_CHECKS; i++) {
      if (queued(hb)) {
        run_queued(hb);
        return 1;
      }
      green__cpu_relax();
    }
    if (green__clock_seconds(CLOCK_MONOTONIC) >= until) return 0;
  }
}

int green__threadsafe_busy(struct green__hub *h) {
  green_hub_t *hb = h->handle;
  int queued;
  if (!hb) return 0;
  /* References first: a poster queues before it lets go of its reference. */
  if (atomic_load_explicit(&hb->refs, memory_order_acquire) > 1) return 1;
  pthread_mutex_lock(&hb->mu);
  queued = hb->head != NULL;
  pthread_mutex_unlock(&hb->mu);
  return queued;
}

void green__threadsafe_exit(struct green__hub *h) {
  green_hub_t *hb = h->handle;
  green__remote_t *r, *next;
  if (!hb) return;
  pthread_mutex_lock(&hb->mu);
  hb->hub = NULL;
  r = hb->head;
  hb->head = NULL;
  hb->tail = &hb->head;
  pthread_mutex_unlock(&hb->mu);
  ev_async_stop(h->loop, &hb->async);
  for (; r; r = next) {
    next = r->next;
    r->drop(r);
    green__deadlock_ran(1);
  }
  h->handle = NULL;
  green__hub_unref(hb);
}

green_hub_t *green_hub_current(void) {
  struct green__hub *h = green__hub_get();
  green_hub_t *hb;
  int err;
  if (!h) return NULL;
  if (!(hb = green__hub_ref(h, &err))) errno = -err;
  return hb;
}

int green_hub_release(green_hub_t *hub) {
  if (!hub) return green__fail(-EINVAL);
  green__hub_unref(hub);
  return 0;
}

static void run_call(green__remote_t *r) {
  call_t *c = green__container_of(r, call_t, remote);
  void (*fn)(void *) = c->fn;
  void *arg = c->arg;
  free(c);
  fn(arg);
}

static void drop_call(green__remote_t *r) { free(green__container_of(r, call_t, remote)); }

int green_call_threadsafe(green_hub_t *hub, void (*fn)(void *), void *arg) {
  call_t *c;
  int r;
  if (!hub || !fn) return green__fail(-EINVAL);
  if (!(c = malloc(sizeof *c))) return green__fail(-ENOMEM);
  c->remote.run = run_call;
  c->remote.drop = drop_call;
  c->fn = fn;
  c->arg = arg;
  if ((r = green__hub_post(hub, &c->remote)) < 0) {
    free(c);
    return green__fail(r);
  }
  return 0;
}
