/* SPDX-License-Identifier: MIT */
/*
 * Shared by the synchronisation tests (event, sem, mutex, cond, rwlock): greenlets that each
 * make one blocking call and record its result, errno and duration, and the order in which
 * the successful calls returned. Include after test.h.
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
  int done;
} waiter_t;

static int sync_order[SYNC_MAX_WAITERS]; /* ids of the calls that succeeded, in order */
static int sync_norder;

static void *waiter_main(void *arg) {
  waiter_t *w = arg;
  double t0 = test_now();
  w->r = w->call(w);
  w->err = errno;
  w->end = test_now();
  w->took = w->end - t0;
  w->done = 1;
  if (w->r == 0) {
    if (sync_norder == SYNC_MAX_WAITERS) TEST_FAIL("more than %d calls", SYNC_MAX_WAITERS);
    sync_order[sync_norder++] = w->id;
    if (w->then) w->then(w);
  }
  return NULL;
}

/* Spawn a greenlet making w->call(w); it starts when the caller yields. */
static inline green_t *spawn_waiter(waiter_t *w, int id, int (*call)(waiter_t *), void *obj,
                                    double timeout) {
  green_t *g;
  memset(w, 0, sizeof *w);
  w->id = id;
  w->call = call;
  w->obj = obj;
  w->timeout = timeout;
  w->r = 1;
  ASSERT_TRUE((g = green_spawn(waiter_main, w)) != NULL);
  return g;
}

/* Yield until every one of gs is parked (or ended); fails after 100 rounds. */
static inline void settle(green_t **gs, int n) {
  int round, i;
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

/* Assert that the successful calls returned in the order of the ids in `want`. */
static inline void assert_order(const int *want, int n) {
  int i;
  ASSERT_EQ(sync_norder, n);
  for (i = 0; i < n; i++)
    if (sync_order[i] != want[i])
      TEST_FAIL("call %d to return was #%d, expected #%d", i, sync_order[i], want[i]);
}

/* ... in the order of their ids 0..n-1. */
static inline void assert_fifo(int n) {
  int i;
  ASSERT_EQ(sync_norder, n);
  for (i = 0; i < n; i++)
    if (sync_order[i] != i) TEST_FAIL("call %d to return was #%d, not FIFO", i, sync_order[i]);
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

static inline void join_all(green_t **gs, int n) { ASSERT_OK(green_joinall(gs, (size_t)n, -1)); }

#endif
