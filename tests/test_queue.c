/* SPDX-License-Identifier: MIT */
/* Queues: FIFO put/get, bounds, timeouts, close, task_done/join, kill, free, fairness, load. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#include "test.h"

#define P(i) ((void *)(intptr_t)(i))
#define I(p) ((int)(intptr_t)(p))

/* What one greenlet's queue call gave. */
typedef struct op {
  green_queue_t *q;
  int item; /* put: the item; get: what it got */
  double timeout;
  int r, err;
  double took;
} op_t;

static void *getter(void *arg) {
  op_t *o = arg;
  void *item = P(-1);
  double t0 = test_now();
  o->r = green_queue_get(o->q, &item, o->timeout);
  o->err = errno;
  o->took = test_now() - t0;
  o->item = I(item);
  return NULL;
}

static void *putter(void *arg) {
  op_t *o = arg;
  double t0 = test_now();
  o->r = green_queue_put(o->q, P(o->item), o->timeout);
  o->err = errno;
  o->took = test_now() - t0;
  return NULL;
}

static green_t *spawn_op(void *(*fn)(void *), op_t *o, green_queue_t *q, int item, double timeout) {
  green_t *g;
  o->q = q;
  o->item = item;
  o->timeout = timeout;
  o->r = 1;
  ASSERT_TRUE((g = spread_spawn_parked(fn, o)) != NULL);
  return g;
}

/* ---- basics ---------------------------------------------------------------------------- */

TEST_CASE(fifo) {
  green_queue_t *q = green_queue_new(0);
  void *item;
  int i;
  ASSERT_PTR_NE(q, NULL);
  ASSERT_ERRNO(green_queue_try_get(q, &item), EAGAIN);
  for (i = 0; i < 5; i++) ASSERT_OK(green_queue_put(q, P(i), -1));
  ASSERT_EQ(green_queue_len(q), 5);
  ASSERT_OK(green_queue_put(q, NULL, -1)); /* NULL is an item like any other */
  for (i = 0; i < 5; i++) {
    ASSERT_OK(green_queue_get(q, &item, -1));
    ASSERT_EQ(I(item), i);
  }
  ASSERT_OK(green_queue_try_get(q, &item));
  ASSERT_PTR_EQ(item, NULL);
  ASSERT_EQ(green_queue_len(q), 0);
  ASSERT_OK(green_queue_free(q));
}

TEST_CASE(bad_args) {
  green_queue_t *q;
  void *item;
  ASSERT_ERRNO(green_queue_put(NULL, NULL, -1), EINVAL);
  ASSERT_ERRNO(green_queue_get(NULL, &item, -1), EINVAL);
  ASSERT_ERRNO(green_queue_try_put(NULL, NULL), EINVAL);
  ASSERT_ERRNO(green_queue_try_get(NULL, &item), EINVAL);
  ASSERT_ERRNO(green_queue_close(NULL), EINVAL);
  ASSERT_ERRNO(green_queue_task_done(NULL), EINVAL);
  ASSERT_ERRNO(green_queue_join(NULL, -1), EINVAL);
  ASSERT_ERRNO(green_queue_free(NULL), EINVAL);
  ASSERT_ERRNO(green_queue_len(NULL), EINVAL);
  ASSERT_TRUE((q = green_queue_new(1)) != NULL);
  ASSERT_ERRNO(green_queue_put(q, NULL, NAN), EINVAL);
  ASSERT_ERRNO(green_queue_get(q, &item, NAN), EINVAL);
  ASSERT_EQ(green_queue_len(q), 0);
  ASSERT_OK(green_queue_free(q));
}

typedef struct other {
  green_queue_t *q;
  int errs[4];
} other_t;

/* Another thread's hub uses the queue made here: it works there as here. */
static void *use_other_queue(void *arg) {
  other_t *o = arg;
  void *item = NULL;
  o->errs[0] = green_queue_try_put(o->q, P(7)) == -1 ? errno : 0;
  o->errs[1] = green_queue_get(o->q, &item, 0.1) == -1 ? errno : (item == P(7) ? 0 : -1);
  o->errs[2] = green_queue_try_put(o->q, P(8)) == -1 ? errno : 0;
  o->errs[3] = green_queue_len(o->q) == 1 ? 0 : -1;
  return NULL;
}

TEST_CASE(other_thread) {
  other_t o = {green_queue_new(4), {1, 1, 1, 1}};
  pthread_t t;
  void *item;
  ASSERT_EQ(pthread_create(&t, NULL, use_other_queue, &o), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(o.errs[0], 0);
  ASSERT_EQ(o.errs[1], 0);
  ASSERT_EQ(o.errs[2], 0);
  ASSERT_EQ(o.errs[3], 0);
  ASSERT_EQ(green_queue_len(o.q), 1);
  ASSERT_OK(green_queue_try_get(o.q, &item));
  ASSERT_PTR_EQ(item, P(8));
  ASSERT_OK(green_queue_free(o.q));
}

/* Grows while its contents wrap around the end of the ring. */
TEST_CASE(unbounded_grows_wrapped) {
  enum { N = 100000 };
  green_queue_t *q = green_queue_new(0);
  void *item;
  int next_in = 0, next_out = 0, i;
  for (i = 0; i < 10; i++) ASSERT_OK(green_queue_try_put(q, P(next_in++)));
  for (i = 0; i < 7; i++) { /* head moves forward: later puts wrap */
    ASSERT_OK(green_queue_try_get(q, &item));
    ASSERT_EQ(I(item), next_out++);
  }
  while (next_in < N) ASSERT_OK(green_queue_try_put(q, P(next_in++)));
  ASSERT_EQ(green_queue_len(q), N - 7);
  while (next_out < N) {
    ASSERT_OK(green_queue_try_get(q, &item));
    if (I(item) != next_out) TEST_FAIL("got %d, expected %d", I(item), next_out);
    next_out++;
  }
  ASSERT_ERRNO(green_queue_try_get(q, &item), EAGAIN);
  ASSERT_OK(green_queue_free(q));
}

TEST_CASE(bounded_full) {
  green_queue_t *q = green_queue_new(3);
  void *item;
  int i;
  for (i = 0; i < 3; i++) ASSERT_OK(green_queue_try_put(q, P(i)));
  ASSERT_ERRNO(green_queue_try_put(q, P(3)), EAGAIN);
  ASSERT_ERRNO(green_queue_put(q, P(3), 0), ETIMEDOUT);
  ASSERT_EQ(green_queue_len(q), 3);
  ASSERT_OK(green_queue_get(q, &item, 0));
  ASSERT_EQ(I(item), 0);
  ASSERT_OK(green_queue_try_put(q, P(3)));
  for (i = 1; i < 4; i++) {
    ASSERT_OK(green_queue_get(q, &item, 0));
    ASSERT_EQ(I(item), i);
  }
  ASSERT_OK(green_queue_free(q));
}

/* A producer of 20 items on a queue of 2: it parks whenever the queue is full. */
static ssize_t max_len_seen;

static void *produce20(void *arg) {
  green_queue_t *q = arg;
  int i;
  for (i = 0; i < 20; i++) {
    ASSERT_OK(green_queue_put(q, P(i), -1));
    if (green_queue_len(q) > max_len_seen) max_len_seen = green_queue_len(q);
  }
  return NULL;
}

TEST_CASE(put_parks_while_full) {
  green_queue_t *q = green_queue_new(2);
  green_t *g = spread_spawn_parked(produce20, q);
  void *item;
  int i;
  green_yield();
  ASSERT_EQ(green_state(g), GREEN_BLOCKED); /* parked on the third put */
  ASSERT_EQ(green_queue_len(q), 2);
  for (i = 0; i < 20; i++) {
    ASSERT_OK(green_queue_get(q, &item, -1));
    ASSERT_EQ(I(item), i);
    if (i % 3 == 0) green_yield();
  }
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(max_len_seen, 2);
  ASSERT_OK(green_queue_free(q));
}

/* ---- timeouts, deadline, deadlock ---------------------------------------------------- */

TEST_CASE(get_timeout) {
  green_queue_t *q = green_queue_new(0);
  void *item = P(7);
  double t0 = test_now();
  ASSERT_ERRNO(green_queue_get(q, &item, 0.05), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 1.0);
  ASSERT_EQ(I(item), 7); /* untouched */
  t0 = test_now();
  ASSERT_ERRNO(green_queue_get(q, &item, 0), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0, 0.05);
  ASSERT_OK(green_queue_free(q));
}

TEST_CASE(put_timeout) {
  green_queue_t *q = green_queue_new(1);
  void *item;
  double t0;
  ASSERT_OK(green_queue_put(q, P(1), -1));
  t0 = test_now();
  ASSERT_ERRNO(green_queue_put(q, P(2), 0.05), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 1.0);
  ASSERT_EQ(green_queue_len(q), 1);
  ASSERT_OK(green_queue_get(q, &item, 0));
  ASSERT_EQ(I(item), 1);
  ASSERT_ERRNO(green_queue_try_get(q, &item), EAGAIN); /* the timed-out item is not there */
  ASSERT_OK(green_queue_free(q));
}

TEST_CASE(deadline) {
  green_queue_t *q = green_queue_new(0);
  green_deadline_t d;
  void *item;
  double t0 = test_now();
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  ASSERT_ERRNO(green_queue_get(q, &item, 10), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 1.0);
  ASSERT_TRUE(green_deadline_expired(&d));
  ASSERT_ERRNO(green_queue_put(q, P(1), -1), ETIMEDOUT); /* would not park, still past it */
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_OK(green_queue_free(q));
}

TEST_CASE(deadlock_reported) {
  green_queue_t *q = green_queue_new(0);
  void *item;
  ASSERT_ERRNO(green_queue_get(q, &item, -1), EDEADLK); /* nobody could ever put */
  ASSERT_OK(green_queue_free(q));
}

/* A getter whose timer expired in the same poll as a putter's sleep: whichever runs first,
 * the item is never handed to the getter that gave up. */
static void *sleep_then_put(void *arg) {
  op_t *o = arg;
  ASSERT_OK(green_sleep(0.01));
  o->r = green_queue_put(o->q, P(o->item), 0);
  return NULL;
}

TEST_CASE(timed_out_getter_gets_nothing) {
  TEST_ONE_HUB("both timers must expire within one poll of the same hub");
  green_queue_t *q = green_queue_new(0);
  op_t pu, ge;
  green_t *gp = spawn_op(sleep_then_put, &pu, q, 5, 0), *gg;
  void *item;
  green_yield(); /* gp sleeps */
  gg = spawn_op(getter, &ge, q, 0, 0.02);
  green_yield(); /* gg parks */
  test_busy_wait(0.05); /* both timers expire before the hub polls */
  ASSERT_OK(green_join(gp, NULL, -1));
  ASSERT_OK(green_join(gg, NULL, -1));
  ASSERT_EQ(pu.r, 0);
  ASSERT_EQ(ge.r, -1);
  ASSERT_EQ(ge.err, ETIMEDOUT);
  ASSERT_OK(green_queue_try_get(q, &item));
  ASSERT_EQ(I(item), 5);
  ASSERT_OK(green_queue_free(q));
}

/* ---- kill ------------------------------------------------------------------------------ */

TEST_CASE(kill_getter) {
  green_queue_t *q = green_queue_new(0);
  op_t o;
  green_t *g = spawn_op(getter, &o, q, 0, -1);
  void *item;
  green_yield();
  ASSERT_EQ(green_state(g), GREEN_BLOCKED);
  ASSERT_OK(green_kill(g));
  /* g is woken but has not run: the put must not hand it the item */
  ASSERT_OK(green_queue_put(q, P(9), -1));
  ASSERT_EQ(green_queue_len(q), 1);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.r, -1);
  ASSERT_EQ(o.err, ECANCELED);
  ASSERT_OK(green_queue_get(q, &item, 0));
  ASSERT_EQ(I(item), 9);
  ASSERT_OK(green_queue_free(q));
}

TEST_CASE(kill_putter) {
  green_queue_t *q = green_queue_new(1);
  op_t o;
  green_t *g;
  void *item;
  ASSERT_OK(green_queue_put(q, P(1), -1));
  g = spawn_op(putter, &o, q, 2, -1);
  green_yield();
  ASSERT_EQ(green_state(g), GREEN_BLOCKED);
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_queue_get(q, &item, 0));
  ASSERT_EQ(I(item), 1);
  ASSERT_EQ(green_queue_len(q), 0); /* the killed putter's item did not move in */
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.r, -1);
  ASSERT_EQ(o.err, ECANCELED);
  ASSERT_ERRNO(green_queue_try_get(q, &item), EAGAIN);
  ASSERT_OK(green_queue_free(q));
}

/* ---- close ----------------------------------------------------------------------------- */

TEST_CASE(close_wakes_getters) {
  green_queue_t *q = green_queue_new(0);
  op_t o[3];
  green_t *g[3];
  void *item;
  int i;
  for (i = 0; i < 3; i++) g[i] = spawn_op(getter, &o[i], q, 0, -1);
  green_yield();
  ASSERT_OK(green_queue_close(q));
  ASSERT_OK(spread_joinall(g, 3, -1));
  for (i = 0; i < 3; i++) {
    ASSERT_EQ(o[i].r, -1);
    ASSERT_EQ(o[i].err, EPIPE);
  }
  ASSERT_ERRNO(green_queue_get(q, &item, -1), EPIPE);
  ASSERT_ERRNO(green_queue_try_get(q, &item), EPIPE);
  ASSERT_ERRNO(green_queue_put(q, P(1), -1), EPIPE);
  ASSERT_ERRNO(green_queue_try_put(q, P(1)), EPIPE);
  ASSERT_OK(green_queue_free(q));
}

TEST_CASE(close_drains_then_epipe) {
  green_queue_t *q = green_queue_new(2);
  op_t o;
  green_t *g;
  void *item;
  ASSERT_OK(green_queue_put(q, P(1), -1));
  ASSERT_OK(green_queue_put(q, P(2), -1));
  g = spawn_op(putter, &o, q, 3, -1);
  green_yield(); /* parked: the queue is full */
  ASSERT_OK(green_queue_close(q));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.r, -1);
  ASSERT_EQ(o.err, EPIPE);
  ASSERT_OK(green_queue_get(q, &item, -1));
  ASSERT_EQ(I(item), 1);
  ASSERT_OK(green_queue_get(q, &item, -1));
  ASSERT_EQ(I(item), 2);
  ASSERT_ERRNO(green_queue_get(q, &item, -1), EPIPE); /* item 3 was never added */
  ASSERT_OK(green_queue_free(q));
}

/* A second close is EPIPE, as for channels, and changes nothing: the items stay. */
TEST_CASE(close_twice) {
  green_queue_t *q = green_queue_new(0);
  void *item;
  ASSERT_OK(green_queue_put(q, P(1), -1));
  ASSERT_OK(green_queue_close(q));
  ASSERT_ERRNO(green_queue_close(q), EPIPE);
  ASSERT_EQ(green_queue_len(q), 1);
  ASSERT_OK(green_queue_get(q, &item, -1));
  ASSERT_EQ(I(item), 1);
  ASSERT_ERRNO(green_queue_get(q, &item, -1), EPIPE);
  ASSERT_OK(green_queue_free(q));
}

/* ---- task_done / join ------------------------------------------------------------------ */

static int worked;

static void *worker(void *arg) {
  green_queue_t *q = arg;
  void *item;
  while (green_queue_get(q, &item, -1) == 0) {
    ASSERT_OK(green_sleep(0.001));
    worked += I(item);
    ASSERT_OK(green_queue_task_done(q));
  }
  return NULL;
}

TEST_CASE(task_done_join) {
  green_queue_t *q = green_queue_new(0);
  green_t *w;
  int i;
  ASSERT_OK(green_queue_join(q, 0)); /* nothing put: returns at once */
  ASSERT_ERRNO(green_queue_task_done(q), EINVAL);
  for (i = 1; i <= 10; i++) ASSERT_OK(green_queue_put(q, P(i), -1));
  ASSERT_ERRNO(green_queue_join(q, 0.01), ETIMEDOUT);
  w = spread_spawn(worker, q);
  ASSERT_OK(green_queue_join(q, -1));
  ASSERT_EQ(worked, 55); /* join returned only after the last task_done */
  ASSERT_EQ(green_queue_len(q), 0);
  ASSERT_ERRNO(green_queue_task_done(q), EINVAL); /* called more often than items put */
  ASSERT_OK(green_queue_close(q));
  ASSERT_OK(green_join(w, NULL, -1));
  ASSERT_OK(green_queue_free(q));
}

static void *joiner(void *arg) {
  op_t *o = arg;
  o->r = green_queue_join(o->q, o->timeout);
  o->err = errno;
  return NULL;
}

TEST_CASE(join_kill_and_free_busy) {
  green_queue_t *q = green_queue_new(0);
  op_t o;
  green_t *g;
  ASSERT_OK(green_queue_put(q, P(1), -1));
  g = spawn_op(joiner, &o, q, 0, -1);
  green_yield();
  ASSERT_ERRNO(green_queue_free(q), EBUSY);
  ASSERT_OK(green_kill(g));
  /* woken, not yet run: its record is still linked (on another hub it may have run) */
  if (!test_spread()) ASSERT_ERRNO(green_queue_free(q), EBUSY);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.err, ECANCELED);
  ASSERT_OK(green_queue_free(q));
}

/* ---- free with waiters ----------------------------------------------------------------- */

TEST_CASE(free_with_waiters_ebusy) {
  green_queue_t *q = green_queue_new(1);
  op_t o[2];
  green_t *g[2];
  g[0] = spawn_op(getter, &o[0], q, 0, -1);
  green_yield();
  ASSERT_ERRNO(green_queue_free(q), EBUSY);
  ASSERT_OK(green_queue_put(q, P(4), -1)); /* straight to the getter */
  ASSERT_OK(green_queue_put(q, P(5), -1));
  g[1] = spawn_op(putter, &o[1], q, 6, -1);
  green_yield();
  ASSERT_ERRNO(green_queue_free(q), EBUSY); /* a putter is parked */
  ASSERT_OK(green_queue_close(q));
  ASSERT_OK(spread_joinall(g, 2, -1));
  ASSERT_EQ(o[0].r, 0);
  ASSERT_EQ(o[0].item, 4);
  ASSERT_EQ(o[1].err, EPIPE);
  ASSERT_OK(green_queue_free(q)); /* item 5 is forgotten */
}

/* ---- fairness ---------------------------------------------------------------------------- */

TEST_CASE(fifo_wake_order_getters) {
  enum { N = 8 };
  green_queue_t *q = green_queue_new(0);
  op_t o[N];
  green_t *g[N];
  void *item;
  int i;
  for (i = 0; i < N; i++) g[i] = spawn_op(getter, &o[i], q, 0, -1);
  green_yield();
  for (i = 0; i < N; i++) ASSERT_OK(green_queue_put(q, P(100 + i), -1));
  /* no barging: every item already belongs to a parked getter */
  ASSERT_ERRNO(green_queue_try_get(q, &item), EAGAIN);
  ASSERT_OK(spread_joinall(g, N, -1));
  for (i = 0; i < N; i++) ASSERT_EQ(o[i].item, 100 + i);
  ASSERT_OK(green_queue_free(q));
}

TEST_CASE(fifo_wake_order_putters) {
  enum { N = 8 };
  green_queue_t *q = green_queue_new(1);
  op_t o[N];
  green_t *g[N];
  void *item;
  int i;
  ASSERT_OK(green_queue_put(q, P(-1), -1));
  for (i = 0; i < N; i++) g[i] = spawn_op(putter, &o[i], q, i, -1);
  green_yield();
  ASSERT_OK(green_queue_get(q, &item, -1));
  ASSERT_EQ(I(item), -1);
  /* no barging: the freed slot already holds the first putter's item */
  ASSERT_ERRNO(green_queue_try_put(q, P(99)), EAGAIN);
  for (i = 0; i < N; i++) {
    ASSERT_OK(green_queue_get(q, &item, -1));
    ASSERT_EQ(I(item), i);
  }
  ASSERT_OK(spread_joinall(g, N, -1));
  for (i = 0; i < N; i++) ASSERT_EQ(o[i].r, 0);
  ASSERT_OK(green_queue_free(q));
}

enum { MANY = 10000 };
static op_t many_ops[MANY];
static green_t *many_g[MANY];

TEST_CASE(waiters_10k) {
  green_queue_t *q = green_queue_new(1);
  green_stats_t st;
  void *item;
  int i;
  for (i = 0; i < MANY; i++) many_g[i] = spawn_op(getter, &many_ops[i], q, 0, -1);
  green_yield();
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.blocked, test_spread() ? MANY / 2 : MANY); /* this hub's half in spread mode */
  for (i = 0; i < MANY; i++) ASSERT_OK(green_queue_put(q, P(i), -1));
  ASSERT_OK(spread_joinall(many_g, MANY, -1));
  for (i = 0; i < MANY; i++)
    if (many_ops[i].r != 0 || many_ops[i].item != i)
      TEST_FAIL("getter %d: r %d item %d", i, many_ops[i].r, many_ops[i].item);
  /* and 10,000 putters on the full queue */
  ASSERT_OK(green_queue_put(q, P(-1), -1));
  for (i = 0; i < MANY; i++) many_g[i] = spawn_op(putter, &many_ops[i], q, i, -1);
  green_yield();
  ASSERT_OK(green_queue_get(q, &item, -1));
  ASSERT_EQ(I(item), -1);
  for (i = 0; i < MANY; i++) {
    ASSERT_OK(green_queue_get(q, &item, -1));
    if (I(item) != i) TEST_FAIL("item %d, expected %d", I(item), i);
  }
  ASSERT_OK(spread_joinall(many_g, MANY, -1));
  ASSERT_OK(green_queue_free(q));
}

/* ---- producers x consumers ------------------------------------------------------------- */

enum { PRODUCERS = 10, CONSUMERS = 10, ITEMS = 100000 };
static unsigned char delivered[ITEMS];
static long consumed[CONSUMERS];

typedef struct mp {
  green_queue_t *q;
  int id;
} mp_t;

static void *producer(void *arg) {
  mp_t *m = arg;
  int i;
  for (i = m->id; i < ITEMS; i += PRODUCERS) {
    ASSERT_OK(green_queue_put(m->q, P(i), -1));
    if (i % 7 == 0) green_yield(); /* mix up the interleaving */
  }
  return NULL;
}

static void *consumer(void *arg) {
  mp_t *m = arg;
  void *item;
  while (green_queue_get(m->q, &item, -1) == 0) {
    int i = I(item);
    if (i < 0 || i >= ITEMS) TEST_FAIL("item %d out of range", i);
    delivered[i]++;
    consumed[m->id]++;
    if (i % 5 == 0) green_yield();
  }
  ASSERT_EQ(errno, EPIPE);
  return NULL;
}

TEST_CASE(producers_consumers_bitmap) {
  green_queue_t *q = green_queue_new(64);
  mp_t pm[PRODUCERS], cm[CONSUMERS];
  green_t *pg[PRODUCERS], *cg[CONSUMERS];
  long total = 0;
  int i;
  for (i = 0; i < CONSUMERS; i++) {
    cm[i] = (mp_t){q, i};
    ASSERT_TRUE((cg[i] = spread_spawn(consumer, &cm[i])) != NULL);
  }
  for (i = 0; i < PRODUCERS; i++) {
    pm[i] = (mp_t){q, i};
    ASSERT_TRUE((pg[i] = spread_spawn(producer, &pm[i])) != NULL);
  }
  ASSERT_OK(spread_joinall(pg, PRODUCERS, 60));
  ASSERT_OK(green_queue_close(q));
  ASSERT_OK(spread_joinall(cg, CONSUMERS, 60));
  for (i = 0; i < ITEMS; i++)
    if (delivered[i] != 1) TEST_FAIL("item %d delivered %d times", i, delivered[i]);
  for (i = 0; i < CONSUMERS; i++) {
    ASSERT_GT(consumed[i], 0); /* every consumer got a share */
    total += consumed[i];
  }
  ASSERT_EQ(total, ITEMS);
  ASSERT_OK(green_queue_free(q));
}
