/* SPDX-License-Identifier: MIT */
/* Pools: never more than N members at once, spawners park (timeout, kill) and get places in
 * the order they came, join, kill, free while busy, 10,000 spawns. */
#include <math.h>
#include <stdint.h>

#include "test.h"

static int running, max_running, finished;

/* Counts how many run at once; sleeps arg milliseconds (0: yields). */
static void *work(void *arg) {
  if (++running > max_running) max_running = running;
  ASSERT_OK(green_sleep((double)(intptr_t)arg / 1000));
  running--;
  finished++;
  return NULL;
}

static void *sleep_long(void *arg) {
  (void)arg;
  green_sleep(10);
  return NULL;
}

TEST_CASE(concurrency_bounded) {
  enum { N = 4, JOBS = 100 };
  green_pool_t *p = green_pool_new(N);
  int i;
  ASSERT_PTR_NE(p, NULL);
  for (i = 0; i < JOBS; i++) {
    ASSERT_TRUE(green_pool_spawn(p, work, (void *)(intptr_t)(1 + i % 3), -1));
    ASSERT_LE(green_pool_size(p), N);
  }
  ASSERT_OK(green_pool_join(p, -1));
  ASSERT_EQ(finished, JOBS);
  ASSERT_EQ(max_running, N); /* reached, never exceeded */
  ASSERT_EQ(green_pool_size(p), 0);
  ASSERT_OK(green_pool_free(p));
}

TEST_CASE(spawn_timeout) {
  green_pool_t *p = green_pool_new(1);
  green_t *g;
  double t0;
  ASSERT_PTR_NE(p, NULL);
  ASSERT_TRUE((g = green_pool_spawn(p, sleep_long, NULL, -1)));
  t0 = test_now();
  ASSERT_EQ(green_pool_spawn(p, work, NULL, 0.05), NULL);
  ASSERT_EQ(errno, ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 2.0);
  ASSERT_EQ(green_pool_spawn(p, work, NULL, 0), NULL); /* full: a zero timeout fails at once */
  ASSERT_EQ(errno, ETIMEDOUT);
  ASSERT_EQ(green_pool_size(p), 1);
  ASSERT_OK(green_pool_kill(p));
  ASSERT_OK(green_pool_join(p, -1));
  ASSERT_TRUE(green_pool_spawn(p, work, NULL, 0)); /* the place came free */
  ASSERT_OK(green_pool_join(p, -1));
  ASSERT_OK(green_pool_free(p));
}

typedef struct spawner {
  green_pool_t *p;
  int id;
  int r, err;
} spawner_t;

static int order[16], norder;

static void *log_start(void *arg) {
  order[norder++] = (int)(intptr_t)arg;
  return NULL;
}

static void *spawn_fn(void *arg) {
  spawner_t *s = arg;
  green_t *g = green_pool_spawn(s->p, log_start, (void *)(intptr_t)s->id, -1);
  s->r = g ? 0 : -1;
  s->err = errno;
  return NULL;
}

TEST_CASE(spawners_fifo) {
  enum { N = 10 };
  green_pool_t *p = green_pool_new(1);
  spawner_t s[N];
  green_t *t[N];
  int i;
  ASSERT_PTR_NE(p, NULL);
  ASSERT_TRUE(green_pool_spawn(p, work, (void *)(intptr_t)20, -1));
  for (i = 0; i < N; i++) {
    s[i].p = p;
    s[i].id = i;
    s[i].r = 1;
    ASSERT_TRUE((t[i] = green_spawn(spawn_fn, &s[i])));
  }
  green_yield(); /* all park: the pool is full */
  ASSERT_ERRNO(green_pool_free(p), EBUSY);
  /* a spawn that did not wait does not jump the queue */
  ASSERT_EQ(green_pool_spawn(p, log_start, (void *)(intptr_t)99, 0), NULL);
  ASSERT_EQ(errno, ETIMEDOUT);
  ASSERT_OK(green_joinall(t, N, -1));
  ASSERT_OK(green_pool_join(p, -1));
  ASSERT_EQ(norder, N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(s[i].r, 0);
    ASSERT_EQ(order[i], i);
  }
  ASSERT_OK(green_pool_free(p));
}

TEST_CASE(kill_parked_spawner) {
  green_pool_t *p = green_pool_new(1);
  spawner_t s = {p, 0, 1, 0};
  green_t *t;
  ASSERT_PTR_NE(p, NULL);
  ASSERT_TRUE(green_pool_spawn(p, work, (void *)(intptr_t)30, -1));
  ASSERT_TRUE((t = green_spawn(spawn_fn, &s)));
  green_yield();
  ASSERT_OK(green_kill(t));
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(s.r, -1);
  ASSERT_EQ(s.err, ECANCELED);
  ASSERT_OK(green_pool_join(p, -1));
  ASSERT_EQ(norder, 0); /* it never spawned */
  ASSERT_TRUE(green_pool_spawn(p, log_start, (void *)(intptr_t)1, 0)); /* no place was lost */
  ASSERT_OK(green_pool_join(p, -1));
  ASSERT_EQ(norder, 1);
  ASSERT_OK(green_pool_free(p));
}

typedef struct pjoiner {
  green_pool_t *p;
  int r, err;
} pjoiner_t;

static void *pool_join_fn(void *arg) {
  pjoiner_t *j = arg;
  j->r = green_pool_join(j->p, -1);
  j->err = errno;
  return NULL;
}

TEST_CASE(join_timeout_and_kill) {
  green_pool_t *p = green_pool_new(2);
  pjoiner_t j;
  green_t *t;
  ASSERT_PTR_NE(p, NULL);
  ASSERT_TRUE(green_pool_spawn(p, sleep_long, NULL, -1));
  ASSERT_ERRNO(green_pool_join(p, 0.02), ETIMEDOUT);
  j.p = p;
  j.r = 1;
  ASSERT_TRUE((t = green_spawn(pool_join_fn, &j)));
  green_yield();
  ASSERT_ERRNO(green_pool_free(p), EBUSY);
  ASSERT_OK(green_kill(t));
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(j.err, ECANCELED);
  ASSERT_OK(green_pool_kill(p));
  ASSERT_OK(green_pool_join(p, -1));
  ASSERT_OK(green_pool_free(p));
}

TEST_CASE(spawn_10000) {
  enum { N = 100, JOBS = 10000 };
  green_pool_t *p = green_pool_new(N);
  int i;
  ASSERT_PTR_NE(p, NULL);
  for (i = 0; i < JOBS; i++) {
    if (!green_pool_spawn(p, work, (void *)(intptr_t)(i % 2), -1))
      TEST_FAIL("spawn %d: %s", i, strerror(errno));
  }
  ASSERT_OK(green_pool_join(p, -1));
  ASSERT_EQ(finished, JOBS);
  ASSERT_LE(max_running, N);
  ASSERT_GE(max_running, N / 2);
  ASSERT_OK(green_pool_free(p));
}

TEST_CASE(bad_arguments) {
  green_pool_t *p;
  ASSERT_EQ(green_pool_new(0), NULL);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_TRUE((p = green_pool_new(1)));
  ASSERT_EQ(green_pool_spawn(p, NULL, NULL, -1), NULL);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_EQ(green_pool_spawn(p, work, NULL, NAN), NULL);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_EQ(green_pool_spawn(NULL, work, NULL, -1), NULL);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_ERRNO(green_pool_size(NULL), EINVAL);
  ASSERT_EQ(green_pool_size(p), 0);
  ASSERT_OK(green_pool_free(p));
}
