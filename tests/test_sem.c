/* SPDX-License-Identifier: MIT */
/* Semaphores: counting, limits, FIFO hand-off of posts, timeouts on both clocks, kill,
 * destroy while waited on, 10,000 waiters, producer/consumer. */
#include "sync_test.h"

static int sem_wait_call(waiter_t *w) { return green_sem_wait(w->obj, w->timeout); }
static int sem_timedwait_call(waiter_t *w) { /* id: the clock; obj2: the time */
  return green__sem_timedwait(w->obj, (clockid_t)w->id, w->obj2);
}

static int value(green_sem_t *s) {
  int v = -1;
  ASSERT_OK(green_sem_getvalue(s, &v));
  return v;
}

TEST_CASE(counting) {
  green_sem_t s;
  int i;
  ASSERT_OK(green_sem_init(&s, 3));
  ASSERT_EQ(value(&s), 3);
  for (i = 0; i < 3; i++) ASSERT_OK(green_sem_trywait(&s));
  ASSERT_ERRNO(green_sem_trywait(&s), EAGAIN);
  ASSERT_ERRNO(green_sem_wait(&s, 0), ETIMEDOUT);
  ASSERT_OK(green_sem_post(&s));
  ASSERT_OK(green_sem_post(&s));
  ASSERT_EQ(value(&s), 2);
  ASSERT_OK(green_sem_wait(&s, -1));
  ASSERT_OK(green_sem_wait(&s, 0));
  ASSERT_EQ(value(&s), 0);
  ASSERT_OK(green_sem_destroy(&s));
}

TEST_CASE(zero_is_initialised) {
  static green_sem_t st = GREEN_SEM_INITIALIZER;
  green_sem_t s;
  memset(&s, 0, sizeof s);
  ASSERT_EQ(value(&s), 0);
  ASSERT_ERRNO(green_sem_trywait(&s), EAGAIN);
  ASSERT_OK(green_sem_post(&s));
  ASSERT_OK(green_sem_trywait(&s));
  ASSERT_OK(green_sem_post(&st));
  ASSERT_EQ(value(&st), 1);
  ASSERT_TRUE(sizeof(green_sem_t) <= 32);
}

TEST_CASE(limits_and_invalid) {
  green_sem_t s;
  struct timespec ts = {0, -1};
  int v;
  ASSERT_ERRNO(green_sem_init(&s, (unsigned)GREEN_SEM_VALUE_MAX + 1), EINVAL);
  ASSERT_ERRNO(green_sem_init(NULL, 0), EINVAL);
  ASSERT_OK(green_sem_init(&s, GREEN_SEM_VALUE_MAX));
  ASSERT_ERRNO(green_sem_post(&s), EOVERFLOW);
  ASSERT_EQ(value(&s), GREEN_SEM_VALUE_MAX);
  ASSERT_ERRNO(green_sem_wait(&s, NAN), EINVAL);
  ASSERT_ERRNO(green__sem_timedwait(&s, CLOCK_MONOTONIC, &ts), EINVAL);
  ts.tv_nsec = 1000000000;
  ASSERT_ERRNO(green__sem_timedwait(&s, CLOCK_REALTIME, &ts), EINVAL);
  ts.tv_nsec = 0;
  ASSERT_ERRNO(green__sem_timedwait(&s, CLOCK_BOOTTIME, &ts), EINVAL);
  ASSERT_ERRNO(green__sem_timedwait(&s, CLOCK_MONOTONIC, NULL), EINVAL);
  ASSERT_EQ(value(&s), GREEN_SEM_VALUE_MAX); /* no failed call took a unit */
  ASSERT_ERRNO(green_sem_wait(NULL, -1), EINVAL);
  ASSERT_ERRNO(green_sem_trywait(NULL), EINVAL);
  ASSERT_ERRNO(green_sem_post(NULL), EINVAL);
  ASSERT_ERRNO(green_sem_getvalue(NULL, &v), EINVAL);
  ASSERT_ERRNO(green_sem_getvalue(&s, NULL), EINVAL);
  ASSERT_ERRNO(green_sem_destroy(NULL), EINVAL);
  ASSERT_OK(green_sem_destroy(&s));
}

/* Each post goes to the oldest waiter, before it runs: the value stays 0 and the poster
 * cannot take the unit back. */
TEST_CASE(post_hands_off_fifo) {
  green_sem_t s = GREEN_SEM_INITIALIZER;
  waiter_t w[5];
  green_t *gs[5];
  int i;
  for (i = 0; i < 5; i++) {
    gs[i] = spawn_waiter(&w[i], i, sem_wait_call, &s, -1);
    settle(gs, i + 1);
  }
  ASSERT_OK(green_sem_post(&s));
  ASSERT_EQ(value(&s), 0);
  ASSERT_ERRNO(green_sem_trywait(&s), EAGAIN);
  for (i = 1; i < 5; i++) ASSERT_OK(green_sem_post(&s));
  join_all(gs, 5);
  assert_woken_fifo(w, 5);
  ASSERT_EQ(value(&s), 0);
  ASSERT_OK(green_sem_destroy(&s));
}

TEST_CASE(timeout_and_deadline) {
  green_sem_t s = GREEN_SEM_INITIALIZER;
  green_deadline_t d;
  waiter_t w;
  green_t *g = spawn_waiter(&w, 0, sem_wait_call, &s, 0.05);
  double t0;
  ASSERT_OK(green_join(g, NULL, -1));
  assert_failed(&w, ETIMEDOUT, 0.049, 1.5);
  t0 = test_now();
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  ASSERT_ERRNO(green_sem_wait(&s, 5.0), ETIMEDOUT);
  ASSERT_TRUE(green_deadline_expired(&d));
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_RANGE(test_now() - t0, 0.049, 1.5);
  ASSERT_OK(green_sem_post(&s)); /* nobody waits any more: the unit is kept */
  ASSERT_EQ(value(&s), 1);
  ASSERT_OK(green_sem_destroy(&s));
}

TEST_CASE(timedwait_both_clocks) {
  static const clockid_t clocks[2] = {CLOCK_REALTIME, CLOCK_MONOTONIC};
  green_sem_t s = GREEN_SEM_INITIALIZER;
  struct timespec at;
  waiter_t w;
  green_t *g;
  double t0;
  int i;
  for (i = 0; i < 2; i++) {
    t0 = test_now();
    at = abstime_in(clocks[i], 0.05);
    g = spawn_waiter_full(&w, (int)clocks[i], sem_timedwait_call, &s, &at, NULL, -1);
    ASSERT_OK(green_join(g, NULL, -1));
    assert_failed(&w, ETIMEDOUT, 0, 1.5);
    ASSERT_RANGE(w.end - t0, 0.049, 1.5); /* not before the time */
    at = abstime_in(clocks[i], 5.0);
    g = spawn_waiter_full(&w, (int)clocks[i], sem_timedwait_call, &s, &at, NULL, -1);
    settle(&g, 1);
    ASSERT_OK(green_sem_post(&s));
    ASSERT_OK(green_join(g, NULL, -1));
    ASSERT_EQ(w.r, 0);
    ASSERT_RANGE(w.took, 0, 1.0);
    ASSERT_OK(green_sem_post(&s));
    at = abstime_in(clocks[i], -1); /* passed, but a unit is there: no wait, success */
    ASSERT_OK(green__sem_timedwait(&s, clocks[i], &at));
    ASSERT_ERRNO(green__sem_timedwait(&s, clocks[i], &at), ETIMEDOUT);
  }
  ASSERT_OK(green_sem_destroy(&s));
}

/* Killed and timed-out waiters leave the queue; the posts reach the others, in order. */
TEST_CASE(kill_loses_no_post) {
  green_sem_t s = GREEN_SEM_INITIALIZER;
  waiter_t w[4];
  green_t *gs[4];
  static const int want[2] = {0, 3};
  int i;
  for (i = 0; i < 4; i++) {
    gs[i] = spawn_waiter(&w[i], i, sem_wait_call, &s, i == 2 ? 0.02 : -1);
    settle(gs, i + 1);
  }
  ASSERT_OK(green_kill(gs[1]));
  ASSERT_OK(green_sleep(0.05));
  assert_failed(&w[1], ECANCELED, 0, 1.0);
  assert_failed(&w[2], ETIMEDOUT, 0.019, 1.0);
  ASSERT_OK(green_sem_post(&s));
  ASSERT_OK(green_kill(gs[0])); /* handed a unit before it runs: keeps it */
  ASSERT_OK(green_sem_post(&s));
  join_all(gs, 4);
  assert_woken_order(w, want, 2);
  ASSERT_EQ(w[0].r, 0);
  ASSERT_EQ(value(&s), 0);
  ASSERT_OK(green_sem_destroy(&s));
}

TEST_CASE(destroy_with_waiters) {
  green_sem_t s;
  waiter_t w[2];
  green_t *gs[2];
  int i;
  ASSERT_OK(green_sem_init(&s, 0));
  for (i = 0; i < 2; i++) gs[i] = spawn_waiter(&w[i], i, sem_wait_call, &s, -1);
  settle(gs, 2);
  ASSERT_ERRNO(green_sem_destroy(&s), EBUSY);
  ASSERT_OK(green_sem_post(&s)); /* still works */
  ASSERT_ERRNO(green_sem_destroy(&s), EBUSY);
  ASSERT_OK(green_sem_post(&s));
  join_all(gs, 2);
  assert_woken_fifo(w, 2);
  ASSERT_OK(green_sem_destroy(&s));
}

TEST_CASE(waiters_10k) {
  enum { N = 10000 };
  static waiter_t w[N];
  static green_t *gs[N];
  green_sem_t s = GREEN_SEM_INITIALIZER;
  int i;
  for (i = 0; i < N; i++) gs[i] = spawn_waiter(&w[i], i, sem_wait_call, &s, -1);
  settle(gs, N);
  for (i = 0; i < N; i++) ASSERT_OK(green_sem_post(&s));
  join_all(gs, N);
  assert_woken_fifo(w, N);
  ASSERT_EQ(value(&s), 0);
  ASSERT_OK(green_sem_destroy(&s));
}

/* A ring buffer guarded by two semaphores (free slots, filled slots) and a binary one:
 * 3 producers, 2 consumers; every item arrives exactly once. */
enum { SLOTS = 4, PER_PRODUCER = 500, ITEMS = 3 * PER_PRODUCER };
static green_sem_t free_slots, filled, guard;
static int ring[SLOTS], ring_head, ring_tail;
static long long got_sum;
static int got;

static void *produce(void *arg) {
  int base = (int)(intptr_t)arg, i;
  for (i = 1; i <= PER_PRODUCER; i++) {
    ASSERT_OK(green_sem_wait(&free_slots, -1));
    ASSERT_OK(green_sem_wait(&guard, -1));
    ring[ring_tail] = base + i;
    ring_tail = (ring_tail + 1) % SLOTS;
    if (i % 5 == 0) green_yield(); /* inside the guarded section: the guard must hold */
    ASSERT_OK(green_sem_post(&guard));
    ASSERT_OK(green_sem_post(&filled));
  }
  return NULL;
}

static void *consume(void *arg) {
  int n = (int)(intptr_t)arg;
  while (n--) {
    ASSERT_OK(green_sem_wait(&filled, -1));
    ASSERT_OK(green_sem_wait(&guard, -1));
    got_sum += ring[ring_head];
    ring_head = (ring_head + 1) % SLOTS;
    got++;
    ASSERT_OK(green_sem_post(&guard));
    ASSERT_OK(green_sem_post(&free_slots));
  }
  return NULL;
}

TEST_CASE(producer_consumer) {
  green_t *gs[5];
  long long want = 0;
  int p, i;
  ASSERT_OK(green_sem_init(&free_slots, SLOTS));
  ASSERT_OK(green_sem_init(&filled, 0));
  ASSERT_OK(green_sem_init(&guard, 1));
  for (p = 0; p < 3; p++) {
    ASSERT_TRUE((gs[p] = spread_spawn(produce, (void *)(intptr_t)(p * 1000))) != NULL);
    for (i = 1; i <= PER_PRODUCER; i++) want += p * 1000 + i;
  }
  ASSERT_TRUE((gs[3] = spread_spawn(consume, (void *)(intptr_t)(ITEMS / 2))) != NULL);
  ASSERT_TRUE((gs[4] = spread_spawn(consume, (void *)(intptr_t)(ITEMS - ITEMS / 2))) != NULL);
  join_all(gs, 5);
  ASSERT_EQ(got, ITEMS);
  ASSERT_EQ(got_sum, want);
  ASSERT_EQ(value(&free_slots), SLOTS);
  ASSERT_EQ(value(&filled), 0);
  ASSERT_EQ(value(&guard), 1);
  ASSERT_OK(green_sem_destroy(&free_slots));
  ASSERT_OK(green_sem_destroy(&filled));
  ASSERT_OK(green_sem_destroy(&guard));
}
