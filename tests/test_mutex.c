/* SPDX-License-Identifier: MIT */
/* Mutexes: kinds and their error codes, FIFO hand-off, timeouts on both clocks, deadline,
 * kill, destroy while busy, 10,000 waiters, a lock taken before the thread's hub exists. */
#include <limits.h>
#include <pthread.h>

#include "sync_test.h"

static int lock(waiter_t *w) { return green_mutex_lock(w->obj, w->timeout); }
static int timedlock(waiter_t *w) { /* id: the clock; obj2: the time */
  return green__mutex_timedlock(w->obj, (clockid_t)w->id, w->obj2);
}
static int trylock(waiter_t *w) { return green_mutex_trylock(w->obj); }
static int unlock(waiter_t *w) { return green_mutex_unlock(w->obj); }
static void then_unlock(waiter_t *w) { ASSERT_OK(green_mutex_unlock(w->obj)); }

/* Run call(w) on another greenlet and wait for it: for calls by a non-owner. */
static int call_elsewhere(int (*call)(waiter_t *), green_mutex_t *m) {
  waiter_t w;
  green_t *g = spawn_waiter(&w, 0, call, m, -1);
  ASSERT_OK(green_join(g, NULL, -1));
  errno = w.err;
  return w.r;
}

/* ---- basics and kinds ------------------------------------------------------------------ */

TEST_CASE(zero_is_initialised) {
  static green_mutex_t st = GREEN_MUTEX_INITIALIZER;
  green_mutex_t m;
  memset(&m, 0, sizeof m);
  ASSERT_OK(green_mutex_lock(&m, -1));
  ASSERT_ERRNO(call_elsewhere(trylock, &m), EBUSY);
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(call_elsewhere(trylock, &m)); /* that greenlet ended owning it */
  ASSERT_ERRNO(green_mutex_destroy(&m), EBUSY);
  ASSERT_OK(green_mutex_lock(&st, -1));
  ASSERT_OK(green_mutex_unlock(&st));
  ASSERT_OK(green_mutex_destroy(&st));
  ASSERT_TRUE(sizeof(green_mutex_t) <= 40);
}

TEST_CASE(invalid_arguments) {
  green_mutex_t m;
  struct timespec ts = {0, 0};
  ASSERT_ERRNO(green_mutex_init(&m, -1), EINVAL);
  ASSERT_ERRNO(green_mutex_init(&m, 3), EINVAL);
  ASSERT_ERRNO(green_mutex_init(NULL, GREEN_MUTEX_NORMAL), EINVAL);
  ASSERT_OK(green_mutex_init(&m, GREEN_MUTEX_NORMAL));
  ASSERT_ERRNO(green_mutex_lock(&m, NAN), EINVAL);
  ASSERT_ERRNO(green_mutex_lock(NULL, -1), EINVAL);
  ASSERT_ERRNO(green_mutex_trylock(NULL), EINVAL);
  ASSERT_ERRNO(green_mutex_unlock(NULL), EINVAL);
  ASSERT_ERRNO(green_mutex_destroy(NULL), EINVAL);
  ASSERT_ERRNO(green__mutex_timedlock(&m, CLOCK_MONOTONIC, NULL), EINVAL);
  ts.tv_nsec = 1000000000;
  ASSERT_ERRNO(green__mutex_timedlock(&m, CLOCK_MONOTONIC, &ts), EINVAL);
  ts.tv_nsec = -1;
  ASSERT_ERRNO(green__mutex_timedlock(&m, CLOCK_REALTIME, &ts), EINVAL);
  ts.tv_nsec = 0;
  ASSERT_ERRNO(green__mutex_timedlock(&m, CLOCK_PROCESS_CPUTIME_ID, &ts), EINVAL);
  ASSERT_OK(green_mutex_trylock(&m)); /* none of those took it */
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(green_mutex_destroy(&m));
}

/* NORMAL and ERRORCHECK: no self-deadlock, no unlock by a non-owner. */
static void check_errorcheck_kind(int kind) {
  green_mutex_t m;
  ASSERT_OK(green_mutex_init(&m, kind));
  ASSERT_ERRNO(green_mutex_unlock(&m), EPERM); /* not locked */
  ASSERT_OK(green_mutex_lock(&m, -1));
  ASSERT_ERRNO(green_mutex_lock(&m, -1), EDEADLK);
  ASSERT_ERRNO(green_mutex_lock(&m, 0.01), EDEADLK);
  ASSERT_ERRNO(green_mutex_trylock(&m), EBUSY);
  ASSERT_ERRNO(call_elsewhere(unlock, &m), EPERM);
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_ERRNO(green_mutex_unlock(&m), EPERM); /* only once */
  ASSERT_OK(green_mutex_destroy(&m));
}

TEST_CASE(normal_errors) { check_errorcheck_kind(GREEN_MUTEX_NORMAL); }

TEST_CASE(errorcheck_errors) { check_errorcheck_kind(GREEN_MUTEX_ERRORCHECK); }

TEST_CASE(recursive) {
  green_mutex_t m;
  int i;
  ASSERT_OK(green_mutex_init(&m, GREEN_MUTEX_RECURSIVE));
  ASSERT_ERRNO(green_mutex_unlock(&m), EPERM);
  for (i = 0; i < 3; i++) ASSERT_OK(green_mutex_lock(&m, -1));
  ASSERT_OK(green_mutex_trylock(&m)); /* depth 4 */
  ASSERT_ERRNO(call_elsewhere(trylock, &m), EBUSY);
  ASSERT_ERRNO(call_elsewhere(unlock, &m), EPERM);
  for (i = 0; i < 3; i++) ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_ERRNO(call_elsewhere(trylock, &m), EBUSY); /* still held at depth 1 */
  ASSERT_ERRNO(green_mutex_destroy(&m), EBUSY);
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_ERRNO(green_mutex_unlock(&m), EPERM);
  ASSERT_OK(green_mutex_destroy(&m));
}

TEST_CASE(recursive_depth_limit) {
  green_mutex_t m;
  ASSERT_OK(green_mutex_init(&m, GREEN_MUTEX_RECURSIVE));
  ASSERT_OK(green_mutex_lock(&m, -1));
  m.count = UINT_MAX - 1; /* white-box: skip four billion relocks */
  ASSERT_OK(green_mutex_lock(&m, -1));
  ASSERT_ERRNO(green_mutex_lock(&m, -1), EAGAIN);
  ASSERT_ERRNO(green_mutex_trylock(&m), EAGAIN);
  m.count = 1;
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(green_mutex_destroy(&m));
}

/* ---- mutual exclusion and order -------------------------------------------------------- */

static green_mutex_t shared_m = GREEN_MUTEX_INITIALIZER;
static int in_section, section_runs;

static void *worker(void *arg) {
  int i;
  (void)arg;
  for (i = 0; i < 100; i++) {
    ASSERT_OK(green_mutex_lock(&shared_m, -1));
    ASSERT_EQ(in_section, 0);
    in_section = 1;
    green_yield(); /* the others run and queue meanwhile */
    in_section = 0;
    section_runs++;
    ASSERT_OK(green_mutex_unlock(&shared_m));
    if (i % 3 == 0) green_yield();
  }
  return NULL;
}

TEST_CASE(mutual_exclusion) {
  green_t *gs[8];
  int i;
  for (i = 0; i < 8; i++) ASSERT_TRUE((gs[i] = spread_spawn(worker, NULL)) != NULL);
  join_all(gs, 8);
  ASSERT_EQ(section_runs, 800);
  ASSERT_OK(green_mutex_destroy(&shared_m));
}

TEST_CASE(fifo_order) {
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  waiter_t w[5];
  green_t *gs[5];
  int i;
  ASSERT_OK(green_mutex_lock(&m, -1));
  for (i = 0; i < 5; i++) {
    gs[i] = spawn_waiter_then(&w[i], i, lock, &m, -1, then_unlock);
    settle(gs, i + 1); /* each queues after the previous one */
  }
  ASSERT_OK(green_mutex_unlock(&m));
  join_all(gs, 5);
  assert_fifo(5);
  ASSERT_OK(green_mutex_destroy(&m));
}

/* Unlock hands the mutex to the oldest waiter before it runs: the unlocker cannot take it
 * back by locking again at once, it queues behind. */
static atomic_int may_unlock; /* handoff_no_barging's waiter holds the mutex until then */

static void unlock_when_told(waiter_t *w) {
  double limit = green_now() + 10;
  while (!atomic_load(&may_unlock)) {
    ASSERT_LT(green_now(), limit);
    ASSERT_OK(green_sleep(0.001));
  }
  then_unlock(w);
}

TEST_CASE(handoff_no_barging) {
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  waiter_t w;
  green_t *g;
  int i;
  ASSERT_OK(green_mutex_lock(&m, -1));
  g = spawn_waiter_then(&w, 1, lock, &m, -1, unlock_when_told);
  settle(&g, 1);
  ASSERT_OK(green_mutex_unlock(&m));
  if (!test_spread()) ASSERT_EQ(w.done, 0); /* handed over, not yet run (on this hub) */
  ASSERT_ERRNO(green_mutex_trylock(&m), EBUSY);
  ASSERT_ERRNO(green_mutex_unlock(&m), EPERM); /* no longer ours */
  atomic_store(&may_unlock, 1);
  ASSERT_OK(green_mutex_lock(&m, -1)); /* queues; the waiter runs and unlocks */
  ASSERT_EQ(w.r, 0);
  for (i = 0; i < 3; i++) { /* a lock/unlock loop does not starve the waiter either */
    ASSERT_OK(green_mutex_unlock(&m));
    ASSERT_OK(green_mutex_lock(&m, -1));
  }
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_OK(green_mutex_destroy(&m));
}

/* Two greenlets that each lock, yield and unlock in a loop alternate strictly. */
static green_mutex_t pp_m = GREEN_MUTEX_INITIALIZER;
static int pp_log[40], pp_n;

static void *ping_pong(void *arg) {
  int i;
  for (i = 0; i < 20; i++) {
    ASSERT_OK(green_mutex_lock(&pp_m, -1));
    pp_log[pp_n++] = (int)(intptr_t)arg;
    green_yield();
    ASSERT_OK(green_mutex_unlock(&pp_m));
  }
  return NULL;
}

TEST_CASE(ping_pong_alternates) {
  TEST_ONE_HUB("strict turns need green_yield to let the other greenlet queue");
  green_t *gs[2];
  int i;
  ASSERT_TRUE((gs[0] = spread_spawn(ping_pong, (void *)0)) != NULL);
  ASSERT_TRUE((gs[1] = spread_spawn(ping_pong, (void *)1)) != NULL);
  join_all(gs, 2);
  ASSERT_EQ(pp_n, 40);
  for (i = 0; i < 40; i++) ASSERT_EQ(pp_log[i], i % 2);
}

/* ---- timeouts, deadline, kill ---------------------------------------------------------- */

TEST_CASE(timeout) {
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  waiter_t w;
  green_t *g;
  ASSERT_OK(green_mutex_lock(&m, -1));
  g = spawn_waiter(&w, 0, lock, &m, 0.05);
  ASSERT_OK(green_join(g, NULL, -1));
  assert_failed(&w, ETIMEDOUT, 0.049, 1.5);
  g = spawn_waiter(&w, 0, lock, &m, 0); /* 0: fail at once when held */
  ASSERT_OK(green_join(g, NULL, -1));
  assert_failed(&w, ETIMEDOUT, 0, 0.5);
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(green_mutex_lock(&m, 0)); /* ... succeed at once when free */
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(green_mutex_destroy(&m)); /* the timed-out waiters left no trace */
}

static int lock_in_deadline(waiter_t *w) {
  green_deadline_t d;
  int r, e;
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  r = green_mutex_lock(w->obj, 5.0);
  e = errno;
  ASSERT_TRUE(green_deadline_expired(&d));
  ASSERT_OK(green_deadline_leave(&d));
  errno = e;
  return r;
}

TEST_CASE(deadline) {
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  waiter_t w;
  green_t *g;
  ASSERT_OK(green_mutex_lock(&m, -1));
  g = spawn_waiter(&w, 0, lock_in_deadline, &m, -1);
  ASSERT_OK(green_join(g, NULL, -1));
  assert_failed(&w, ETIMEDOUT, 0.049, 1.5);
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(green_mutex_destroy(&m));
}

TEST_CASE(timedlock_both_clocks) {
  static const clockid_t clocks[2] = {CLOCK_REALTIME, CLOCK_MONOTONIC};
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  struct timespec at;
  waiter_t w;
  green_t *g;
  double t0;
  int i;
  for (i = 0; i < 2; i++) {
    at = abstime_in(clocks[i], -1.0); /* passed, but the mutex is free: no wait, success */
    ASSERT_OK(green__mutex_timedlock(&m, clocks[i], &at));
    t0 = test_now();
    at = abstime_in(clocks[i], 0.05);
    g = spawn_waiter_full(&w, (int)clocks[i], timedlock, &m, &at, NULL, -1);
    ASSERT_OK(green_join(g, NULL, -1));
    assert_failed(&w, ETIMEDOUT, 0, 1.5);
    ASSERT_RANGE(w.end - t0, 0.049, 1.5); /* not before the time */
    at = abstime_in(clocks[i], 5.0); /* granted long before the time */
    g = spawn_waiter_full(&w, (int)clocks[i], timedlock, &m, &at, then_unlock, -1);
    settle(&g, 1);
    ASSERT_OK(green_mutex_unlock(&m));
    ASSERT_OK(green_join(g, NULL, -1));
    ASSERT_EQ(w.r, 0);
    ASSERT_RANGE(w.took, 0, 1.0);
  }
  ASSERT_OK(green_mutex_destroy(&m));
}

TEST_CASE(kill_waiter) {
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  waiter_t w;
  green_t *g;
  ASSERT_OK(green_mutex_lock(&m, -1));
  g = spawn_waiter(&w, 0, lock, &m, -1);
  settle(&g, 1);
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, -1));
  assert_failed(&w, ECANCELED, 0, 1.0);
  ASSERT_OK(green_mutex_unlock(&m)); /* not handed to the killed waiter */
  ASSERT_OK(green_mutex_trylock(&m));
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(green_mutex_destroy(&m));
}

/* Waiters that time out or are killed in the middle of the queue leave it; the others
 * still get the mutex, in order. */
TEST_CASE(failed_waiters_lose_no_handoff) {
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  waiter_t w[4];
  green_t *gs[4];
  static const int want[2] = {0, 3};
  int i;
  ASSERT_OK(green_mutex_lock(&m, -1));
  for (i = 0; i < 4; i++) {
    gs[i] = spawn_waiter_then(&w[i], i, lock, &m, i == 2 ? 0.02 : -1, then_unlock);
    settle(gs, i + 1);
  }
  ASSERT_OK(green_kill(gs[1]));
  ASSERT_OK(green_sleep(0.05)); /* #2 times out */
  assert_failed(&w[1], ECANCELED, 0, 1.0);
  assert_failed(&w[2], ETIMEDOUT, 0.019, 1.0);
  ASSERT_OK(green_mutex_unlock(&m));
  join_all(gs, 4);
  assert_order(want, 2);
  ASSERT_OK(green_mutex_destroy(&m));
}

/* A waiter handed the mutex and killed before it runs keeps the mutex (the call succeeds,
 * the kill shows on its next blocking call) rather than losing it. */
static int kill_noted;

static int lock_then_sleep(waiter_t *w) {
  int r = green_mutex_lock(w->obj, -1);
  kill_noted = green_sleep(0.01) == -1 && errno == ECANCELED;
  return r;
}

TEST_CASE(kill_after_handoff) {
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  waiter_t w;
  green_t *g;
  ASSERT_OK(green_mutex_lock(&m, -1));
  g = spawn_waiter_then(&w, 0, lock_then_sleep, &m, -1, then_unlock);
  settle(&g, 1);
  ASSERT_OK(green_mutex_unlock(&m)); /* handed to g */
  ASSERT_OK(green_kill(g));          /* before g runs */
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(w.r, 0);
  ASSERT_EQ(kill_noted, 1);
  ASSERT_OK(green_mutex_trylock(&m)); /* g unlocked it */
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(green_mutex_destroy(&m));
}

/* ---- destroy --------------------------------------------------------------------------- */

TEST_CASE(destroy_with_waiters) {
  green_mutex_t m;
  waiter_t w[2];
  green_t *gs[2];
  int i;
  ASSERT_OK(green_mutex_init(&m, GREEN_MUTEX_ERRORCHECK));
  ASSERT_OK(green_mutex_lock(&m, -1));
  ASSERT_ERRNO(green_mutex_destroy(&m), EBUSY);
  for (i = 0; i < 2; i++) {
    gs[i] = spawn_waiter_then(&w[i], i, lock, &m, -1, then_unlock);
  }
  settle(gs, 2);
  ASSERT_ERRNO(green_mutex_destroy(&m), EBUSY);
  ASSERT_OK(green_mutex_unlock(&m)); /* still works: hands over, in order */
  /* On another hub both waiters may have had it and unlocked already: then destroy works,
   * and m is made again. It never sees the mutex half way through an unlock. */
  if (green_mutex_destroy(&m) == 0) {
    ASSERT_TRUE(test_spread());
    ASSERT_OK(green_mutex_init(&m, GREEN_MUTEX_ERRORCHECK));
  } else {
    ASSERT_EQ(errno, EBUSY);
  }
  join_all(gs, 2);
  assert_fifo(2);
  ASSERT_OK(green_mutex_lock(&m, -1));
  ASSERT_ERRNO(green_mutex_lock(&m, -1), EDEADLK); /* its kind survived */
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(green_mutex_destroy(&m));
}

/* ---- many waiters ---------------------------------------------------------------------- */

TEST_CASE(waiters_10k) {
  enum { N = 10000 };
  static waiter_t w[N];
  static green_t *gs[N];
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  int i;
  ASSERT_OK(green_mutex_lock(&m, -1));
  for (i = 0; i < N; i++) {
    gs[i] = spawn_waiter_then(&w[i], i, lock, &m, -1, then_unlock);
  }
  settle(gs, N);
  ASSERT_OK(green_mutex_unlock(&m));
  join_all(gs, N);
  assert_fifo(N);
  ASSERT_OK(green_mutex_destroy(&m));
}

/* A mutex whose owner ended without unlocking stays locked; when nothing else could ever
 * run, the main greenlet's lock fails with EDEADLK instead of hanging. */
TEST_CASE(abandoned_reports_deadlock) {
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  ASSERT_OK(call_elsewhere(trylock, &m)); /* ends owning m */
  ASSERT_ERRNO(green_mutex_lock(&m, -1), EDEADLK);
  ASSERT_ERRNO(green_mutex_lock(&m, 0.01), ETIMEDOUT); /* a timer can end this one */
  ASSERT_ERRNO(green_mutex_destroy(&m), EBUSY);
}

/* A thread's main greenlet exists before its hub: a mutex it locks then (no hub needed) is
 * still its own once the hub exists, and the others see it held. */
static void *lock_before_hub(void *arg) {
  green_mutex_t *m = arg;
  green_stats_t st;
  ASSERT_OK(green_mutex_lock(m, -1));
  ASSERT_ERRNO(green_mutex_trylock(m), EBUSY);
  ASSERT_OK(green_stats(&st)); /* makes this thread's hub */
  ASSERT_ERRNO(call_elsewhere(trylock, m), EBUSY);
  ASSERT_OK(green_mutex_unlock(m));
  ASSERT_OK(call_elsewhere(trylock, m));
  return NULL;
}

TEST_CASE(locked_before_the_hub) {
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  pthread_t t;
  ASSERT_OK(pthread_create(&t, NULL, lock_before_hub, &m));
  ASSERT_OK(pthread_join(t, NULL));
}
