/* SPDX-License-Identifier: MIT */
/* Read-write locks: shared readers, exclusive writers, phase fairness (no starvation either
 * way), recursive read locks past a waiting writer, error codes, timeouts on both clocks,
 * kill, destroy while busy, 10,000 waiters. */
#include "sync_test.h"

static int rdlock(waiter_t *w) { return green_rwlock_rdlock(w->obj, w->timeout); }
static int wrlock(waiter_t *w) { return green_rwlock_wrlock(w->obj, w->timeout); }
static int tryrdlock(waiter_t *w) { return green_rwlock_tryrdlock(w->obj); }
static int trywrlock(waiter_t *w) { return green_rwlock_trywrlock(w->obj); }
static int unlock(waiter_t *w) { return green_rwlock_unlock(w->obj); }
static void then_unlock(waiter_t *w) { ASSERT_OK(green_rwlock_unlock(w->obj)); }

/* Run call(w) on another greenlet and wait for it; `keep` leaves any lock it took held by
 * the ended greenlet, otherwise it is released. */
static int call_elsewhere(int (*call)(waiter_t *), green_rwlock_t *rw, int keep) {
  waiter_t w;
  green_t *g = spawn_waiter_then(&w, 0, call, rw, -1, keep ? NULL : then_unlock);
  ASSERT_OK(green_join(g, NULL, -1));
  errno = w.err;
  return w.r;
}

/* Queue a waiter calling call(w) behind the ones already queued; it unlocks when it gets
 * the lock (after holding it across a yield, so others can run meanwhile). */
static void hold_then_unlock(waiter_t *w) {
  green_yield();
  ASSERT_OK(green_rwlock_unlock(w->obj));
}

static green_t *queue_then(waiter_t *w, int id, int (*call)(waiter_t *), green_rwlock_t *rw,
                           void (*then)(waiter_t *)) {
  green_t *g = spawn_waiter_then(w, id, call, rw, -1, then);
  settle(&g, 1);
  return g;
}

static green_t *queue(waiter_t *w, int id, int (*call)(waiter_t *), green_rwlock_t *rw) {
  return queue_then(w, id, call, rw, hold_then_unlock);
}

/* ---- basics ---------------------------------------------------------------------------- */

TEST_CASE(readers_share_writers_exclude) {
  green_rwlock_t rw;
  ASSERT_OK(green_rwlock_init(&rw));
  ASSERT_OK(green_rwlock_rdlock(&rw, -1));
  ASSERT_OK(call_elsewhere(rdlock, &rw, 0));
  ASSERT_OK(call_elsewhere(tryrdlock, &rw, 0));
  ASSERT_ERRNO(call_elsewhere(trywrlock, &rw, 0), EBUSY);
  ASSERT_OK(green_rwlock_unlock(&rw));
  ASSERT_OK(green_rwlock_wrlock(&rw, -1));
  ASSERT_ERRNO(call_elsewhere(tryrdlock, &rw, 0), EBUSY);
  ASSERT_ERRNO(call_elsewhere(trywrlock, &rw, 0), EBUSY);
  ASSERT_ERRNO(green_rwlock_destroy(&rw), EBUSY);
  ASSERT_OK(green_rwlock_unlock(&rw));
  ASSERT_OK(call_elsewhere(trywrlock, &rw, 0));
  ASSERT_OK(green_rwlock_destroy(&rw));
}

TEST_CASE(zero_is_initialised_and_invalid) {
  static green_rwlock_t st = GREEN_RWLOCK_INITIALIZER;
  green_rwlock_t rw;
  struct timespec ts = {0, 1000000000};
  memset(&rw, 0, sizeof rw);
  ASSERT_OK(green_rwlock_wrlock(&rw, -1));
  ASSERT_OK(green_rwlock_unlock(&rw));
  ASSERT_OK(green_rwlock_rdlock(&st, -1));
  ASSERT_OK(green_rwlock_unlock(&st));
  ASSERT_ERRNO(green_rwlock_rdlock(&rw, NAN), EINVAL);
  ASSERT_ERRNO(green_rwlock_wrlock(&rw, NAN), EINVAL);
  ASSERT_ERRNO(green__rwlock_timedrdlock(&rw, CLOCK_MONOTONIC, &ts), EINVAL);
  ts.tv_nsec = -5;
  ASSERT_ERRNO(green__rwlock_timedwrlock(&rw, CLOCK_REALTIME, &ts), EINVAL);
  ts.tv_nsec = 0;
  ASSERT_ERRNO(green__rwlock_timedwrlock(&rw, CLOCK_BOOTTIME, &ts), EINVAL);
  ASSERT_ERRNO(green__rwlock_timedrdlock(&rw, CLOCK_MONOTONIC, NULL), EINVAL);
  ASSERT_ERRNO(green_rwlock_init(NULL), EINVAL);
  ASSERT_ERRNO(green_rwlock_rdlock(NULL, -1), EINVAL);
  ASSERT_ERRNO(green_rwlock_wrlock(NULL, -1), EINVAL);
  ASSERT_ERRNO(green_rwlock_tryrdlock(NULL), EINVAL);
  ASSERT_ERRNO(green_rwlock_trywrlock(NULL), EINVAL);
  ASSERT_ERRNO(green_rwlock_unlock(NULL), EINVAL);
  ASSERT_ERRNO(green_rwlock_destroy(NULL), EINVAL);
  ASSERT_OK(green_rwlock_destroy(&rw)); /* no failed call took it */
  ASSERT_TRUE(sizeof(green_rwlock_t) <= 56);
}

TEST_CASE(error_codes) {
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  ASSERT_ERRNO(green_rwlock_unlock(&rw), EPERM); /* not held */
  ASSERT_OK(green_rwlock_wrlock(&rw, -1));
  ASSERT_ERRNO(green_rwlock_wrlock(&rw, -1), EDEADLK);
  ASSERT_ERRNO(green_rwlock_rdlock(&rw, -1), EDEADLK);
  ASSERT_ERRNO(green_rwlock_trywrlock(&rw), EBUSY);
  ASSERT_ERRNO(green_rwlock_tryrdlock(&rw), EBUSY);
  ASSERT_ERRNO(call_elsewhere(unlock, &rw, 0), EPERM); /* not the writer */
  ASSERT_OK(green_rwlock_unlock(&rw));
  ASSERT_ERRNO(green_rwlock_unlock(&rw), EPERM);
  ASSERT_OK(call_elsewhere(rdlock, &rw, 1)); /* an ended greenlet keeps a read lock */
  ASSERT_ERRNO(green_rwlock_unlock(&rw), EPERM); /* we hold none */
  ASSERT_ERRNO(green_rwlock_destroy(&rw), EBUSY);
}

/* ---- fairness -------------------------------------------------------------------------- */

/* A reader holds; a writer queues; a new reader queues behind the writer instead of
 * starving it. */
TEST_CASE(writer_not_starved) {
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  waiter_t w[2];
  green_t *gs[2];
  static const int want[2] = {0, 1};
  ASSERT_OK(green_rwlock_rdlock(&rw, -1));
  gs[0] = queue(&w[0], 0, wrlock, &rw);
  ASSERT_ERRNO(call_elsewhere(tryrdlock, &rw, 0), EBUSY);
  gs[1] = queue(&w[1], 1, rdlock, &rw);
  ASSERT_OK(green_rwlock_unlock(&rw));
  join_all(gs, 2);
  assert_order(want, 2);
  ASSERT_OK(green_rwlock_destroy(&rw));
}

/* Queue while a writer holds: R0, W1, R2, W3, R4. Its unlock admits all three readers at
 * once (readers not starved by the writers queued before them), then W1, then W3. */
static atomic_int in_read, max_in_read;

static int rdlock_count(waiter_t *w) {
  int r = green_rwlock_rdlock(w->obj, -1);
  if (r == 0) {
    int now = atomic_fetch_add(&in_read, 1) + 1, max = atomic_load(&max_in_read);
    while (now > max && !atomic_compare_exchange_weak(&max_in_read, &max, now)) {
    }
  }
  return r;
}

/* Hold the read lock while the others run: across a yield on one hub; in spread mode until
 * all three readers hold it (at most 10 s), since the hubs run at once. */
static void read_then_unlock(waiter_t *w) {
  double limit = green_now() + 10;
  green_yield();
  while (test_spread() && atomic_load(&max_in_read) < 3 && green_now() < limit)
    ASSERT_OK(green_sleep(0.001));
  atomic_fetch_sub(&in_read, 1);
  ASSERT_OK(green_rwlock_unlock(w->obj));
}

TEST_CASE(phase_fair) {
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  waiter_t w[5];
  green_t *gs[5];
  static const int want[5] = {0, 2, 4, 1, 3};
  int i;
  ASSERT_OK(green_rwlock_wrlock(&rw, -1));
  for (i = 0; i < 5; i++) {
    if (i % 2)
      gs[i] = queue(&w[i], i, wrlock, &rw);
    else
      gs[i] = queue_then(&w[i], i, rdlock_count, &rw, read_then_unlock);
  }
  ASSERT_OK(green_rwlock_unlock(&rw));
  join_all(gs, 5);
  assert_order(want, 5);
  ASSERT_EQ(max_in_read, 3);
  ASSERT_OK(green_rwlock_destroy(&rw));
}

/* Released by readers, the lock goes to the oldest writer; released by a writer, to every
 * waiting reader; then to the next writer. */
TEST_CASE(alternates_under_load) {
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  waiter_t w[4];
  green_t *gs[4];
  static const int want[4] = {0, 1, 3, 2};
  ASSERT_OK(green_rwlock_rdlock(&rw, -1));
  gs[0] = queue(&w[0], 0, wrlock, &rw);
  gs[1] = queue(&w[1], 1, rdlock, &rw); /* behind the writer */
  gs[2] = queue(&w[2], 2, wrlock, &rw);
  gs[3] = queue(&w[3], 3, rdlock, &rw);
  ASSERT_OK(green_rwlock_unlock(&rw));
  join_all(gs, 4);
  /* W0; then both readers, 3 included although it queued after W2: they all waited when
   * W0 released; then W2. */
  assert_order(want, 4);
  ASSERT_OK(green_rwlock_destroy(&rw));
}

/* A greenlet that holds a read lock may take another past a waiting writer (recursive
 * read locking must not deadlock). */
TEST_CASE(recursive_read_past_waiting_writer) {
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  waiter_t w;
  green_t *g;
  ASSERT_OK(green_rwlock_rdlock(&rw, -1));
  g = queue(&w, 0, wrlock, &rw);
  ASSERT_OK(green_rwlock_rdlock(&rw, 1.0));
  ASSERT_OK(green_rwlock_tryrdlock(&rw));
  ASSERT_OK(green_rwlock_unlock(&rw));
  ASSERT_OK(green_rwlock_unlock(&rw));
  ASSERT_EQ(w.done, 0);
  ASSERT_OK(green_rwlock_unlock(&rw)); /* the last: the writer goes */
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(w.r, 0);
  ASSERT_OK(green_rwlock_destroy(&rw));
}

TEST_CASE(writers_fifo) {
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  waiter_t w[5];
  green_t *gs[5];
  int i;
  ASSERT_OK(green_rwlock_wrlock(&rw, -1));
  for (i = 0; i < 5; i++) gs[i] = queue(&w[i], i, wrlock, &rw);
  ASSERT_OK(green_rwlock_unlock(&rw));
  join_all(gs, 5);
  assert_fifo(5);
  ASSERT_OK(green_rwlock_destroy(&rw));
}

/* ---- timeouts, deadline, kill ---------------------------------------------------------- */

TEST_CASE(timeouts) {
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  green_deadline_t d;
  waiter_t w[2];
  green_t *gs[2];
  double t0;
  ASSERT_OK(green_rwlock_wrlock(&rw, -1));
  gs[0] = spawn_waiter(&w[0], 0, rdlock, &rw, 0.05);
  gs[1] = spawn_waiter(&w[1], 1, wrlock, &rw, 0.05);
  join_all(gs, 2);
  assert_failed(&w[0], ETIMEDOUT, 0.049, 1.5);
  assert_failed(&w[1], ETIMEDOUT, 0.049, 1.5);
  ASSERT_OK(green_rwlock_unlock(&rw));
  ASSERT_OK(green_rwlock_rdlock(&rw, -1)); /* held by another reader: a deadline ends it */
  gs[0] = spawn_waiter(&w[0], 0, wrlock, &rw, 0);
  ASSERT_OK(green_join(gs[0], NULL, -1));
  assert_failed(&w[0], ETIMEDOUT, 0, 0.5);
  t0 = test_now(); /* the deadline counts from here, not from the wait below */
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  ASSERT_OK(green_rwlock_unlock(&rw));
  ASSERT_OK(call_elsewhere(rdlock, &rw, 1));
  ASSERT_ERRNO(green_rwlock_wrlock(&rw, 5.0), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 1.5);
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_ERRNO(green_rwlock_destroy(&rw), EBUSY); /* the ended greenlet's read lock */
}

/* A writer that times out or is killed lets the readers queued behind it go at once. */
TEST_CASE(failed_writer_admits_readers) {
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  waiter_t w[4];
  green_t *gs[4];
  ASSERT_OK(green_rwlock_rdlock(&rw, -1));
  gs[0] = spawn_waiter(&w[0], 0, wrlock, &rw, 0.03);
  settle(gs, 1);
  gs[1] = queue(&w[1], 1, rdlock, &rw);
  ASSERT_OK(green_sleep(0.1));
  join_all(gs, 2); /* while we still hold our read lock */
  assert_failed(&w[0], ETIMEDOUT, 0.029, 1.0);
  ASSERT_EQ(w[1].r, 0);
  gs[2] = queue(&w[2], 2, wrlock, &rw);
  gs[3] = queue(&w[3], 3, rdlock, &rw);
  ASSERT_OK(green_kill(gs[2]));
  ASSERT_OK(green_join(gs[2], NULL, -1));
  assert_failed(&w[2], ECANCELED, 0, 1.0);
  ASSERT_OK(green_join(gs[3], NULL, -1));
  ASSERT_EQ(w[3].r, 0);
  ASSERT_OK(green_rwlock_unlock(&rw));
  ASSERT_OK(green_rwlock_destroy(&rw));
}

/* A writer handed the lock and killed before it runs keeps it. */
TEST_CASE(kill_after_handoff) {
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  waiter_t w;
  green_t *g;
  ASSERT_OK(green_rwlock_rdlock(&rw, -1));
  g = spawn_waiter_then(&w, 0, wrlock, &rw, -1, then_unlock);
  settle(&g, 1);
  ASSERT_OK(green_rwlock_unlock(&rw));
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(w.r, 0);
  ASSERT_OK(green_rwlock_destroy(&rw)); /* it unlocked */
}

TEST_CASE(timed_both_clocks) {
  static const clockid_t clocks[2] = {CLOCK_REALTIME, CLOCK_MONOTONIC};
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  struct timespec at;
  double t0;
  int i;
  for (i = 0; i < 2; i++) {
    at = abstime_in(clocks[i], -1); /* passed, but free: success */
    ASSERT_OK(green__rwlock_timedrdlock(&rw, clocks[i], &at));
    ASSERT_OK(green_rwlock_unlock(&rw));
    ASSERT_OK(green__rwlock_timedwrlock(&rw, clocks[i], &at));
    ASSERT_OK(green_rwlock_unlock(&rw));
    ASSERT_OK(call_elsewhere(wrlock, &rw, 1)); /* held by an ended greenlet */
    t0 = test_now();
    at = abstime_in(clocks[i], 0.05);
    ASSERT_ERRNO(green__rwlock_timedrdlock(&rw, clocks[i], &at), ETIMEDOUT);
    ASSERT_RANGE(test_now() - t0, 0.049, 1.5);
    t0 = test_now();
    at = abstime_in(clocks[i], 0.05);
    ASSERT_ERRNO(green__rwlock_timedwrlock(&rw, clocks[i], &at), ETIMEDOUT);
    ASSERT_RANGE(test_now() - t0, 0.049, 1.5);
    rw = (green_rwlock_t)GREEN_RWLOCK_INITIALIZER; /* white-box: forget the dead writer */
  }
}

/* ---- destroy, many waiters ------------------------------------------------------------- */

TEST_CASE(destroy_with_waiters) {
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  waiter_t w[2];
  green_t *gs[2];
  ASSERT_OK(green_rwlock_wrlock(&rw, -1));
  gs[0] = queue(&w[0], 0, rdlock, &rw);
  gs[1] = queue(&w[1], 1, wrlock, &rw);
  ASSERT_ERRNO(green_rwlock_destroy(&rw), EBUSY);
  ASSERT_OK(green_rwlock_unlock(&rw)); /* still works */
  /* On another hub both waiters may have had it and unlocked already: then destroy works.
   * It never sees the lock half way through an unlock. */
  if (green_rwlock_destroy(&rw) != 0) ASSERT_EQ(errno, EBUSY);
  else ASSERT_TRUE(test_spread());
  join_all(gs, 2);
  assert_fifo(2);
  ASSERT_OK(green_rwlock_destroy(&rw));
}

TEST_CASE(waiters_10k) {
  enum { N = 10000 };
  static waiter_t w[N];
  static green_t *gs[N];
  green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
  int i;
  ASSERT_OK(green_rwlock_wrlock(&rw, -1));
  for (i = 0; i < N; i++) { /* writers and readers alternate in the queue */
    gs[i] = spawn_waiter_then(&w[i], i, i % 2 ? rdlock : wrlock, &rw, -1, then_unlock);
  }
  settle(gs, N);
  ASSERT_OK(green_rwlock_unlock(&rw));
  join_all(gs, N);
  ASSERT_EQ(sync_norder, N);
  /* readers first (all admitted together), then the writers in FIFO order */
  for (i = 0; i < N / 2; i++) ASSERT_EQ(sync_order[i], 2 * i + 1);
  for (i = 0; i < N / 2; i++) ASSERT_EQ(sync_order[N / 2 + i], 2 * i);
  ASSERT_OK(green_rwlock_destroy(&rw));
}
