/* SPDX-License-Identifier: MIT */
/* green_iwait and green_wait_any: items reported in the order they finish (greenlets and
 * futures mixed), those already finished first, timeout, kill, free while waited on, 10,000. */
#include <math.h>
#include <stdint.h>

#include "test.h"

enum { MAX = 10000 };
static int finish_seq[MAX]; /* the order greenlets really finished in */
static int nfinished;

static void *sleep_then_note(void *arg) {
  int i = (int)(intptr_t)arg;
  ASSERT_OK(green_sleep(0.001 * (i % 1000 >= 500 ? 1000 - i % 1000 : i % 1000) / 10));
  finish_seq[nfinished++] = i;
  return NULL;
}

static void *sleep_ms(void *arg) {
  green_sleep((double)(intptr_t)arg / 1000);
  return NULL;
}

static void *ret_now(void *arg) { return arg; }

/* Ends once its gate (a future) is set: tests decide the order greenlets end in, whatever
 * the machine's timing. */
static void *wait_gate(void *arg) {
  ASSERT_OK(green_future_get(arg, NULL, -1));
  return NULL;
}

static void new_gates(green_future_t **gates, int n) {
  int i;
  for (i = 0; i < n; i++) ASSERT_TRUE((gates[i] = green_future_new()));
}

static void free_gates(green_future_t **gates, int n) {
  int i;
  for (i = 0; i < n; i++) ASSERT_OK(green_future_free(gates[i]));
}

/* Sets futures in order, yielding after each: a greenlet woken by one ends before the next
 * is set. */
typedef struct director {
  green_future_t **order;
  int n;
} director_t;

static void *direct(void *arg) {
  director_t *d = arg;
  int i;
  for (i = 0; i < d->n; i++) {
    ASSERT_OK(green_future_set(d->order[i], NULL));
    green_yield();
  }
  return NULL;
}

static void join_all(green_t **gs, size_t n) { ASSERT_OK(green_joinall(gs, n, -1)); }

TEST_CASE(finish_order_mixed) {
  green_t *gs[3], *d;
  green_future_t *gates[3], *fs[2];
  static const int want[] = {1, 3, 2, 0, 4}; /* greenlets are items 0-2, futures 3-4 */
  green_future_t *order[5];
  director_t dir = {order, 5};
  green_iwait_t *it;
  size_t idx;
  int i;
  new_gates(gates, 3);
  new_gates(fs, 2);
  for (i = 0; i < 3; i++) ASSERT_TRUE((gs[i] = green_spawn(wait_gate, gates[i])));
  for (i = 0; i < 5; i++) order[i] = want[i] < 3 ? gates[want[i]] : fs[want[i] - 3];
  ASSERT_TRUE((it = green_iwait_new(gs, 3, fs, 2)));
  ASSERT_TRUE((d = green_spawn(direct, &dir)));
  for (i = 0; i < 5; i++) {
    ASSERT_EQ(green_iwait_next(it, &idx, 5), 1);
    ASSERT_EQ(idx, want[i]);
  }
  ASSERT_EQ(green_iwait_next(it, &idx, 5), 0); /* all reported */
  ASSERT_EQ(green_iwait_next(it, &idx, 5), 0);
  ASSERT_OK(green_iwait_free(it));
  join_all(gs, 3);
  ASSERT_OK(green_join(d, NULL, -1));
  free_gates(gates, 3);
  free_gates(fs, 2);
}

TEST_CASE(finished_first_in_argument_order) {
  green_t *gs[3];
  green_future_t *f = green_future_new();
  green_iwait_t *it;
  size_t idx;
  ASSERT_PTR_NE(f, NULL);
  ASSERT_TRUE((gs[0] = green_spawn(sleep_ms, (void *)(intptr_t)10)));
  ASSERT_TRUE((gs[1] = green_spawn(ret_now, NULL)));
  ASSERT_TRUE((gs[2] = green_spawn(ret_now, NULL)));
  ASSERT_OK(green_future_set(f, NULL));
  green_yield(); /* 1 and 2 end */
  ASSERT_TRUE((it = green_iwait_new(gs, 3, &f, 1)));
  ASSERT_EQ(green_iwait_next(it, &idx, 0), 1);
  ASSERT_EQ(idx, 1);
  ASSERT_EQ(green_iwait_next(it, &idx, 0), 1);
  ASSERT_EQ(idx, 2);
  ASSERT_EQ(green_iwait_next(it, &idx, 0), 1);
  ASSERT_EQ(idx, 3);
  ASSERT_EQ(green_iwait_next(it, &idx, -1), 1);
  ASSERT_EQ(idx, 0);
  ASSERT_OK(green_iwait_free(it));
  join_all(gs, 3);
  ASSERT_OK(green_future_free(f));
}

TEST_CASE(next_timeout) {
  green_future_t *f = green_future_new();
  green_iwait_t *it;
  size_t idx = 99;
  double t0;
  ASSERT_PTR_NE(f, NULL);
  ASSERT_TRUE((it = green_iwait_new(NULL, 0, &f, 1)));
  t0 = test_now();
  ASSERT_ERRNO(green_iwait_next(it, &idx, 0.03), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.029, 2.0);
  ASSERT_ERRNO(green_iwait_next(it, &idx, NAN), EINVAL);
  ASSERT_ERRNO(green_future_free(f), EBUSY); /* watched */
  ASSERT_OK(green_future_set(f, NULL));
  ASSERT_EQ(green_iwait_next(it, &idx, 0), 1);
  ASSERT_EQ(idx, 0);
  ASSERT_OK(green_iwait_free(it));
  ASSERT_OK(green_future_free(f));
}

typedef struct nexter {
  green_iwait_t *it;
  int r, err;
  size_t idx;
} nexter_t;

static void *next_fn(void *arg) {
  nexter_t *n = arg;
  n->r = green_iwait_next(n->it, &n->idx, -1);
  n->err = errno;
  return NULL;
}

TEST_CASE(kill_and_busy) {
  green_future_t *f = green_future_new();
  nexter_t n = {NULL, 1, 0, 0};
  green_t *t;
  size_t idx;
  ASSERT_PTR_NE(f, NULL);
  ASSERT_TRUE((n.it = green_iwait_new(NULL, 0, &f, 1)));
  ASSERT_TRUE((t = green_spawn(next_fn, &n)));
  green_yield();
  ASSERT_ERRNO(green_iwait_next(n.it, &idx, 0), EBUSY); /* another greenlet waits on it */
  ASSERT_ERRNO(green_iwait_free(n.it), EBUSY);
  ASSERT_OK(green_kill(t));
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(n.r, -1);
  ASSERT_EQ(n.err, ECANCELED);
  ASSERT_OK(green_iwait_free(n.it)); /* stops watching f */
  ASSERT_OK(green_future_free(f));
}

/* Free before everything was reported: watches on greenlets still running are removed. */
TEST_CASE(free_early) {
  green_t *gs[2];
  green_future_t *gates[2];
  green_iwait_t *it;
  size_t idx;
  new_gates(gates, 2);
  ASSERT_TRUE((gs[0] = green_spawn(wait_gate, gates[0])));
  ASSERT_TRUE((gs[1] = green_spawn(wait_gate, gates[1])));
  ASSERT_TRUE((it = green_iwait_new(gs, 2, NULL, 0)));
  ASSERT_OK(green_future_set(gates[0], NULL));
  ASSERT_EQ(green_iwait_next(it, &idx, -1), 1);
  ASSERT_EQ(idx, 0);
  ASSERT_OK(green_iwait_free(it));
  ASSERT_OK(green_future_set(gates[1], NULL));
  join_all(gs, 2); /* gs[1] ends with nothing watching it */
  free_gates(gates, 2);
}

/* 10,000 greenlets finishing in a scrambled order: reported in exactly that order. */
TEST_CASE(order_10000) {
  static green_t *gs[MAX];
  green_iwait_t *it;
  size_t idx;
  int i, n = 0;
  for (i = 0; i < MAX; i++) ASSERT_TRUE((gs[i] = green_spawn(sleep_then_note, (void *)(intptr_t)i)));
  ASSERT_TRUE((it = green_iwait_new(gs, MAX, NULL, 0)));
  while (green_iwait_next(it, &idx, 10) == 1) {
    if ((int)idx != finish_seq[n]) TEST_FAIL("report %d: %zu, but %d finished then", n, idx, finish_seq[n]);
    n++;
  }
  ASSERT_EQ(n, MAX);
  ASSERT_EQ(nfinished, MAX);
  ASSERT_OK(green_iwait_free(it));
  join_all(gs, MAX);
}

TEST_CASE(bad_arguments) {
  green_t *g = green_spawn(ret_now, NULL), *main_g = green_current();
  green_iwait_t *it;
  size_t idx;
  ASSERT_PTR_NE(g, NULL);
  ASSERT_EQ(green_iwait_new(&main_g, 1, NULL, 0), NULL);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_EQ(green_iwait_new(NULL, 1, NULL, 0), NULL);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(green_iwait_new(&g, 1, NULL, 0), NULL); /* released */
  ASSERT_EQ(errno, ESRCH);
  ASSERT_TRUE((it = green_iwait_new(NULL, 0, NULL, 0)));
  ASSERT_EQ(green_iwait_next(it, &idx, -1), 0); /* nothing to report */
  ASSERT_ERRNO(green_iwait_next(it, NULL, -1), EINVAL);
  ASSERT_OK(green_iwait_free(it));
  ASSERT_ERRNO(green_iwait_free(NULL), EINVAL);
}

/* ---- wait_any ------------------------------------------------------------------------------ */

TEST_CASE(wait_any) {
  green_t *gs[3];
  green_future_t *gates[3];
  int i;
  new_gates(gates, 3);
  for (i = 0; i < 3; i++) ASSERT_TRUE((gs[i] = green_spawn(wait_gate, gates[i])));
  ASSERT_OK(green_future_set(gates[2], NULL));
  ASSERT_EQ(green_wait_any(gs, 3, -1), 2);
  ASSERT_EQ(green_wait_any(gs, 3, -1), 2); /* still the first one that has ended */
  ASSERT_OK(green_future_set(gates[1], NULL));
  ASSERT_EQ(green_wait_any(gs, 2, -1), 1);
  ASSERT_ERRNO(green_wait_any(gs, 1, 0.01), ETIMEDOUT);
  ASSERT_ERRNO(green_wait_any(gs, 0, -1), EINVAL);
  ASSERT_ERRNO(green_wait_any(NULL, 1, -1), EINVAL);
  ASSERT_OK(green_future_set(gates[0], NULL));
  join_all(gs, 3);
  free_gates(gates, 3);
}

typedef struct anyer {
  green_t **gs;
  ssize_t r;
  int err;
} anyer_t;

static void *any_fn(void *arg) {
  anyer_t *a = arg;
  a->r = green_wait_any(a->gs, 1, -1);
  a->err = errno;
  return NULL;
}

TEST_CASE(wait_any_killed) {
  green_t *target, *t;
  anyer_t a = {&target, 1, 0};
  ASSERT_TRUE((target = green_spawn(sleep_ms, (void *)(intptr_t)10000)));
  ASSERT_TRUE((t = green_spawn(any_fn, &a)));
  green_yield();
  ASSERT_OK(green_kill(t));
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(a.r, -1);
  ASSERT_EQ(a.err, ECANCELED);
  ASSERT_OK(green_kill(target));
  ASSERT_OK(green_join(target, NULL, -1));
}

/* A group member is reported when it ends (its handle is released right after). */
TEST_CASE(group_members) {
  green_group_t *grp = green_group_new();
  green_future_t *gates[2];
  green_t *gs[2];
  green_iwait_t *it;
  size_t idx;
  ASSERT_PTR_NE(grp, NULL);
  new_gates(gates, 2);
  ASSERT_TRUE((gs[0] = green_group_spawn(grp, wait_gate, gates[0])));
  ASSERT_TRUE((gs[1] = green_group_spawn(grp, wait_gate, gates[1])));
  ASSERT_TRUE((it = green_iwait_new(gs, 2, NULL, 0)));
  ASSERT_OK(green_future_set(gates[1], NULL));
  ASSERT_EQ(green_iwait_next(it, &idx, -1), 1);
  ASSERT_EQ(idx, 1);
  ASSERT_EQ(green_group_size(grp), 1);
  ASSERT_OK(green_future_set(gates[0], NULL));
  ASSERT_EQ(green_iwait_next(it, &idx, -1), 1);
  ASSERT_EQ(idx, 0);
  ASSERT_EQ(green_group_size(grp), 0);
  ASSERT_OK(green_iwait_free(it));
  ASSERT_OK(green_group_free(grp));
  free_gates(gates, 2);
}
