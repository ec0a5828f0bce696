/* SPDX-License-Identifier: MIT */
/* Generators: next/send/yield, the StopIteration value, priming, close, delegation, kill. */
#include <stdint.h>

#include "test.h"

#define P(i) ((void *)(intptr_t)(i))
#define I(p) ((int)(intptr_t)(p))

/* Yields 1..arg, returns 1000 + arg. */
static void *count_to(green_gen_t *gen, void *arg) {
  int i;
  for (i = 1; i <= I(arg); i++)
    if (green_gen_yield(gen, P(i), NULL) < 0) return P(-1);
  return P(1000 + I(arg));
}

TEST_CASE(next_and_stop_value) {
  green_gen_t *gen = green_gen_new(count_to, P(3));
  void *v;
  int i;
  ASSERT_TRUE(gen != NULL);
  for (i = 1; i <= 3; i++) {
    ASSERT_EQ(green_gen_next(gen, &v), 1);
    ASSERT_EQ(I(v), i);
  }
  ASSERT_EQ(green_gen_next(gen, &v), 0); /* StopIteration(1003) */
  ASSERT_EQ(I(v), 1003);
  v = P(5);
  ASSERT_EQ(green_gen_next(gen, &v), 0); /* stays stopped, the value was given once */
  ASSERT_PTR_EQ(v, NULL);
  ASSERT_EQ(green_gen_next(gen, NULL), 0);
  ASSERT_OK(green_gen_close(gen));
  ASSERT_OK(green_gen_free(gen));
}

/* Python's running total: total = yield total. */
static void *running_total(green_gen_t *gen, void *arg) {
  intptr_t total = 0;
  void *sent;
  (void)arg;
  while (green_gen_yield(gen, P(total), &sent) == 0) {
    if (!sent) return P(total);
    total += (intptr_t)sent;
  }
  return P(-1);
}

TEST_CASE(send_values) {
  green_gen_t *gen = green_gen_new(running_total, NULL);
  void *v;
  ASSERT_EQ(green_gen_next(gen, &v), 1); /* primed: runs to the first yield */
  ASSERT_EQ(I(v), 0);
  ASSERT_EQ(green_gen_send(gen, P(5), &v), 1);
  ASSERT_EQ(I(v), 5);
  ASSERT_EQ(green_gen_send(gen, P(10), &v), 1);
  ASSERT_EQ(I(v), 15);
  ASSERT_EQ(green_gen_send(gen, NULL, &v), 0);
  ASSERT_EQ(I(v), 15);
  ASSERT_OK(green_gen_free(gen));
}

TEST_CASE(priming_send_einval) {
  green_gen_t *gen = green_gen_new(running_total, NULL);
  void *v;
  ASSERT_ERRNO(green_gen_send(gen, P(1), &v), EINVAL); /* TypeError: not started */
  ASSERT_EQ(green_gen_next(gen, &v), 1); /* still usable */
  ASSERT_EQ(green_gen_send(gen, P(2), &v), 1);
  ASSERT_EQ(I(v), 2);
  ASSERT_OK(green_gen_free(gen));
}

TEST_CASE(bad_args) {
  green_gen_t *gen = green_gen_new(count_to, P(1));
  void *v;
  ASSERT_TRUE(green_gen_new(NULL, NULL) == NULL);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_ERRNO(green_gen_next(NULL, &v), EINVAL);
  ASSERT_ERRNO(green_gen_send(NULL, NULL, &v), EINVAL);
  ASSERT_ERRNO(green_gen_close(NULL), EINVAL);
  ASSERT_ERRNO(green_gen_free(NULL), EINVAL);
  ASSERT_ERRNO(green_gen_yield(NULL, NULL, NULL), EINVAL);
  ASSERT_ERRNO(green_gen_yield(gen, NULL, NULL), EINVAL); /* main is not the generator */
  ASSERT_OK(green_gen_free(gen)); /* never started: fn never runs */
}

/* The CPU goes straight from caller to generator and back: two switches a round trip. */
TEST_CASE(direct_switch) {
  green_gen_t *gen = green_gen_new(count_to, P(1000));
  green_stats_t a, b;
  void *v;
  ASSERT_EQ(green_gen_next(gen, &v), 1);
  ASSERT_OK(green_stats(&a));
  while (green_gen_next(gen, &v) == 1) {
  }
  ASSERT_OK(green_stats(&b));
  ASSERT_EQ(b.switches - a.switches, 2 * 999 + 2); /* 999 yields, and the end */
  ASSERT_EQ(b.polls, a.polls);                     /* the hub never ran */
  ASSERT_OK(green_gen_free(gen));
}

/* ---- close ------------------------------------------------------------------------------ */

typedef struct cleanup {
  int yields, cleaned, yield_err;
} cleanup_t;

static void *closable(green_gen_t *gen, void *arg) {
  cleanup_t *c = arg;
  for (;;) {
    if (green_gen_yield(gen, P(c->yields), NULL) < 0) {
      c->yield_err = errno;
      c->cleaned = 1; /* GeneratorExit: clean up and return */
      return P(99);
    }
    c->yields++;
  }
}

TEST_CASE(close_runs_cleanup) {
  cleanup_t c = {0, 0, 0};
  green_gen_t *gen = green_gen_new(closable, &c);
  void *v;
  ASSERT_EQ(green_gen_next(gen, &v), 1);
  ASSERT_EQ(green_gen_next(gen, &v), 1);
  ASSERT_EQ(c.cleaned, 0);
  ASSERT_OK(green_gen_close(gen));
  ASSERT_EQ(c.cleaned, 1);
  ASSERT_EQ(c.yield_err, ECANCELED);
  ASSERT_EQ(green_gen_next(gen, &v), 0); /* stopped */
  ASSERT_PTR_EQ(v, NULL);
  ASSERT_OK(green_gen_close(gen)); /* again: nothing to do */
  ASSERT_OK(green_gen_free(gen));
}

TEST_CASE(close_not_started) {
  cleanup_t c = {0, 0, 0};
  green_gen_t *gen = green_gen_new(closable, &c);
  void *v;
  ASSERT_OK(green_gen_close(gen));
  ASSERT_EQ(green_gen_next(gen, &v), 0); /* it never runs */
  ASSERT_EQ(c.cleaned, 0);
  ASSERT_EQ(c.yields, 0);
  ASSERT_OK(green_gen_free(gen));
}

TEST_CASE(free_closes) {
  cleanup_t c = {0, 0, 0};
  green_gen_t *gen = green_gen_new(closable, &c);
  ASSERT_EQ(green_gen_next(gen, NULL), 1);
  ASSERT_OK(green_gen_free(gen)); /* like Python's generator finalizer */
  ASSERT_EQ(c.cleaned, 1);
}

/* Yields again after its close: an error for the closer; free discards it. */
static int stubborn_errs;

static void *stubborn(green_gen_t *gen, void *arg) {
  (void)arg;
  while (stubborn_errs < 100)
    if (green_gen_yield(gen, P(1), NULL) < 0) stubborn_errs++;
  return NULL;
}

TEST_CASE(close_ignored_eproto) {
  green_gen_t *gen = green_gen_new(stubborn, NULL);
  void *v;
  ASSERT_EQ(green_gen_next(gen, &v), 1);
  ASSERT_ERRNO(green_gen_close(gen), EPROTO);
  ASSERT_EQ(stubborn_errs, 1);
  ASSERT_EQ(green_gen_next(gen, &v), 1); /* still suspended; closing sticks */
  ASSERT_EQ(stubborn_errs, 2);
  ASSERT_OK(green_gen_free(gen)); /* discarded without running any more of it */
  ASSERT_EQ(stubborn_errs, 3);     /* free's own close attempt */
}

/* ---- busy, kill ------------------------------------------------------------------------- */

static void *resume_self(green_gen_t *gen, void *arg) {
  void *v;
  int *err = arg;
  green_gen_next(gen, &v);
  err[0] = errno;
  green_gen_close(gen);
  err[1] = errno;
  green_gen_free(gen);
  err[2] = errno;
  return NULL;
}

TEST_CASE(resume_running_ebusy) {
  int err[3] = {0, 0, 0};
  green_gen_t *gen = green_gen_new(resume_self, err);
  ASSERT_EQ(green_gen_next(gen, NULL), 0);
  ASSERT_EQ(err[0], EBUSY); /* ValueError: generator already executing */
  ASSERT_EQ(err[1], EBUSY);
  ASSERT_EQ(err[2], EBUSY);
  ASSERT_OK(green_gen_free(gen));
}

/* A generator that parks: other greenlets run meanwhile, its caller waits. */
static void *sleepy(green_gen_t *gen, void *arg) {
  int *err = arg;
  if (green_sleep(5) < 0) *err = errno;
  if (green_gen_yield(gen, P(1), NULL) < 0) return P(2);
  return P(3);
}

typedef struct caller {
  green_gen_t *gen;
  int r, err;
  void *v;
  int after_err;
} caller_t;

static void *call_next(void *arg) {
  caller_t *c = arg;
  c->r = green_gen_next(c->gen, &c->v);
  c->err = errno;
  if (green_sleep(0.001) < 0) c->after_err = errno;
  return NULL;
}

TEST_CASE(kill_caller_reaches_generator) {
  int gen_err = 0;
  caller_t c = {green_gen_new(sleepy, &gen_err), 9, 0, NULL, 0};
  green_t *g = green_spawn(call_next, &c);
  void *v;
  green_yield(); /* g resumes the generator, which parks in its sleep */
  ASSERT_EQ(green_state(g), GREEN_BLOCKED);
  ASSERT_ERRNO(green_gen_next(c.gen, &v), EBUSY); /* running for g */
  ASSERT_ERRNO(green_gen_free(c.gen), EBUSY);
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(gen_err, ECANCELED);    /* the kill landed in the generator's sleep */
  ASSERT_EQ(c.r, 1);                /* it yielded: g got the value */
  ASSERT_EQ(I(c.v), 1);
  ASSERT_EQ(c.after_err, ECANCELED); /* g itself is killed too */
  ASSERT_EQ(green_gen_next(c.gen, &v), 0); /* its yield failed (killed): it returned */
  ASSERT_EQ(I(v), 2);
  ASSERT_OK(green_gen_free(c.gen));
}

static green_t *gen_greenlet;

static void *remember_self(green_gen_t *gen, void *arg) {
  (void)arg;
  gen_greenlet = green_current();
  if (green_gen_yield(gen, NULL, NULL) < 0) return P(errno);
  return NULL;
}

TEST_CASE(kill_suspended_generator) {
  green_gen_t *gen = green_gen_new(remember_self, NULL);
  void *v;
  ASSERT_EQ(green_gen_next(gen, &v), 1);
  ASSERT_EQ(green_state(gen_greenlet), GREEN_BLOCKED);
  ASSERT_ERRNO(green_join(gen_greenlet, NULL, -1), EINVAL); /* not joinable */
  ASSERT_OK(green_kill(gen_greenlet));
  ASSERT_EQ(green_state(gen_greenlet), GREEN_BLOCKED); /* still suspended, not woken */
  ASSERT_EQ(green_gen_next(gen, &v), 0);                /* its yield failed */
  ASSERT_EQ(I(v), ECANCELED);
  ASSERT_OK(green_gen_free(gen));
}

TEST_CASE(killed_caller_cannot_resume) {
  green_gen_t *gen = green_gen_new(count_to, P(3));
  void *v;
  ASSERT_EQ(green_gen_next(gen, &v), 1);
  ASSERT_OK(green_kill(green_current())); /* main kills itself... */
  ASSERT_ERRNO(green_gen_next(gen, &v), ECANCELED);
  ASSERT_ERRNO(green_sleep(0), ECANCELED);
  ASSERT_OK(green_gen_close(gen)); /* ...but cleanup still works: its yield fails, it returns */
  ASSERT_EQ(green_gen_next(gen, &v), 0);
  ASSERT_OK(green_gen_free(gen));
}

/* ---- deadlines, deadlock ------------------------------------------------------------------ */

static void *sleep_in_gen(green_gen_t *gen, void *arg) {
  (void)gen, (void)arg;
  if (green_sleep(5) < 0) return P(errno);
  return NULL;
}

TEST_CASE(caller_deadline_holds_inside) {
  green_gen_t *gen = green_gen_new(sleep_in_gen, NULL);
  green_deadline_t d;
  double t0 = test_now();
  void *v;
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  ASSERT_EQ(green_gen_next(gen, &v), 0);
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_EQ(I(v), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 1.0);
  ASSERT_OK(green_gen_free(gen));
}

static void *get_from_queue(green_gen_t *gen, void *arg) {
  void *item;
  (void)gen;
  if (green_queue_get(arg, &item, -1) < 0) return P(errno);
  return NULL;
}

TEST_CASE(deadlock_reported_in_generator) {
  green_queue_t *q = green_queue_new(0);
  green_gen_t *gen = green_gen_new(get_from_queue, q);
  void *v;
  ASSERT_EQ(green_gen_next(gen, &v), 0);
  ASSERT_EQ(I(v), EDEADLK); /* main waited on the generator, which waited on nothing */
  ASSERT_OK(green_gen_free(gen));
  ASSERT_OK(green_queue_free(q));
}

/* ---- delegation -------------------------------------------------------------------------- */

typedef struct outer_result {
  void *sub_result[2];
  int r[2];
  int err;
  int cleaned;
} outer_result_t;

/* Delegates to two running totals in turn, then returns the sum of their results. */
static void *delegator(green_gen_t *gen, void *arg) {
  outer_result_t *o = arg;
  int i;
  for (i = 0; i < 2; i++) {
    green_gen_t *sub = green_gen_new(running_total, NULL);
    o->r[i] = green_gen_yield_from(gen, sub, &o->sub_result[i]);
    if (o->r[i] < 0) o->err = errno;
    ASSERT_OK(green_gen_free(sub));
    if (o->r[i] < 0) return NULL;
  }
  return P(I(o->sub_result[0]) + I(o->sub_result[1]));
}

TEST_CASE(yield_from) {
  outer_result_t o = {{NULL, NULL}, {9, 9}, 0, 0};
  green_gen_t *gen = green_gen_new(delegator, &o);
  void *v;
  ASSERT_EQ(green_gen_next(gen, &v), 1); /* the first sub's priming yield, passed up */
  ASSERT_EQ(I(v), 0);
  ASSERT_EQ(green_gen_send(gen, P(3), &v), 1); /* sends pass down */
  ASSERT_EQ(I(v), 3);
  ASSERT_EQ(green_gen_send(gen, P(4), &v), 1);
  ASSERT_EQ(I(v), 7);
  ASSERT_EQ(green_gen_send(gen, NULL, &v), 1); /* the first sub returns 7; the second starts */
  ASSERT_EQ(I(v), 0);
  ASSERT_EQ(o.r[0], 0);
  ASSERT_EQ(I(o.sub_result[0]), 7);
  ASSERT_EQ(green_gen_send(gen, P(10), &v), 1);
  ASSERT_EQ(green_gen_send(gen, NULL, &v), 0); /* the second returns 10, the outer 17 */
  ASSERT_EQ(I(v), 17);
  ASSERT_OK(green_gen_free(gen));
}

/* A sub-generator that records its cleanup. */
static void *sub_closable(green_gen_t *gen, void *arg) {
  outer_result_t *o = arg;
  while (green_gen_yield(gen, P(1), NULL) == 0) {
  }
  o->cleaned = 1;
  return NULL;
}

static void *delegate_closable(green_gen_t *gen, void *arg) {
  outer_result_t *o = arg;
  green_gen_t *sub = green_gen_new(sub_closable, o);
  o->r[0] = green_gen_yield_from(gen, sub, NULL);
  o->err = errno;
  green_gen_free(sub);
  return NULL;
}

TEST_CASE(yield_from_close_reaches_sub) {
  outer_result_t o = {{NULL, NULL}, {9, 9}, 0, 0};
  green_gen_t *gen = green_gen_new(delegate_closable, &o);
  ASSERT_EQ(green_gen_next(gen, NULL), 1);
  ASSERT_EQ(green_gen_next(gen, NULL), 1);
  ASSERT_OK(green_gen_close(gen));
  ASSERT_EQ(o.cleaned, 1); /* the sub saw GeneratorExit first */
  ASSERT_EQ(o.r[0], -1);
  ASSERT_EQ(o.err, ECANCELED);
  ASSERT_OK(green_gen_free(gen));
}

/* Kill the caller while the innermost of two nested generators is parked. */
static void *sub_sleeps(green_gen_t *gen, void *arg) {
  int *err = arg;
  if (green_sleep(5) < 0) *err = errno;
  (void)gen;
  return P(5);
}

static void *outer_of_sleeper(green_gen_t *gen, void *arg) {
  green_gen_t *sub = green_gen_new(sub_sleeps, arg);
  void *res = NULL;
  int r = green_gen_yield_from(gen, sub, &res);
  green_gen_free(sub);
  return r == 0 ? res : P(-1);
}

TEST_CASE(kill_reaches_nested_generator) {
  int err = 0;
  caller_t c = {green_gen_new(outer_of_sleeper, &err), 9, 0, NULL, 0};
  green_t *g = green_spawn(call_next, &c);
  green_yield();
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(err, ECANCELED);
  ASSERT_EQ(c.r, 0); /* the sub returned 5, so did the outer */
  ASSERT_EQ(I(c.v), 5);
  ASSERT_OK(green_gen_free(c.gen));
}

/* ---- many --------------------------------------------------------------------------------- */

TEST_CASE(generators_1000_interleaved) {
  enum { N = 1000 };
  static green_gen_t *gens[N];
  long sum = 0;
  void *v;
  int i, k;
  for (i = 0; i < N; i++) ASSERT_TRUE((gens[i] = green_gen_new(count_to, P(5))) != NULL);
  for (k = 1; k <= 5; k++)
    for (i = 0; i < N; i++) {
      ASSERT_EQ(green_gen_next(gens[i], &v), 1);
      ASSERT_EQ(I(v), k);
      sum += I(v);
    }
  for (i = 0; i < N; i++) {
    ASSERT_EQ(green_gen_next(gens[i], &v), 0);
    ASSERT_EQ(I(v), 1005);
    ASSERT_OK(green_gen_free(gens[i]));
  }
  ASSERT_EQ(sum, (long)N * 15);
}
