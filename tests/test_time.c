/* SPDX-License-Identifier: MIT */
/* Sleeping, green_now() and scoped deadlines. */
#include <math.h>
#include <stdint.h>

#include "test.h"

/* Durations: at least what was asked (less a millisecond of clock rounding), at most a
 * generous bound for a loaded machine. */
#define ASSERT_TOOK(t0, seconds) ASSERT_RANGE(test_now() - (t0), (seconds) - 0.001, (seconds) + 1.5)

TEST_CASE(sleep_duration) {
  double t0 = test_now();
  ASSERT_EQ(green_sleep(0.1), 0);
  ASSERT_TOOK(t0, 0.1);
}

TEST_CASE(sleep_invalid) {
  ASSERT_ERRNO(green_sleep(-1), EINVAL);
  ASSERT_ERRNO(green_sleep(-0.001), EINVAL);
  ASSERT_ERRNO(green_sleep(NAN), EINVAL);
}

static int zero_ran;

static void *set_flag(void *arg) {
  (void)arg;
  zero_ran = 1;
  return NULL;
}

TEST_CASE(sleep_zero_yields) {
  green_t *g = green_spawn(set_flag, NULL);
  ASSERT_PTR_NE(g, NULL);
  ASSERT_EQ(green_sleep(0), 0);
  ASSERT_EQ(zero_ran, 1);
  ASSERT_OK(green_join(g, NULL, -1));
}

static int wake_log[5];
static int wake_n;

static void *sleep_and_log(void *arg) {
  int ms = (int)(intptr_t)arg;
  ASSERT_EQ(green_sleep(ms / 1000.0), 0);
  wake_log[wake_n++] = ms;
  return NULL;
}

TEST_CASE(sleep_wake_order) {
  /* 50 ms apart: a loaded machine may wake each one a few ms late, never out of order */
  static const int ms[5] = {250, 50, 150, 100, 200};
  green_t *gs[5];
  int i;
  for (i = 0; i < 5; i++) ASSERT_TRUE((gs[i] = green_spawn(sleep_and_log, (void *)(intptr_t)ms[i])));
  ASSERT_OK(green_joinall(gs, 5, -1));
  ASSERT_EQ(wake_n, 5);
  for (i = 0; i < 5; i++) ASSERT_EQ(wake_log[i], 50 * (i + 1));
}

static int sleeps_ok;

static void *sleep_02(void *arg) {
  (void)arg;
  if (green_sleep(0.2) == 0) sleeps_ok++;
  return NULL;
}

TEST_CASE(sleep_1000_concurrent) {
  enum { N = 1000 };
  static green_t *gs[N];
  double t0 = test_now();
  int i;
  for (i = 0; i < N; i++) ASSERT_TRUE((gs[i] = green_spawn(sleep_02, NULL)) != NULL);
  ASSERT_OK(green_joinall(gs, N, -1));
  ASSERT_EQ(sleeps_ok, N);
  ASSERT_RANGE(test_now() - t0, 0.199, 20.0); /* one after another: 200 s */
}

TEST_CASE(now_monotonic) {
  double a = green_now(), prev = a, b;
  int i;
  for (i = 0; i < 10000; i++) {
    double t = green_now();
    if (t < prev) TEST_FAIL("green_now went back: %.9f after %.9f", t, prev);
    prev = t;
  }
  ASSERT_OK(green_sleep(0.1));
  b = green_now();
  ASSERT_RANGE(b - a, 0.099, 2.0);
}

/* ---- deadlines ----------------------------------------------------------------------- */

TEST_CASE(deadline_sleep) {
  green_deadline_t d;
  double t0 = test_now();
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  ASSERT_ERRNO(green_sleep(1.0), ETIMEDOUT);
  ASSERT_TOOK(t0, 0.05);
  ASSERT_EQ(green_deadline_expired(&d), 1);
  ASSERT_OK(green_deadline_leave(&d));
}

TEST_CASE(deadline_not_reached) {
  green_deadline_t d;
  ASSERT_OK(green_deadline_enter(&d, 1.0));
  ASSERT_EQ(green_sleep(0.01), 0);
  ASSERT_EQ(green_deadline_expired(&d), 0);
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_ERRNO(green_deadline_expired(NULL), EINVAL);
}

TEST_CASE(deadline_inner_cannot_extend) {
  green_deadline_t outer, inner;
  double t0 = test_now();
  ASSERT_OK(green_deadline_enter(&outer, 0.05));
  ASSERT_OK(green_deadline_enter(&inner, 1.0));
  ASSERT_ERRNO(green_sleep(5.0), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 0.9);
  ASSERT_TRUE(green_deadline_expired(&outer));
  ASSERT_TRUE(!green_deadline_expired(&inner)); /* the ETIMEDOUT came from outer */
  ASSERT_OK(green_deadline_leave(&inner));
  ASSERT_OK(green_deadline_leave(&outer));
}

TEST_CASE(deadline_inner_shortens) {
  green_deadline_t outer, inner;
  double t0 = test_now();
  ASSERT_OK(green_deadline_enter(&outer, 1.0));
  ASSERT_OK(green_deadline_enter(&inner, 0.02));
  ASSERT_ERRNO(green_sleep(5.0), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.019, 0.9);
  ASSERT_TRUE(green_deadline_expired(&inner));
  ASSERT_TRUE(!green_deadline_expired(&outer));
  ASSERT_OK(green_deadline_leave(&inner));
  ASSERT_EQ(green_sleep(0.01), 0); /* the outer scope alone is back in force */
  ASSERT_OK(green_deadline_leave(&outer));
}

TEST_CASE(deadline_leave_wrong_order) {
  green_deadline_t a, b;
  ASSERT_OK(green_deadline_enter(&a, 1.0));
  ASSERT_OK(green_deadline_enter(&b, 1.0));
  ASSERT_ERRNO(green_deadline_leave(&a), EINVAL);
  ASSERT_OK(green_deadline_leave(&b));
  ASSERT_OK(green_deadline_leave(&a));
  ASSERT_ERRNO(green_deadline_leave(&a), EINVAL); /* no longer entered */
}

TEST_CASE(deadline_after_leave) {
  green_deadline_t d;
  double t0;
  ASSERT_OK(green_deadline_enter(&d, 0.02));
  ASSERT_ERRNO(green_sleep(1.0), ETIMEDOUT);
  ASSERT_OK(green_deadline_leave(&d));
  t0 = test_now();
  ASSERT_EQ(green_sleep(0.05), 0);
  ASSERT_TOOK(t0, 0.05);
}

TEST_CASE(deadline_zero) {
  green_deadline_t d;
  double t0 = test_now();
  ASSERT_OK(green_deadline_enter(&d, 0));
  ASSERT_ERRNO(green_sleep(1.0), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0, 0.5);
  ASSERT_TRUE(green_deadline_expired(&d));
  ASSERT_OK(green_deadline_leave(&d));
}

TEST_CASE(deadline_nan) {
  green_deadline_t d;
  ASSERT_ERRNO(green_deadline_enter(&d, NAN), EINVAL);
  ASSERT_EQ(green_sleep(0.01), 0); /* nothing was entered */
}

static void *long_sleep(void *arg) {
  (void)arg;
  green_sleep(5.0);
  return NULL;
}

TEST_CASE(deadline_join) {
  green_deadline_t d;
  green_t *g = green_spawn(long_sleep, NULL);
  double t0 = test_now();
  ASSERT_PTR_NE(g, NULL);
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  ASSERT_ERRNO(green_join(g, NULL, -1), ETIMEDOUT);
  ASSERT_TOOK(t0, 0.05);
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, -1));
}

typedef struct scoped {
  double deadline, sleep;
  int r, err;
} scoped_t;

static void *sleep_in_scope(void *arg) {
  scoped_t *s = arg;
  green_deadline_t d;
  if (s->deadline >= 0) ASSERT_OK(green_deadline_enter(&d, s->deadline));
  s->r = green_sleep(s->sleep);
  s->err = errno;
  if (s->deadline >= 0) ASSERT_OK(green_deadline_leave(&d));
  return NULL;
}

/* A deadline belongs to the greenlet that entered it. */
TEST_CASE(deadline_per_greenlet) {
  scoped_t a = {0.02, 1.0, 1, 0}, b = {-1, 0.1, 1, 0};
  green_t *ga = green_spawn(sleep_in_scope, &a), *gb = green_spawn(sleep_in_scope, &b);
  ASSERT_TRUE(ga && gb);
  ASSERT_OK(green_join(ga, NULL, -1));
  ASSERT_OK(green_join(gb, NULL, -1));
  ASSERT_EQ(a.r, -1);
  ASSERT_EQ(a.err, ETIMEDOUT);
  ASSERT_EQ(b.r, 0);
  ASSERT_EQ(green_sleep(0.01), 0); /* nor does main inherit one */
}
