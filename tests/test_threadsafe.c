/* SPDX-License-Identifier: MIT */
/* Calls into a hub from other threads: green_hub_current, green_call_threadsafe,
 * green_hub_release. None lost, in order per thread, safe after the hub's thread exits. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "test.h"

typedef struct gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stage;
} gate_t;

#define GATE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0}

static void gate_set(gate_t *g, int stage) {
  pthread_mutex_lock(&g->mu);
  g->stage = stage;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

static void gate_wait(gate_t *g, int stage) {
  pthread_mutex_lock(&g->mu);
  while (g->stage < stage) pthread_cond_wait(&g->cv, &g->mu);
  pthread_mutex_unlock(&g->mu);
}

/* ---- one call -------------------------------------------------------------------------- */

typedef struct one {
  green_hub_t *hub;
  green_future_t *f;
  pthread_t ran_on;
} one_t;

static void one_cb(void *arg) {
  one_t *o = arg;
  o->ran_on = pthread_self();
  ASSERT_ERRNO(green_sleep(0.01), EPERM); /* on the hub, not in a greenlet */
  ASSERT_OK(green_future_set(o->f, (void *)(intptr_t)42));
}

static void *call_once(void *arg) {
  one_t *o = arg;
  ASSERT_OK(green_call_threadsafe(o->hub, one_cb, o));
  ASSERT_OK(green_hub_release(o->hub));
  return NULL;
}

TEST_CASE(call_from_thread) {
  one_t o;
  pthread_t t;
  void *v = NULL;
  ASSERT_TRUE((o.hub = green_hub_current()));
  ASSERT_TRUE((o.f = green_future_new()));
  ASSERT_EQ(pthread_create(&t, NULL, call_once, &o), 0);
  ASSERT_OK(green_future_get(o.f, &v, 10));
  ASSERT_EQ((intptr_t)v, 42);
  ASSERT_TRUE(pthread_equal(o.ran_on, pthread_self()));
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_OK(green_future_free(o.f));
}

TEST_CASE(call_from_own_thread) {
  one_t o;
  green_hub_t *hub;
  ASSERT_TRUE((hub = green_hub_current()));
  ASSERT_TRUE((o.f = green_future_new()));
  ASSERT_OK(green_call_threadsafe(hub, one_cb, &o));
  ASSERT_OK(green_hub_release(hub));
  ASSERT_OK(green_future_get(o.f, NULL, 10));
  ASSERT_OK(green_future_free(o.f));
}

/* ---- 4 threads x 100,000 calls ------------------------------------------------------------ */

enum { THREADS = 4, CALLS = 100000 };

typedef struct counter {
  long total;
  long next[THREADS];     /* the sequence number expected next from each thread */
  long out_of_order;
  green_future_t *all_in;
} counter_t;

static counter_t counter;

typedef struct producer {
  green_hub_t *hub;
  int id;
} producer_t;

static void count_cb(void *arg) {
  uintptr_t v = (uintptr_t)arg;
  int id = (int)(v % THREADS);
  long seq = (long)(v / THREADS);
  if (seq != counter.next[id]) counter.out_of_order++;
  counter.next[id] = seq + 1;
  if (++counter.total == (long)THREADS * CALLS) ASSERT_OK(green_future_set(counter.all_in, NULL));
}

static void *produce(void *arg) {
  producer_t *p = arg;
  long i;
  for (i = 0; i < CALLS; i++) {
    uintptr_t v = (uintptr_t)i * THREADS + (uintptr_t)p->id;
    if (green_call_threadsafe(p->hub, count_cb, (void *)v) != 0)
      TEST_FAIL("thread %d call %ld: %s", p->id, i, strerror(errno));
  }
  ASSERT_OK(green_hub_release(p->hub));
  return NULL;
}

TEST_CASE(four_threads_none_lost) {
  producer_t p[THREADS];
  pthread_t t[THREADS];
  int i;
  ASSERT_TRUE((counter.all_in = green_future_new()));
  for (i = 0; i < THREADS; i++) {
    p[i].id = i;
    ASSERT_TRUE((p[i].hub = green_hub_current())); /* each thread gives its own back */
    ASSERT_EQ(pthread_create(&t[i], NULL, produce, &p[i]), 0);
  }
  /* main holds no reference: were a call lost, the hub would report EDEADLK once every
   * producer has let go, instead of waiting forever */
  ASSERT_OK(green_future_get(counter.all_in, NULL, -1));
  for (i = 0; i < THREADS; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
  ASSERT_EQ(counter.total, (long)THREADS * CALLS);
  for (i = 0; i < THREADS; i++) ASSERT_EQ(counter.next[i], CALLS);
  ASSERT_EQ(counter.out_of_order, 0);
  ASSERT_OK(green_future_free(counter.all_in));
}

/* ---- the hub and its references ---------------------------------------------------------- */

static void nothing(void *arg) { (void)arg; }

/* A reference held by another thread keeps the deadlock report away until it is released. */
typedef struct late {
  green_hub_t *hub;
  green_future_t *f;
  double delay;
} late_t;

static void set_it(void *arg) { ASSERT_OK(green_future_set(arg, NULL)); }

static void *call_late(void *arg) {
  late_t *l = arg;
  struct timespec ts = {0, (long)(l->delay * 1e9)};
  nanosleep(&ts, NULL);
  ASSERT_OK(green_call_threadsafe(l->hub, set_it, l->f));
  ASSERT_OK(green_hub_release(l->hub));
  return NULL;
}

TEST_CASE(reference_keeps_hub_waiting) {
  late_t l;
  pthread_t t;
  double t0 = test_now();
  green_future_t *never;
  ASSERT_TRUE((l.hub = green_hub_current()));
  ASSERT_TRUE((l.f = green_future_new()));
  l.delay = 0.05;
  ASSERT_EQ(pthread_create(&t, NULL, call_late, &l), 0);
  ASSERT_OK(green_future_get(l.f, NULL, -1)); /* not EDEADLK: a call could still come */
  ASSERT_RANGE(test_now() - t0, 0.049, 10);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_OK(green_future_free(l.f));
  /* every reference is back: waiting forever is a deadlock again */
  ASSERT_TRUE((never = green_future_new()));
  ASSERT_ERRNO(green_future_get(never, NULL, -1), EDEADLK);
  ASSERT_OK(green_future_free(never));
}

/* A thread with a hub hands out a reference and exits; calls then fail with ESRCH, and
 * calls queued before it exited are dropped without running (and without leaking). */
typedef struct dying {
  gate_t gate;
  green_hub_t *hub;
} dying_t;

static atomic_int dropped_ran;

static void count_run(void *arg) {
  (void)arg;
  atomic_fetch_add(&dropped_ran, 1);
}

static void *hub_thread(void *arg) {
  dying_t *d = arg;
  ASSERT_TRUE((d->hub = green_hub_current()));
  gate_set(&d->gate, 1);
  gate_wait(&d->gate, 2); /* blocked outside the loop while main queues calls */
  return NULL;            /* the hub goes with the thread */
}

TEST_CASE(hub_gone) {
  dying_t d = {GATE_INIT, NULL};
  pthread_t t;
  int i;
  ASSERT_EQ(pthread_create(&t, NULL, hub_thread, &d), 0);
  gate_wait(&d.gate, 1);
  for (i = 0; i < 10; i++) ASSERT_OK(green_call_threadsafe(d.hub, count_run, NULL));
  gate_set(&d.gate, 2);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(atomic_load(&dropped_ran), 0);
  ASSERT_ERRNO(green_call_threadsafe(d.hub, count_run, NULL), ESRCH);
  ASSERT_OK(green_hub_release(d.hub)); /* the last reference frees the handle */
}

/* Calls race with the hub's thread exiting: each call either succeeds or fails with ESRCH,
 * ESRCH for good once it has, and the hub runs no more than the calls that succeeded. */
typedef struct racer {
  pthread_t thread;
  green_hub_t *hub;
  atomic_int *stop;
  long ok, refused, ok_after_refused;
} racer_t;

static atomic_long race_ran;

static void race_cb(void *arg) {
  (void)arg;
  atomic_fetch_add(&race_ran, 1);
}

static void *race_calls(void *arg) {
  racer_t *r = arg;
  while (!atomic_load(r->stop)) {
    if (green_call_threadsafe(r->hub, race_cb, NULL) == 0) {
      r->ok++;
      if (r->refused) r->ok_after_refused++;
    } else {
      ASSERT_EQ(errno, ESRCH);
      r->refused++;
    }
  }
  ASSERT_OK(green_hub_release(r->hub));
  return NULL;
}

/* The hub's thread: hands a reference to each racer, runs their calls until 1,000 have run
 * (or 10 s), then exits while they go on calling. */
static void *short_lived_hub(void *arg) {
  racer_t *r = arg;
  double end = test_now() + 10;
  int i;
  for (i = 0; i < 2; i++) {
    ASSERT_TRUE((r[i].hub = green_hub_current()));
    ASSERT_EQ(pthread_create(&r[i].thread, NULL, race_calls, &r[i]), 0);
  }
  while (atomic_load(&race_ran) < 1000 && test_now() < end) ASSERT_OK(green_sleep(0.001));
  return NULL;
}

TEST_CASE(hub_exits_while_called) {
  atomic_int stop = 0;
  racer_t r[2] = {{0, NULL, &stop, 0, 0, 0}, {0, NULL, &stop, 0, 0, 0}};
  struct timespec ts = {0, 20 * 1000 * 1000};
  pthread_t hub_thread_id;
  int i;
  ASSERT_EQ(pthread_create(&hub_thread_id, NULL, short_lived_hub, r), 0);
  ASSERT_EQ(pthread_join(hub_thread_id, NULL), 0);
  ASSERT_GE(atomic_load(&race_ran), 1000);
  nanosleep(&ts, NULL); /* they keep calling the hub that is gone */
  atomic_store(&stop, 1);
  for (i = 0; i < 2; i++) ASSERT_EQ(pthread_join(r[i].thread, NULL), 0);
  for (i = 0; i < 2; i++) {
    ASSERT_GT(r[i].refused, 0);
    ASSERT_EQ(r[i].ok_after_refused, 0);
  }
  ASSERT_LE(atomic_load(&race_ran), r[0].ok + r[1].ok);
}

TEST_CASE(bad_arguments) {
  green_hub_t *hub;
  ASSERT_ERRNO(green_call_threadsafe(NULL, nothing, NULL), EINVAL);
  ASSERT_TRUE((hub = green_hub_current()));
  ASSERT_ERRNO(green_call_threadsafe(hub, NULL, NULL), EINVAL);
  ASSERT_OK(green_hub_release(hub));
  ASSERT_ERRNO(green_hub_release(NULL), EINVAL);
}
