/* SPDX-License-Identifier: MIT */
/* Callbacks on the hub: call_soon order and fairness, call_later/call_at order, cancel, what a
 * blocking call does inside a callback, and the deadlock detection around pending calls. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#include "test.h"

enum { LOG_MAX = 100000 };
static int log_v[LOG_MAX];
static int log_n;

static void log_id(void *arg) {
  if (log_n < LOG_MAX) log_v[log_n++] = (int)(intptr_t)arg;
}

/* ---- soon ------------------------------------------------------------------------------ */

TEST_CASE(soon_fifo) {
  enum { N = 1000 };
  int i;
  for (i = 0; i < N; i++) ASSERT_NE(green_call_soon(log_id, (void *)(intptr_t)i), 0);
  ASSERT_EQ(log_n, 0); /* not run by scheduling */
  green_yield();
  ASSERT_EQ(log_n, N);
  for (i = 0; i < N; i++) ASSERT_EQ(log_v[i], i);
}

TEST_CASE(soon_100k) {
  enum { N = 100000 };
  int i;
  for (i = 0; i < N; i++) {
    if (!green_call_soon(log_id, (void *)(intptr_t)i)) TEST_FAIL("call %d: %s", i, strerror(errno));
  }
  ASSERT_OK(green_sleep(0));
  ASSERT_EQ(log_n, N);
  for (i = 0; i < N; i++) {
    if (log_v[i] != i) TEST_FAIL("log[%d] = %d", i, log_v[i]);
  }
}

/* Greenlet ids 1 and 2 log 10+id before and 20+id after one yield; greenlet 1 schedules a
 * callback logging 99 first: it runs after 2's first turn and before 1's second. */
static void *turns(void *arg) {
  int id = (int)(intptr_t)arg;
  if (id == 1) ASSERT_NE(green_call_soon(log_id, (void *)(intptr_t)99), 0);
  log_id((void *)(intptr_t)(10 + id));
  green_yield();
  log_id((void *)(intptr_t)(20 + id));
  return NULL;
}

TEST_CASE(soon_in_turn_with_greenlets) {
  static const int want[] = {11, 12, 99, 21, 22};
  green_t *gs[2];
  int i;
  for (i = 0; i < 2; i++) ASSERT_TRUE((gs[i] = green_spawn(turns, (void *)(intptr_t)(i + 1))));
  ASSERT_OK(green_joinall(gs, 2, -1));
  ASSERT_EQ(log_n, 5);
  for (i = 0; i < 5; i++) ASSERT_EQ(log_v[i], want[i]);
}

/* Two greenlets yield to each other for many rounds: a callback scheduled by one of them
 * runs within a round, without a poll of the loop. */
enum { SPIN_ROUNDS = 10000 };
static int spin_round[2];
static int cb_round = -1;

static void note_round(void *arg) {
  (void)arg;
  cb_round = spin_round[0];
}

static void *spinner(void *arg) {
  int id = (int)(intptr_t)arg;
  for (spin_round[id] = 0; spin_round[id] < SPIN_ROUNDS; spin_round[id]++) {
    if (id == 0 && spin_round[id] == 100) ASSERT_NE(green_call_soon(note_round, NULL), 0);
    green_yield();
  }
  return NULL;
}

TEST_CASE(soon_not_starved_by_yielders) {
  green_t *gs[2];
  int i;
  for (i = 0; i < 2; i++) ASSERT_TRUE((gs[i] = green_spawn(spinner, (void *)(intptr_t)i)));
  ASSERT_OK(green_joinall(gs, 2, -1));
  ASSERT_EQ(cb_round, 100); /* it ran before greenlet 0 came back from that round's yield */
}

/* A soon call costs no loop iteration (no system call): 1,000 of them, each followed by a
 * yield, poll far fewer than 1,000 times. Only the fairness poll may come in, at most once
 * per 2 ms of running (or of being descheduled on a busy machine) and 256 switches. */
TEST_CASE(soon_no_poll) {
  enum { N = 1000 };
  green_stats_t before, after;
  double t0 = test_now();
  int i;
  ASSERT_OK(green_stats(&before));
  for (i = 0; i < N; i++) {
    ASSERT_NE(green_call_soon(log_id, (void *)(intptr_t)i), 0);
    green_yield();
    ASSERT_EQ(log_n, i + 1);
  }
  ASSERT_OK(green_stats(&after));
  ASSERT_LT(after.polls - before.polls, N / 2);
  ASSERT_LE(after.polls - before.polls, (test_now() - t0) / 0.002 + N / 256 + 2);
  ASSERT_EQ(after.ready, 0);
}

/* A callback that schedules itself again and again must not keep timers (the loop) away. */
static int resched_count, resched_stop;

static void resched(void *arg) {
  resched_count++;
  if (!resched_stop) ASSERT_NE(green_call_soon(resched, arg), 0);
}

TEST_CASE(soon_rescheduling_does_not_starve_loop) {
  double t0 = test_now();
  int n;
  ASSERT_NE(green_call_soon(resched, NULL), 0);
  ASSERT_OK(green_sleep(0.02)); /* its timer needs polls of the loop */
  ASSERT_RANGE(test_now() - t0, 0.019, 5.0);
  n = resched_count;
  ASSERT_GE(n, 1);
  ASSERT_OK(green_sleep(0.005));
  ASSERT_GT(resched_count, n); /* it kept going meanwhile */
  resched_stop = 1;
  ASSERT_OK(green_sleep(0.001)); /* let the last one run */
}

/* ---- later and at -------------------------------------------------------------------- */

typedef struct timed {
  int id;
  double due;   /* green_now() it was due at */
  double ran;
} timed_t;

static timed_t *ran_order[64];
static int nran;

static void timed_cb(void *arg) {
  timed_t *t = arg;
  t->ran = green_now();
  ran_order[nran++] = t;
}

TEST_CASE(later_time_order) {
  static const double delays[] = {0.03, 0.01, 0.02, 0.01, 0.0, 0.02};
  static const int want[] = {4, 1, 3, 2, 5, 0}; /* by time, then by scheduling */
  timed_t t[6];
  double now = green_now();
  int i;
  for (i = 0; i < 6; i++) {
    t[i].id = i;
    t[i].due = now + delays[i];
    ASSERT_NE(green_call_at(t[i].due, timed_cb, &t[i]), 0);
  }
  ASSERT_OK(green_sleep(0.06));
  ASSERT_EQ(nran, 6);
  for (i = 0; i < 6; i++) {
    ASSERT_EQ(ran_order[i]->id, want[i]);
    ASSERT_TRUE(ran_order[i]->ran >= ran_order[i]->due); /* never early */
  }
}

TEST_CASE(later_not_early) {
  timed_t t = {0, 0, 0};
  double t0 = green_now();
  t.due = t0 + 0.03;
  ASSERT_NE(green_call_later(0.03, timed_cb, &t), 0);
  while (nran == 0 && test_now() < t0 + 5) ASSERT_OK(green_sleep(0.01));
  ASSERT_RANGE(t.ran - t0, 0.03, 2.0);
}

TEST_CASE(at_past_runs_at_next_poll) {
  timed_t t = {0, 0, 0};
  ASSERT_NE(green_call_at(green_now() - 10, timed_cb, &t), 0);
  ASSERT_EQ(nran, 0);
  ASSERT_OK(green_sleep(0.001));
  ASSERT_EQ(nran, 1);
}

/* 10,000 timed calls at scattered times run in (time, scheduling) order. */
enum { MANY = 10000 };
static double many_at[MANY];
static int many_seen[MANY], many_n;

static void many_cb(void *arg) { many_seen[many_n++] = (int)(intptr_t)arg; }

TEST_CASE(later_10000_ordered) {
  double now = green_now();
  unsigned seed = 12345;
  int i;
  for (i = 0; i < MANY; i++) {
    seed = seed * 1103515245u + 12345u;
    many_at[i] = now + 0.001 * (double)((seed >> 16) % 50); /* many equal times */
    ASSERT_NE(green_call_at(many_at[i], many_cb, (void *)(intptr_t)i), 0);
  }
  ASSERT_OK(green_sleep(0.1));
  ASSERT_EQ(many_n, MANY);
  for (i = 1; i < MANY; i++) {
    int a = many_seen[i - 1], b = many_seen[i];
    if (many_at[a] > many_at[b] || (many_at[a] == many_at[b] && a > b))
      TEST_FAIL("call %d (at %.3f) ran before call %d (at %.3f)", a, many_at[a], b, many_at[b]);
  }
}

/* A timed callback that schedules itself at once waits for the next round. */
static int tick_count;

static void tick_self(void *arg) {
  (void)arg;
  if (++tick_count < 1000) ASSERT_NE(green_call_later(0, tick_self, NULL), 0);
}

TEST_CASE(later_zero_rescheduling) {
  ASSERT_NE(green_call_later(0, tick_self, NULL), 0);
  while (tick_count < 1000) ASSERT_OK(green_sleep(0.001));
  ASSERT_EQ(tick_count, 1000);
}

/* ---- cancel -------------------------------------------------------------------------- */

TEST_CASE(cancel) {
  green_call_t a, b, c, d;
  ASSERT_TRUE((a = green_call_soon(log_id, (void *)(intptr_t)1)));
  ASSERT_TRUE((b = green_call_soon(log_id, (void *)(intptr_t)2)));
  ASSERT_TRUE((c = green_call_later(0.01, log_id, (void *)(intptr_t)3)));
  ASSERT_TRUE((d = green_call_later(0.02, log_id, (void *)(intptr_t)4)));
  ASSERT_OK(green_call_cancel(b));
  ASSERT_OK(green_call_cancel(c));
  ASSERT_ERRNO(green_call_cancel(b), ESRCH); /* cancelled already */
  ASSERT_OK(green_sleep(0.05));
  ASSERT_EQ(log_n, 2);
  ASSERT_EQ(log_v[0], 1);
  ASSERT_EQ(log_v[1], 4);
  ASSERT_ERRNO(green_call_cancel(a), ESRCH); /* it ran */
  ASSERT_ERRNO(green_call_cancel(d), ESRCH);
  ASSERT_ERRNO(green_call_cancel(0), EINVAL);
  ASSERT_ERRNO(green_call_cancel(~0ull), ESRCH);
}

TEST_CASE(cancel_all_soon_leaves_no_trace) {
  green_stats_t st;
  green_call_t a = green_call_soon(log_id, NULL);
  ASSERT_NE(a, 0);
  ASSERT_OK(green_call_cancel(a));
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.ready, 0);
  ASSERT_OK(green_sleep(0.001));
  ASSERT_EQ(log_n, 0);
}

/* A stale handle does not cancel the call that reuses its record. */
TEST_CASE(cancel_stale_handle) {
  green_call_t a = green_call_soon(log_id, (void *)(intptr_t)1), b;
  ASSERT_NE(a, 0);
  ASSERT_OK(green_call_cancel(a));
  ASSERT_TRUE((b = green_call_soon(log_id, (void *)(intptr_t)2))); /* same record */
  ASSERT_NE(a, b);
  ASSERT_ERRNO(green_call_cancel(a), ESRCH);
  green_yield();
  ASSERT_EQ(log_n, 1);
  ASSERT_EQ(log_v[0], 2);
}

static green_call_t self_handle;
static int self_cancel_r, self_cancel_err;

static void cancel_self(void *arg) {
  (void)arg;
  self_cancel_r = green_call_cancel(self_handle);
  self_cancel_err = errno;
}

TEST_CASE(cancel_from_inside_itself) {
  ASSERT_TRUE((self_handle = green_call_soon(cancel_self, NULL)));
  green_yield();
  ASSERT_EQ(self_cancel_r, -1);
  ASSERT_EQ(self_cancel_err, ESRCH);
}

/* One callback cancels a later one of the same batch, and one of the timed calls. */
static green_call_t victims[2];

static void cancel_victims(void *arg) {
  (void)arg;
  ASSERT_OK(green_call_cancel(victims[0]));
  ASSERT_OK(green_call_cancel(victims[1]));
}

TEST_CASE(cancel_from_callback) {
  ASSERT_NE(green_call_soon(cancel_victims, NULL), 0);
  ASSERT_TRUE((victims[0] = green_call_soon(log_id, (void *)(intptr_t)1)));
  ASSERT_TRUE((victims[1] = green_call_later(5, log_id, (void *)(intptr_t)2)));
  ASSERT_NE(green_call_soon(log_id, (void *)(intptr_t)3), 0);
  ASSERT_OK(green_sleep(0.02));
  ASSERT_EQ(log_n, 1);
  ASSERT_EQ(log_v[0], 3);
  ASSERT_ERRNO(green_call_cancel(victims[1]), ESRCH); /* no longer pending */
}

typedef struct foreign {
  green_call_t handle;
  int stage;
  pthread_mutex_t mu;
  pthread_cond_t cv;
} foreign_t;

static void *foreign_thread(void *arg) {
  foreign_t *f = arg;
  pthread_mutex_lock(&f->mu);
  f->handle = green_call_later(10, log_id, NULL);
  f->stage = 1;
  pthread_cond_broadcast(&f->cv);
  while (f->stage != 2) pthread_cond_wait(&f->cv, &f->mu);
  pthread_mutex_unlock(&f->mu);
  ASSERT_OK(green_call_cancel(f->handle)); /* its own hub can */
  return NULL;
}

TEST_CASE(cancel_other_hubs_handle) {
  foreign_t f = {0, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
  pthread_t t;
  green_call_t mine = green_call_later(10, log_id, NULL); /* this hub has a pending call too */
  ASSERT_NE(mine, 0);
  ASSERT_EQ(pthread_create(&t, NULL, foreign_thread, &f), 0);
  pthread_mutex_lock(&f.mu);
  while (f.stage != 1) pthread_cond_wait(&f.cv, &f.mu);
  pthread_mutex_unlock(&f.mu);
  ASSERT_NE(f.handle, 0);
  ASSERT_ERRNO(green_call_cancel(f.handle), ESRCH);
  pthread_mutex_lock(&f.mu);
  f.stage = 2;
  pthread_cond_broadcast(&f.cv);
  pthread_mutex_unlock(&f.mu);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_OK(green_call_cancel(mine));
}

/* ---- callbacks must not block ---------------------------------------------------------- */

typedef struct blocked {
  int fd;
  green_t *running;
  int r[5], err[5];
  int sleep0;
  int done;
} blocked_t;

static void try_blocking(void *arg) {
  blocked_t *b = arg;
  char c;
  green_future_t *f = green_future_new();
  green_deadline_t d;
  ASSERT_PTR_NE(f, NULL);
  b->r[0] = green_sleep(0.01);
  b->err[0] = errno;
  b->r[1] = green_future_get(f, NULL, -1);
  b->err[1] = errno;
  b->r[2] = green_join(b->running, NULL, -1);
  b->err[2] = errno;
  b->r[3] = (int)green_read(b->fd, &c, 1);
  b->err[3] = errno;
  b->r[4] = green_wait_fd(b->fd, GREEN_READ, 1.0);
  b->err[4] = errno;
  green_yield(); /* nothing to yield to: returns */
  b->sleep0 = green_sleep(0);
  ASSERT_OK(green_deadline_enter(&d, 1.0));
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_OK(green_future_free(f));
  b->done = 1;
}

static void *sleep_a_bit(void *arg) {
  (void)arg;
  ASSERT_OK(green_sleep(0.05));
  return NULL;
}

TEST_CASE(callback_blocking_call_fails) {
  blocked_t b;
  int p[2], i;
  ASSERT_OK(pipe(p));
  memset(&b, 0, sizeof b);
  b.fd = p[0];
  ASSERT_TRUE((b.running = green_spawn(sleep_a_bit, NULL)));
  ASSERT_NE(green_call_soon(try_blocking, &b), 0);
  ASSERT_OK(green_sleep(0.001));
  ASSERT_EQ(b.done, 1);
  for (i = 0; i < 5; i++) {
    if (b.r[i] != -1 || b.err[i] != EPERM)
      TEST_FAIL("call %d in a callback: %d (%s), expected -1 EPERM", i, b.r[i], strerror(b.err[i]));
  }
  ASSERT_EQ(b.sleep0, 0);
  /* the hub goes on working: the greenlet the callback tried to join can still be joined */
  ASSERT_OK(green_join(b.running, NULL, -1));
  ASSERT_OK(green_close(p[0]));
  ASSERT_OK(close(p[1]));
}

/* ---- deadlock detection ------------------------------------------------------------------ */

static void set_future(void *arg) { ASSERT_OK(green_future_set(arg, (void *)(intptr_t)7)); }

TEST_CASE(pending_calls_are_not_a_deadlock) {
  green_future_t *f = green_future_new();
  void *v = NULL;
  ASSERT_PTR_NE(f, NULL);
  ASSERT_NE(green_call_later(0.02, set_future, f), 0);
  ASSERT_OK(green_future_get(f, &v, -1)); /* only the timed call can wake main */
  ASSERT_EQ((intptr_t)v, 7);
  ASSERT_OK(green_future_free(f));
  ASSERT_TRUE((f = green_future_new()));
  ASSERT_NE(green_call_soon(set_future, f), 0);
  ASSERT_OK(green_future_get(f, &v, -1));
  ASSERT_OK(green_future_free(f));
  /* nothing pending any more: waiting forever is reported */
  ASSERT_TRUE((f = green_future_new()));
  ASSERT_ERRNO(green_future_get(f, NULL, -1), EDEADLK);
  ASSERT_OK(green_future_free(f));
}

TEST_CASE(bad_arguments) {
  ASSERT_EQ(green_call_soon(NULL, NULL), 0);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_EQ(green_call_later(-1, log_id, NULL), 0);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_EQ(green_call_later(NAN, log_id, NULL), 0);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_EQ(green_call_later(INFINITY, log_id, NULL), 0);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_EQ(green_call_at(NAN, log_id, NULL), 0);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_EQ(green_call_at(1.0, NULL, NULL), 0);
  ASSERT_EQ(errno, EINVAL);
}
