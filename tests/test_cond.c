/* SPDX-License-Identifier: MIT */
/* Condition variables: signal and broadcast exactness, FIFO, the mutex held again after
 * every kind of return, timeouts on both clocks, kill, destroy while waited on, 10,000
 * waiters, a bounded buffer. */
#include "sync_test.h"

static green_mutex_t mu = GREEN_MUTEX_INITIALIZER;
static green_cond_t cv = GREEN_COND_INITIALIZER;
static atomic_int wakes[SYNC_MAX_WAITERS]; /* per waiter id: returns from wait */

/* Lock mu, wait on the condition w->obj once, note the wake-up, and check that mu is held
 * again on every path (unlock is EPERM otherwise). */
static int wait_once(waiter_t *w) {
  int r, e;
  ASSERT_OK(green_mutex_lock(&mu, -1));
  r = green_cond_wait(w->obj, &mu, w->timeout);
  e = errno;
  wakes[w->id]++;
  ASSERT_OK(green_mutex_unlock(&mu));
  errno = e;
  return r;
}

/* Wait twice without releasing mu in between. */
static int wait_twice(waiter_t *w) {
  int r;
  ASSERT_OK(green_mutex_lock(&mu, -1));
  r = green_cond_wait(w->obj, &mu, -1);
  wakes[w->id]++;
  if (r == 0) r = green_cond_wait(w->obj, &mu, -1);
  wakes[w->id]++;
  ASSERT_OK(green_mutex_unlock(&mu));
  return r;
}

static void spawn_waiting(waiter_t *w, green_t **gs, int n, int (*call)(waiter_t *),
                          double timeout) {
  int i;
  for (i = 0; i < n; i++) gs[i] = spawn_waiter(&w[i], i, call, &cv, timeout);
  settle(gs, n);
}

static void signal_locked(green_cond_t *c) {
  ASSERT_OK(green_mutex_lock(&mu, -1));
  ASSERT_OK(green_cond_signal(c));
  ASSERT_OK(green_mutex_unlock(&mu));
}

static int count_wakes(int n) {
  int i, total = 0;
  for (i = 0; i < n; i++) total += wakes[i];
  return total;
}

/* Let every greenlet that could run, run: 1 ms on one hub; in spread mode, until `total`
 * wake-ups are counted (at most 10 s), since the other hub's need not have run yet. */
static void await_wakes(int n, int total) {
  double limit = green_now() + 10;
  ASSERT_OK(green_sleep(0.001));
  while (test_spread() && count_wakes(n) < total) {
    ASSERT_LT(green_now(), limit);
    ASSERT_OK(green_sleep(0.001));
  }
}

/* ---- basics ---------------------------------------------------------------------------- */

TEST_CASE(invalid_arguments) {
  green_cond_t c;
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  struct timespec ts = {0, 1000000000};
  ASSERT_ERRNO(green_cond_init(&c, CLOCK_PROCESS_CPUTIME_ID), EINVAL);
  ASSERT_ERRNO(green_cond_init(NULL, CLOCK_REALTIME), EINVAL);
  ASSERT_OK(green_cond_init(&c, CLOCK_MONOTONIC));
  ASSERT_ERRNO(green_cond_wait(&c, &m, -1), EPERM); /* m not held */
  ASSERT_OK(green_mutex_lock(&m, -1));
  ASSERT_ERRNO(green_cond_wait(&c, &m, NAN), EINVAL);
  ASSERT_ERRNO(green_cond_wait(&c, NULL, -1), EINVAL);
  ASSERT_ERRNO(green_cond_wait(NULL, &m, -1), EINVAL);
  ASSERT_ERRNO(green__cond_timedwait(&c, &m, &ts), EINVAL);
  ASSERT_ERRNO(green__cond_timedwait(&c, &m, NULL), EINVAL);
  ts.tv_nsec = 0;
  ASSERT_ERRNO(green__cond_clockwait(&c, &m, CLOCK_THREAD_CPUTIME_ID, &ts), EINVAL);
  ASSERT_ERRNO(green_cond_signal(NULL), EINVAL);
  ASSERT_ERRNO(green_cond_broadcast(NULL), EINVAL);
  ASSERT_ERRNO(green_cond_destroy(NULL), EINVAL);
  ASSERT_ERRNO(green_mutex_trylock(&m), EBUSY); /* still held after each failure */
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(green_cond_destroy(&c));
}

TEST_CASE(zero_is_initialised) {
  green_cond_t c;
  waiter_t w;
  green_t *g;
  memset(&c, 0, sizeof c);
  ASSERT_OK(green_cond_signal(&c)); /* nobody waits: nothing happens */
  ASSERT_OK(green_cond_broadcast(&c));
  g = spawn_waiter(&w, 0, wait_once, &c, -1);
  settle(&g, 1);
  ASSERT_ERRNO(green_cond_destroy(&c), EBUSY);
  signal_locked(&c);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(w.r, 0);
  ASSERT_OK(green_cond_destroy(&c));
  ASSERT_TRUE(sizeof(green_cond_t) <= 48);
}

TEST_CASE(signal_wakes_oldest_one) {
  waiter_t w[4];
  green_t *gs[4];
  int i;
  spawn_waiting(w, gs, 4, wait_once, -1);
  for (i = 0; i < 4; i++) {
    signal_locked(&cv);
    await_wakes(4, i + 1);
    ASSERT_EQ(count_wakes(4), i + 1);
    ASSERT_EQ(wakes[i], 1);
  }
  join_all(gs, 4);
  assert_woken_fifo(w, 4);
  ASSERT_OK(green_cond_destroy(&cv));
}

/* Each waiter waits again as soon as broadcast woke it: the same broadcast must not wake it
 * a second time, nor wake a greenlet that starts waiting after it. */
TEST_CASE(broadcast_wakes_current_waiters_only) {
  waiter_t w[4];
  green_t *gs[4];
  int i;
  spawn_waiting(w, gs, 3, wait_twice, -1);
  ASSERT_OK(green_mutex_lock(&mu, -1));
  ASSERT_OK(green_cond_broadcast(&cv));
  gs[3] = spawn_waiter(&w[3], 3, wait_twice, &cv, -1); /* after the broadcast */
  ASSERT_OK(green_mutex_unlock(&mu));
  ASSERT_OK(green_sleep(0.01));
  for (i = 0; i < 3; i++) ASSERT_EQ(wakes[i], 1);
  ASSERT_EQ(wakes[3], 0);
  ASSERT_OK(green_mutex_lock(&mu, -1));
  ASSERT_OK(green_cond_broadcast(&cv));
  ASSERT_OK(green_mutex_unlock(&mu));
  ASSERT_OK(green_sleep(0.01));
  for (i = 0; i < 3; i++) ASSERT_EQ(wakes[i], 2);
  ASSERT_EQ(wakes[3], 1);
  signal_locked(&cv);
  join_all(gs, 4);
  ASSERT_EQ(wakes[3], 2);
  ASSERT_OK(green_cond_destroy(&cv));
}

TEST_CASE(broadcast_fifo) {
  waiter_t w[6];
  green_t *gs[6];
  spawn_waiting(w, gs, 6, wait_once, -1);
  ASSERT_OK(green_cond_broadcast(&cv));
  join_all(gs, 6);
  assert_woken_fifo(w, 6);
}

TEST_CASE(waiters_use_one_mutex) {
  green_mutex_t other = GREEN_MUTEX_INITIALIZER;
  waiter_t w;
  green_t *g;
  g = spawn_waiter(&w, 0, wait_once, &cv, -1);
  settle(&g, 1);
  ASSERT_OK(green_mutex_lock(&other, -1));
  ASSERT_ERRNO(green_cond_wait(&cv, &other, -1), EINVAL);
  ASSERT_OK(green_mutex_unlock(&other));
  signal_locked(&cv);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_OK(green_mutex_lock(&other, -1)); /* nobody waits now: any mutex will do */
  ASSERT_ERRNO(green_cond_wait(&cv, &other, 0.001), ETIMEDOUT);
  ASSERT_OK(green_mutex_unlock(&other));
}

/* A recursive mutex is released completely for the wait and comes back at its depth. */
TEST_CASE(recursive_mutex_depth) {
  green_mutex_t m;
  green_cond_t c = GREEN_COND_INITIALIZER;
  ASSERT_OK(green_mutex_init(&m, GREEN_MUTEX_RECURSIVE));
  ASSERT_OK(green_mutex_lock(&m, -1));
  ASSERT_OK(green_mutex_lock(&m, -1));
  ASSERT_ERRNO(green_cond_wait(&c, &m, 0.01), ETIMEDOUT);
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_OK(green_mutex_unlock(&m));
  ASSERT_ERRNO(green_mutex_unlock(&m), EPERM);
  ASSERT_OK(green_mutex_destroy(&m));
}

/* ---- timeouts, deadline, kill: the mutex is held again on return ---------------------- */

TEST_CASE(timeout_reacquires) {
  waiter_t w;
  green_t *g = spawn_waiter(&w, 0, wait_once, &cv, 0.05);
  ASSERT_OK(green_join(g, NULL, -1));
  assert_failed(&w, ETIMEDOUT, 0.049, 1.5); /* wait_once checked that mu was held */
  ASSERT_OK(green_cond_destroy(&cv));
}

/* A waiter that times out while another greenlet holds the mutex returns only once it has
 * the mutex back. */
TEST_CASE(timeout_waits_for_mutex) {
  waiter_t w;
  green_t *g = spawn_waiter(&w, 0, wait_once, &cv, 0.02);
  settle(&g, 1);
  ASSERT_OK(green_mutex_lock(&mu, -1));
  ASSERT_OK(green_sleep(0.1));
  ASSERT_EQ(w.done, 0); /* timed out, queued on mu */
  ASSERT_OK(green_mutex_unlock(&mu));
  ASSERT_OK(green_join(g, NULL, -1));
  assert_failed(&w, ETIMEDOUT, 0.099, 1.5);
}

static int wait_in_deadline(waiter_t *w) {
  green_deadline_t d;
  int r, e;
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  r = wait_once(w);
  e = errno;
  ASSERT_OK(green_deadline_leave(&d));
  errno = e;
  return r;
}

TEST_CASE(deadline_reacquires) {
  waiter_t w;
  green_t *g = spawn_waiter(&w, 0, wait_in_deadline, &cv, 5.0);
  ASSERT_OK(green_join(g, NULL, -1));
  assert_failed(&w, ETIMEDOUT, 0.049, 1.5);
}

static int kill_then_calls; /* blocking calls after the wait that failed with ECANCELED */

static int wait_then_sleep(waiter_t *w) {
  int r = wait_once(w), e = errno;
  kill_then_calls = green_sleep(0.001) == -1 && errno == ECANCELED;
  errno = e;
  return r;
}

/* Killed while another greenlet holds the mutex: returns ECANCELED, holding the mutex, only
 * once that greenlet unlocks; the kill still applies to later calls. */
TEST_CASE(kill_reacquires) {
  waiter_t w;
  green_t *g = spawn_waiter(&w, 0, wait_then_sleep, &cv, -1);
  settle(&g, 1);
  ASSERT_OK(green_mutex_lock(&mu, -1));
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_sleep(0.02));
  ASSERT_EQ(w.done, 0);
  ASSERT_OK(green_kill(g)); /* killed again while waiting for the mutex: still waits */
  ASSERT_OK(green_sleep(0.02));
  ASSERT_EQ(w.done, 0);
  ASSERT_OK(green_mutex_unlock(&mu));
  ASSERT_OK(green_join(g, NULL, -1));
  assert_failed(&w, ECANCELED, 0.039, 1.5);
  ASSERT_EQ(kill_then_calls, 1);
}

/* A signalled waiter that is killed before it runs keeps the signal (returns 0); a waiter
 * that left by kill or timeout does not take a signal from the others. */
TEST_CASE(no_lost_signal) {
  waiter_t w[4];
  green_t *gs[4];
  static const int want[2] = {0, 3};
  gs[0] = spawn_waiter(&w[0], 0, wait_once, &cv, -1);
  gs[1] = spawn_waiter(&w[1], 1, wait_once, &cv, -1);
  gs[2] = spawn_waiter(&w[2], 2, wait_once, &cv, 0.01);
  gs[3] = spawn_waiter(&w[3], 3, wait_once, &cv, -1);
  settle(gs, 4);
  ASSERT_OK(green_kill(gs[1]));
  ASSERT_OK(green_sleep(0.05));
  assert_failed(&w[1], ECANCELED, 0, 1.0);
  assert_failed(&w[2], ETIMEDOUT, 0.009, 1.0);
  ASSERT_OK(green_cond_signal(&cv)); /* to #0 */
  ASSERT_OK(green_kill(gs[0]));      /* before it runs */
  ASSERT_OK(green_sleep(0.01));
  await_done(&w[0]);
  ASSERT_EQ(w[0].r, 0);
  ASSERT_EQ(w[3].done, 0);
  ASSERT_OK(green_cond_signal(&cv)); /* to #3 */
  join_all(gs, 4);
  assert_woken_order(w, want, 2);
  ASSERT_OK(green_cond_destroy(&cv));
}

/* ---- absolute times -------------------------------------------------------------------- */

TEST_CASE(timedwait_both_clocks) {
  static const clockid_t clocks[2] = {CLOCK_REALTIME, CLOCK_MONOTONIC};
  green_cond_t c;
  struct timespec at;
  double t0;
  int i;
  for (i = 0; i < 2; i++) {
    ASSERT_OK(green_cond_init(&c, clocks[i]));
    ASSERT_OK(green_mutex_lock(&mu, -1));
    t0 = test_now();
    at = abstime_in(clocks[i], 0.05);
    ASSERT_ERRNO(green__cond_timedwait(&c, &mu, &at), ETIMEDOUT);
    ASSERT_RANGE(test_now() - t0, 0.049, 1.5);
    t0 = test_now();
    at = abstime_in(clocks[1 - i], 0.05); /* the other clock, named explicitly */
    ASSERT_ERRNO(green__cond_clockwait(&c, &mu, clocks[1 - i], &at), ETIMEDOUT);
    ASSERT_RANGE(test_now() - t0, 0.049, 1.5);
    at = abstime_in(clocks[i], -1); /* passed: still releases and relocks, then fails */
    ASSERT_ERRNO(green__cond_timedwait(&c, &mu, &at), ETIMEDOUT);
    ASSERT_OK(green_mutex_unlock(&mu));
    ASSERT_OK(green_cond_destroy(&c));
  }
}

static green_cond_t mono_cv;
static struct timespec mono_at;

static int timedwait_mono(waiter_t *w) {
  int r;
  ASSERT_OK(green_mutex_lock(&mu, -1));
  r = green__cond_timedwait(&mono_cv, &mu, &mono_at);
  ASSERT_OK(green_mutex_unlock(&mu));
  (void)w;
  return r;
}

TEST_CASE(timedwait_signalled_in_time) {
  waiter_t w;
  green_t *g;
  ASSERT_OK(green_cond_init(&mono_cv, CLOCK_MONOTONIC));
  mono_at = abstime_in(CLOCK_MONOTONIC, 5.0);
  g = spawn_waiter(&w, 0, timedwait_mono, &mono_cv, -1);
  settle(&g, 1);
  ASSERT_OK(green_cond_signal(&mono_cv));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(w.r, 0);
  ASSERT_RANGE(w.took, 0, 1.0);
  ASSERT_OK(green_cond_destroy(&mono_cv));
}

/* ---- destroy --------------------------------------------------------------------------- */

TEST_CASE(destroy_with_waiters) {
  waiter_t w[2];
  green_t *gs[2];
  spawn_waiting(w, gs, 2, wait_once, -1);
  ASSERT_ERRNO(green_cond_destroy(&cv), EBUSY);
  signal_locked(&cv); /* still works */
  ASSERT_OK(green_sleep(0.001));
  ASSERT_ERRNO(green_cond_destroy(&cv), EBUSY);
  signal_locked(&cv);
  join_all(gs, 2);
  assert_woken_fifo(w, 2);
  ASSERT_OK(green_cond_destroy(&cv));
}

/* ---- many waiters, producer/consumer --------------------------------------------------- */

TEST_CASE(waiters_10k) {
  enum { N = 10000 };
  static waiter_t w[N];
  static green_t *gs[N];
  spawn_waiting(w, gs, N, wait_once, -1);
  ASSERT_OK(green_cond_signal(&cv));
  await_wakes(N, 1);
  ASSERT_EQ(count_wakes(N), 1);
  ASSERT_OK(green_cond_broadcast(&cv));
  join_all(gs, N);
  ASSERT_EQ(count_wakes(N), N);
  assert_woken_fifo(w, N);
  ASSERT_OK(green_cond_destroy(&cv));
}

/* A bounded buffer with one mutex and two conditions: 3 producers, 2 consumers. */
enum { SLOTS = 4, PER_PRODUCER = 500 };
static int buf[SLOTS], head, tail, used;
static green_cond_t not_full = GREEN_COND_INITIALIZER, not_empty = GREEN_COND_INITIALIZER;
static long long consumed_sum;
static int consumed;

static void *producer(void *arg) {
  int base = (int)(intptr_t)arg, i;
  for (i = 1; i <= PER_PRODUCER; i++) {
    ASSERT_OK(green_mutex_lock(&mu, -1));
    while (used == SLOTS) ASSERT_OK(green_cond_wait(&not_full, &mu, -1));
    buf[tail] = base + i;
    tail = (tail + 1) % SLOTS;
    used++;
    ASSERT_OK(green_cond_signal(&not_empty));
    ASSERT_OK(green_mutex_unlock(&mu));
    if (i % 7 == 0) green_yield();
  }
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  for (;;) {
    ASSERT_OK(green_mutex_lock(&mu, -1));
    while (used == 0 && consumed < 3 * PER_PRODUCER)
      ASSERT_OK(green_cond_wait(&not_empty, &mu, -1));
    if (consumed == 3 * PER_PRODUCER) {
      ASSERT_OK(green_cond_broadcast(&not_empty)); /* the other consumer ends too */
      ASSERT_OK(green_mutex_unlock(&mu));
      return NULL;
    }
    consumed_sum += buf[head];
    head = (head + 1) % SLOTS;
    used--;
    if (++consumed == 3 * PER_PRODUCER) ASSERT_OK(green_cond_broadcast(&not_empty));
    ASSERT_OK(green_cond_signal(&not_full));
    ASSERT_OK(green_mutex_unlock(&mu));
  }
}

TEST_CASE(producer_consumer) {
  green_t *gs[5];
  long long want = 0;
  int p, i;
  for (p = 0; p < 3; p++) {
    ASSERT_TRUE((gs[p] = spread_spawn(producer, (void *)(intptr_t)(p * 1000))) != NULL);
    for (i = 1; i <= PER_PRODUCER; i++) want += p * 1000 + i;
  }
  for (i = 3; i < 5; i++) ASSERT_TRUE((gs[i] = spread_spawn(consumer, NULL)) != NULL);
  join_all(gs, 5);
  ASSERT_EQ(consumed, 3 * PER_PRODUCER);
  ASSERT_EQ(consumed_sum, want);
  ASSERT_EQ(used, 0);
  ASSERT_OK(green_cond_destroy(&not_full));
  ASSERT_OK(green_cond_destroy(&not_empty));
}

/* Nobody could ever signal: the main greenlet's wait fails with EDEADLK, the mutex held. */
TEST_CASE(nobody_to_signal_reports_deadlock) {
  ASSERT_OK(green_mutex_lock(&mu, -1));
  ASSERT_ERRNO(green_cond_wait(&cv, &mu, -1), EDEADLK);
  ASSERT_OK(green_mutex_unlock(&mu));
  ASSERT_OK(green_cond_destroy(&cv));
}
