/* SPDX-License-Identifier: MIT */
/*
 * Shared by the synchronisation tests (event, sem, mutex, cond, rwlock): greenlets that each
 * make one blocking call and record its result, errno and duration, and the order in which
 * the successful calls returned. Include after test.h.
 *
 * In spread mode (test.h) the waiters alternate between the hubs. A waiter records its
 * success before its `then` step (the unlock or post that lets the next one in), so for an
 * object that admits one at a time the order is the one the object decided. done is written
 * last, with release: its record is complete once it reads 1.
 */
#ifndef GREEN_SYNC_TEST_H
#define GREEN_SYNC_TEST_H

#include <math.h>

#include "test.h"

#include "../src/posix.h" /* the absolute-time waits the shim uses */

#define SYNC_MAX_WAITERS 10000

typedef struct waiter {
  int id;
  int (*call)(struct waiter *w); /* the blocking call under test */
  void (*then)(struct waiter *w); /* runs when the call succeeded: unlock, post... */
  void *obj, *obj2;               /* what the call works on */
  double timeout;
  int r, err;                     /* the call's result and errno */
  double took;                    /* from the call to its return */
  double end;                     /* test_now() when it returned */
  green_hub_t *hub;               /* where it ran */
  atomic_int done;
} waiter_t;

/* ids of the calls that succeeded, in order; written by greenlets of every hub */
static atomic_int sync_order[SYNC_MAX_WAITERS];
static atomic_int sync_norder;

static void *waiter_main(void *arg) {
  waiter_t *w = arg;
  double t0 = test_now();
  w->hub = green_hub_self();
  w->r = w->call(w);
  w->err = errno;
  w->end = test_now();
  w->took = w->end - t0;
  if (w->r == 0) {
    int at = atomic_fetch_add(&sync_norder, 1);
    if (at >= SYNC_MAX_WAITERS) TEST_FAIL("more than %d calls", SYNC_MAX_WAITERS);
    atomic_store(&sync_order[at], w->id);
    atomic_store(&w->done, 1);
    if (w->then) w->then(w);
  } else {
    atomic_store(&w->done, 1);
  }
  return NULL;
}

/* Spawn a greenlet making w->call(w) on obj and obj2, then(w) once it succeeded; it starts
 * when the caller yields. In spread mode it has parked (or ended) when this returns: waiters
 * queue in the order of their spawns. */
static inline green_t *spawn_waiter_full(waiter_t *w, int id, int (*call)(waiter_t *), void *obj,
                                         void *obj2, void (*then)(waiter_t *), double timeout) {
  green_t *g;
  memset(w, 0, sizeof *w);
  w->id = id;
  w->call = call;
  w->then = then;
  w->obj = obj;
  w->obj2 = obj2;
  w->timeout = timeout;
  w->r = 1;
  ASSERT_TRUE((g = spread_spawn_parked(waiter_main, w)) != NULL);
  return g;
}

static inline green_t *spawn_waiter(waiter_t *w, int id, int (*call)(waiter_t *), void *obj,
                                    double timeout) {
  return spawn_waiter_full(w, id, call, obj, NULL, NULL, timeout);
}

static inline green_t *spawn_waiter_then(waiter_t *w, int id, int (*call)(waiter_t *), void *obj,
                                         double timeout, void (*then)(waiter_t *)) {
  return spawn_waiter_full(w, id, call, obj, NULL, then, timeout);
}

/* Yield until every one of gs is parked (or ended); fails after 100 rounds. */
static inline void settle(green_t **gs, int n) {
  int round, i;
  if (test_spread()) {
    spread_settle(gs, (size_t)n);
    return;
  }
  for (round = 0; round < 100; round++) {
    green_yield();
    for (i = 0; i < n; i++) {
      int st = green_state(gs[i]);
      if (st != GREEN_BLOCKED && st != GREEN_DEAD) break;
    }
    if (i == n) return;
  }
  TEST_FAIL("greenlets did not park");
}

/* Wait, parked, until w has returned (at most 10 s): on one hub at once, in spread mode
 * after the other hub has run it. */
static inline void await_done(waiter_t *w) {
  double limit = green_now() + 10;
  while (!atomic_load(&w->done)) {
    ASSERT_LT(green_now(), limit);
    ASSERT_OK(green_sleep(0.001));
  }
}

/* Assert that the successful calls returned in the order of the ids in `want`. */
static inline void assert_order(const int *want, int n) {
  int i;
  ASSERT_EQ(atomic_load(&sync_norder), n);
  for (i = 0; i < n; i++)
    if (sync_order[i] != want[i])
      TEST_FAIL("call %d to return was #%d, expected #%d", i, sync_order[i], want[i]);
}

/* ... in the order of their ids 0..n-1. */
static inline void assert_fifo(int n) {
  int i;
  ASSERT_EQ(atomic_load(&sync_norder), n);
  for (i = 0; i < n; i++)
    if (sync_order[i] != i) TEST_FAIL("call %d to return was #%d, not FIFO", i, sync_order[i]);
}

/* The same for calls woken together (a post or set for each, a broadcast): on one hub they
 * return in the order they were woken. In spread mode the hubs run at once, so the order of
 * the hand-offs shows only among the waiters of each hub: assert that, and that exactly the
 * calls in `want` succeeded. */
static inline void assert_woken_order(const waiter_t *ws, const int *want, int n) {
  int i, j, last[TEST_MAX_HUBS];
  if (!test_spread()) {
    assert_order(want, n);
    return;
  }
  ASSERT_EQ(atomic_load(&sync_norder), n);
  for (j = 0; j < TEST_MAX_HUBS; j++) last[j] = -1;
  for (i = 0; i < n; i++) {
    int id = sync_order[i], at, hub;
    for (at = 0; at < n && want[at] != id; at++) {
    }
    if (at == n) TEST_FAIL("call %d to return was #%d, not one expected", i, id);
    for (hub = 0; hub < (int)test_nhubs && test_hubs[hub] != ws[id].hub; hub++) {
    }
    ASSERT_LT(hub, (int)test_nhubs);
    if (at <= last[hub])
      TEST_FAIL("call %d to return was #%d, after #%d of the same hub", i, id, want[last[hub]]);
    last[hub] = at;
  }
}

/* ... in the order of their ids 0..n-1; ws[id] is the waiter with that id. */
static inline void assert_woken_fifo(const waiter_t *ws, int n) {
  static int ids[SYNC_MAX_WAITERS];
  int i;
  for (i = 0; i < n; i++) ids[i] = i;
  assert_woken_order(ws, ids, n);
}

/* The call failed with `e` after between lo and hi seconds. */
static inline void assert_failed(const waiter_t *w, int e, double lo, double hi) {
  ASSERT_TRUE(w->done);
  if (w->r != -1 || w->err != e)
    TEST_FAIL("waiter #%d: expected -1 with %s, got %d with %s", w->id, strerror(e), w->r,
              strerror(w->err));
  ASSERT_RANGE(w->took, lo, hi);
}

/* `seconds` from now on `clock`, as an absolute time. */
static inline struct timespec abstime_in(clockid_t clock, double seconds) {
  struct timespec ts;
  double whole = floor(seconds);
  clock_gettime(clock, &ts);
  ts.tv_sec += (time_t)whole;
  ts.tv_nsec += (long)((seconds - whole) * 1e9);
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  return ts;
}

static inline void join_all(green_t **gs, int n) { ASSERT_OK(spread_joinall(gs, (size_t)n, -1)); }

#endif
