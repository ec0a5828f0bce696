/* SPDX-License-Identifier: MIT */
/* Channels: rendezvous send/recv, timeouts, close, kill, free, FIFO order, and select. */
#include <math.h>
#include <stdint.h>

#include "test.h"

#define P(i) ((void *)(intptr_t)(i))
#define I(p) ((int)(intptr_t)(p))

typedef struct op {
  green_chan_t *c;
  int value; /* send: the value; recv: what it got */
  double timeout;
  int r, err;
  double took;
} op_t;

static void *receiver(void *arg) {
  op_t *o = arg;
  void *v = P(-1);
  double t0 = test_now();
  o->r = green_chan_recv(o->c, &v, o->timeout);
  o->err = errno;
  o->took = test_now() - t0;
  o->value = I(v);
  return NULL;
}

static void *sender(void *arg) {
  op_t *o = arg;
  double t0 = test_now();
  o->r = green_chan_send(o->c, P(o->value), o->timeout);
  o->err = errno;
  o->took = test_now() - t0;
  return NULL;
}

static green_t *spawn_op(void *(*fn)(void *), op_t *o, green_chan_t *c, int value, double timeout) {
  green_t *g;
  o->c = c;
  o->value = value;
  o->timeout = timeout;
  o->r = 1;
  ASSERT_TRUE((g = spread_spawn_parked(fn, o)) != NULL);
  return g;
}

/* A select case that can send on c right now: non-zero when a receiver is parked. */
static int receiver_parked(green_chan_t *c) {
  green_select_case_t cs = {c, GREEN_SELECT_SEND, P(0), 0};
  int r = green_select(&cs, 1, 0);
  ASSERT_TRUE(r == 0 || (r == -1 && errno == ETIMEDOUT));
  return r == 0;
}

/* ---- send / recv ----------------------------------------------------------------------- */

TEST_CASE(send_parks_until_received) {
  green_chan_t *c = green_chan_new();
  op_t o;
  green_t *g = spawn_op(sender, &o, c, 42, -1);
  void *v;
  green_yield();
  ASSERT_EQ(green_state(g), GREEN_BLOCKED); /* no receiver yet: the sender waits */
  ASSERT_OK(green_chan_recv(c, &v, -1));
  ASSERT_EQ(I(v), 42);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.r, 0);
  ASSERT_OK(green_chan_free(c));
}

TEST_CASE(recv_parks_until_sent) {
  green_chan_t *c = green_chan_new();
  op_t o;
  green_t *g = spawn_op(receiver, &o, c, 0, -1);
  green_yield();
  ASSERT_EQ(green_state(g), GREEN_BLOCKED);
  ASSERT_OK(green_chan_send(c, P(7), -1)); /* a receiver is parked: completes at once */
  if (!test_spread()) ASSERT_EQ(green_state(g), GREEN_READY); /* another hub runs it soon */
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.r, 0);
  ASSERT_EQ(o.value, 7);
  ASSERT_OK(green_chan_free(c));
}

static void *ping(void *arg) {
  green_chan_t **c = arg;
  void *v;
  int i;
  for (i = 0; i < 1000; i++) {
    ASSERT_OK(green_chan_send(c[0], P(i), -1));
    ASSERT_OK(green_chan_recv(c[1], &v, -1));
    ASSERT_EQ(I(v), i + 1);
  }
  return NULL;
}

TEST_CASE(ping_pong) {
  green_chan_t *c[2] = {green_chan_new(), green_chan_new()};
  green_t *g = spread_spawn(ping, c);
  void *v;
  int i;
  for (i = 0; i < 1000; i++) {
    ASSERT_OK(green_chan_recv(c[0], &v, -1));
    ASSERT_EQ(I(v), i);
    ASSERT_OK(green_chan_send(c[1], P(i + 1), -1));
  }
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_OK(green_chan_free(c[0]));
  ASSERT_OK(green_chan_free(c[1]));
}

TEST_CASE(bad_args) {
  green_chan_t *c = green_chan_new();
  green_select_case_t cs = {c, 0, NULL, 0};
  void *v;
  ASSERT_ERRNO(green_chan_send(NULL, NULL, -1), EINVAL);
  ASSERT_ERRNO(green_chan_recv(NULL, &v, -1), EINVAL);
  ASSERT_ERRNO(green_chan_close(NULL), EINVAL);
  ASSERT_ERRNO(green_chan_free(NULL), EINVAL);
  ASSERT_ERRNO(green_chan_send(c, NULL, NAN), EINVAL);
  ASSERT_ERRNO(green_select(&cs, 1, 0), EINVAL); /* no op */
  cs.op = 3;
  ASSERT_ERRNO(green_select(&cs, 1, 0), EINVAL);
  ASSERT_ERRNO(green_select(NULL, 1, 0), EINVAL);
  cs.op = GREEN_SELECT_RECV;
  ASSERT_ERRNO(green_select(&cs, 1, NAN), EINVAL);
  ASSERT_ERRNO(green_select(NULL, 0, 0), ETIMEDOUT); /* nothing to wait for */
  ASSERT_OK(green_chan_free(c));
}

/* ---- timeouts, deadline, deadlock ------------------------------------------------------- */

TEST_CASE(timeouts) {
  green_chan_t *c = green_chan_new();
  void *v = P(3);
  double t0 = test_now();
  ASSERT_ERRNO(green_chan_recv(c, &v, 0.05), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 1.0);
  ASSERT_EQ(I(v), 3);
  t0 = test_now();
  ASSERT_ERRNO(green_chan_send(c, P(1), 0.05), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 1.0);
  ASSERT_ERRNO(green_chan_send(c, P(1), 0), ETIMEDOUT);
  ASSERT_EQ(receiver_parked(c), 0);
  ASSERT_OK(green_chan_free(c)); /* the timed-out operations left nothing behind */
}

TEST_CASE(deadline) {
  green_chan_t *c = green_chan_new();
  green_deadline_t d;
  void *v;
  double t0 = test_now();
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  ASSERT_ERRNO(green_chan_recv(c, &v, -1), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 1.0);
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_OK(green_chan_free(c));
}

TEST_CASE(deadlock_reported) {
  green_chan_t *c = green_chan_new();
  void *v;
  ASSERT_ERRNO(green_chan_recv(c, &v, -1), EDEADLK);
  ASSERT_OK(green_chan_free(c));
}

/* ---- close, kill, free ------------------------------------------------------------------ */

TEST_CASE(close_wakes_all) {
  green_chan_t *c = green_chan_new(), *d = green_chan_new();
  op_t o[4];
  green_t *g[4];
  void *v;
  int i;
  g[0] = spawn_op(receiver, &o[0], c, 0, -1);
  g[1] = spawn_op(receiver, &o[1], c, 0, -1);
  g[2] = spawn_op(sender, &o[2], d, 5, -1);
  g[3] = spawn_op(sender, &o[3], d, 6, -1);
  green_yield();
  ASSERT_OK(green_chan_close(c));
  ASSERT_OK(green_chan_close(d));
  ASSERT_ERRNO(green_chan_close(c), EPIPE);
  ASSERT_OK(spread_joinall(g, 4, -1));
  for (i = 0; i < 4; i++) {
    ASSERT_EQ(o[i].r, -1);
    ASSERT_EQ(o[i].err, EPIPE);
  }
  ASSERT_ERRNO(green_chan_recv(c, &v, -1), EPIPE);
  ASSERT_ERRNO(green_chan_send(c, P(1), -1), EPIPE);
  ASSERT_OK(green_chan_free(c));
  ASSERT_OK(green_chan_free(d));
}

/* A second close is EPIPE, as for queues, and changes nothing. */
TEST_CASE(close_twice) {
  green_chan_t *c = green_chan_new();
  void *v;
  ASSERT_OK(green_chan_close(c));
  ASSERT_ERRNO(green_chan_close(c), EPIPE);
  ASSERT_ERRNO(green_chan_recv(c, &v, 0), EPIPE);
  ASSERT_OK(green_chan_free(c));
}

TEST_CASE(kill_receiver) {
  green_chan_t *c = green_chan_new();
  op_t o;
  green_t *g = spawn_op(receiver, &o, c, 0, -1);
  green_yield();
  ASSERT_OK(green_kill(g));
  /* g is woken, not yet run: its record is still linked (it unlinks it when it runs)... On
   * another hub it may have run already. */
  if (!test_spread()) ASSERT_ERRNO(green_chan_free(c), EBUSY);
  /* ... but stale: nobody may hand it a value, and it stays linked until g takes it out */
  ASSERT_EQ(receiver_parked(c), 0);
  if (!test_spread()) ASSERT_ERRNO(green_chan_free(c), EBUSY);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.r, -1);
  ASSERT_EQ(o.err, ECANCELED);
  ASSERT_OK(green_chan_free(c));
}

TEST_CASE(kill_sender) {
  green_chan_t *c = green_chan_new();
  op_t o;
  green_t *g = spawn_op(sender, &o, c, 1, -1);
  void *v;
  green_yield();
  ASSERT_OK(green_kill(g));
  ASSERT_ERRNO(green_chan_recv(c, &v, 0), ETIMEDOUT); /* its value is not taken */
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.err, ECANCELED);
  ASSERT_OK(green_chan_free(c));
}

TEST_CASE(free_with_waiters_ebusy) {
  green_chan_t *c = green_chan_new();
  op_t o;
  green_t *g = spawn_op(receiver, &o, c, 0, -1);
  green_yield();
  ASSERT_ERRNO(green_chan_free(c), EBUSY);
  ASSERT_OK(green_chan_close(c));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.err, EPIPE);
  ASSERT_OK(green_chan_free(c));
}

/* ---- FIFO order, many waiters ----------------------------------------------------------- */

enum { MANY = 10000 };
static op_t many_ops[MANY];
static green_t *many_g[MANY];

TEST_CASE(fifo_receivers_10k) {
  green_chan_t *c = green_chan_new();
  int i;
  for (i = 0; i < MANY; i++) many_g[i] = spawn_op(receiver, &many_ops[i], c, 0, -1);
  green_yield();
  for (i = 0; i < MANY; i++) ASSERT_OK(green_chan_send(c, P(i), 0)); /* each one parked */
  ASSERT_OK(spread_joinall(many_g, MANY, -1));
  for (i = 0; i < MANY; i++)
    if (many_ops[i].r != 0 || many_ops[i].value != i)
      TEST_FAIL("receiver %d: r %d value %d", i, many_ops[i].r, many_ops[i].value);
  ASSERT_OK(green_chan_free(c));
}

TEST_CASE(fifo_senders_10k) {
  green_chan_t *c = green_chan_new();
  void *v;
  int i;
  for (i = 0; i < MANY; i++) many_g[i] = spawn_op(sender, &many_ops[i], c, i, -1);
  green_yield();
  for (i = 0; i < MANY; i++) {
    ASSERT_OK(green_chan_recv(c, &v, 0));
    if (I(v) != i) TEST_FAIL("received %d, expected %d", I(v), i);
  }
  ASSERT_OK(spread_joinall(many_g, MANY, -1));
  ASSERT_OK(green_chan_free(c));
}

/* ---- select ----------------------------------------------------------------------------- */

TEST_CASE(select_ready_case) {
  green_chan_t *a = green_chan_new(), *b = green_chan_new();
  op_t o;
  green_t *g = spawn_op(sender, &o, b, 77, -1);
  green_select_case_t cs[3] = {{a, GREEN_SELECT_RECV, NULL, -1},
                               {NULL, GREEN_SELECT_RECV, NULL, -1},
                               {b, GREEN_SELECT_RECV, NULL, -1}};
  green_yield();
  ASSERT_EQ(green_select(cs, 3, 0), 2);
  ASSERT_EQ(I(cs[2].value), 77);
  ASSERT_EQ(cs[2].err, 0);
  ASSERT_EQ(cs[0].err, -1); /* untouched */
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.r, 0);
  ASSERT_OK(green_chan_free(a));
  ASSERT_OK(green_chan_free(b));
}

TEST_CASE(select_send_case) {
  green_chan_t *a = green_chan_new(), *b = green_chan_new();
  op_t o;
  green_t *g = spawn_op(receiver, &o, b, 0, -1);
  green_select_case_t cs[2] = {{a, GREEN_SELECT_RECV, NULL, 0}, {b, GREEN_SELECT_SEND, P(8), 0}};
  ASSERT_EQ(green_select(cs, 2, -1), 1); /* parks, then the receiver takes the value */
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.value, 8);
  ASSERT_OK(green_chan_free(a));
  ASSERT_OK(green_chan_free(b));
}

TEST_CASE(select_timeout) {
  green_chan_t *a = green_chan_new(), *b = green_chan_new();
  green_select_case_t cs[3] = {{a, GREEN_SELECT_RECV, NULL, 0},
                               {b, GREEN_SELECT_SEND, P(1), 0},
                               {NULL, GREEN_SELECT_SEND, P(1), 0}};
  double t0 = test_now();
  ASSERT_ERRNO(green_select(cs, 3, 0), ETIMEDOUT); /* poll */
  ASSERT_RANGE(test_now() - t0, 0, 0.05);
  t0 = test_now();
  ASSERT_ERRNO(green_select(cs, 3, 0.05), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 1.0);
  ASSERT_OK(green_chan_free(a)); /* no record left behind */
  ASSERT_OK(green_chan_free(b));
}

/* A selector parked on three channels fires once: the partner on one channel takes it out
 * of the other two before it runs. */
static void *select3(void *arg) {
  green_select_case_t *cs = arg;
  return P(green_select(cs, 3, -1));
}

TEST_CASE(select_parked_fires_once) {
  green_chan_t *c[3] = {green_chan_new(), green_chan_new(), green_chan_new()};
  green_select_case_t cs[3];
  op_t o;
  green_t *g, *s;
  void *res;
  int i, r;
  for (i = 0; i < 3; i++) cs[i] = (green_select_case_t){c[i], GREEN_SELECT_RECV, NULL, -1};
  g = spread_spawn_parked(select3, cs);
  green_yield();
  ASSERT_EQ(green_state(g), GREEN_BLOCKED);
  ASSERT_OK(green_chan_send(c[1], P(11), 0));
  /* no double wake, no lost value: the other channels no longer see the selector */
  s = spawn_op(sender, &o, c[2], 12, -1);
  green_yield();
  ASSERT_EQ(green_state(s), GREEN_BLOCKED);
  ASSERT_EQ(receiver_parked(c[0]), 0);
  /* The selector takes its record out of c[0] once it runs: here it has (it was made ready
   * before this greenlet yielded); on another hub maybe not yet, and c[0] is busy till then. */
  r = green_chan_free(c[0]);
  if (r != 0) ASSERT_TRUE(test_spread() && errno == EBUSY);
  ASSERT_OK(green_join(g, &res, -1));
  if (r != 0) ASSERT_OK(green_chan_free(c[0]));
  ASSERT_EQ(I(res), 1);
  ASSERT_EQ(I(cs[1].value), 11);
  ASSERT_EQ(cs[0].err, -1);
  ASSERT_EQ(cs[2].err, -1);
  ASSERT_OK(green_chan_recv(c[2], &res, -1)); /* the second sender is still waiting */
  ASSERT_EQ(I(res), 12);
  ASSERT_OK(green_join(s, NULL, -1));
  ASSERT_OK(green_chan_free(c[1]));
  ASSERT_OK(green_chan_free(c[2]));
}

static void *select2(void *arg) {
  green_select_case_t *cs = arg;
  return P(green_select(cs, 2, -1));
}

/* A select that fired keeps its records in its other channels until it runs and takes them
 * out itself: a partner passes over them, and free is EBUSY meanwhile. Were they dropped, c[0]
 * could be freed under the selector, which enters it to withdraw (a use after free). */
TEST_CASE(free_after_select_fired) {
  green_chan_t *c[2] = {green_chan_new(), green_chan_new()};
  green_select_case_t cs[2] = {{c[0], GREEN_SELECT_RECV, NULL, -1},
                               {c[1], GREEN_SELECT_RECV, NULL, -1}};
  green_select_case_t send0 = {c[0], GREEN_SELECT_SEND, P(7), -1};
  green_t *g = spread_spawn_parked(select2, cs);
  void *res;
  int r;
  green_yield();
  ASSERT_EQ(green_state(g), GREEN_BLOCKED);
  ASSERT_OK(green_chan_send(c[1], P(11), 0)); /* fires it; on this hub it has not run yet */
  ASSERT_ERRNO(green_select(&send0, 1, 0), ETIMEDOUT); /* its record in c[0] is stale */
  ASSERT_EQ(send0.err, -1);
  r = green_chan_free(c[0]);
  if (!test_spread()) ASSERT_EQ(r, -1);
  if (r != 0) ASSERT_EQ(errno, EBUSY);
  ASSERT_OK(green_join(g, &res, -1));
  ASSERT_EQ(I(res), 1);
  ASSERT_EQ(I(cs[1].value), 11);
  ASSERT_EQ(cs[0].err, -1);
  if (r != 0) ASSERT_OK(green_chan_free(c[0]));
  ASSERT_OK(green_chan_free(c[1]));
}

TEST_CASE(select_close_wakes) {
  green_chan_t *c[3] = {green_chan_new(), green_chan_new(), green_chan_new()};
  green_select_case_t cs[3] = {{c[0], GREEN_SELECT_RECV, NULL, -1},
                               {c[1], GREEN_SELECT_SEND, P(1), -1},
                               {c[2], GREEN_SELECT_RECV, NULL, -1}};
  green_t *g = spread_spawn_parked(select3, cs);
  void *res;
  int i;
  green_yield();
  ASSERT_OK(green_chan_close(c[2]));
  ASSERT_OK(green_join(g, &res, -1));
  ASSERT_EQ(I(res), 2);
  ASSERT_EQ(cs[2].err, EPIPE);
  /* a closed channel is always ready */
  cs[2].err = -1;
  ASSERT_EQ(green_select(cs, 3, -1), 2);
  ASSERT_EQ(cs[2].err, EPIPE);
  for (i = 0; i < 3; i++) ASSERT_OK(green_chan_free(c[i]));
}

TEST_CASE(select_kill) {
  green_chan_t *c[3] = {green_chan_new(), green_chan_new(), green_chan_new()};
  green_select_case_t cs[3];
  green_t *g;
  void *res;
  int i;
  for (i = 0; i < 3; i++) cs[i] = (green_select_case_t){c[i], GREEN_SELECT_RECV, NULL, -1};
  g = spread_spawn_parked(select3, cs);
  green_yield();
  ASSERT_OK(green_kill(g));
  for (i = 0; i < 3; i++) ASSERT_EQ(receiver_parked(c[i]), 0);
  ASSERT_OK(green_join(g, &res, -1));
  ASSERT_EQ(I(res), -1);
  for (i = 0; i < 3; i++) ASSERT_OK(green_chan_free(c[i]));
}

/* Two senders keep both channels ready: each case wins about half of the selects. */
static void *keep_sending(void *arg) {
  green_chan_t *c = arg;
  while (green_chan_send(c, NULL, -1) == 0) {
  }
  return NULL;
}

TEST_CASE(select_fairness) {
  TEST_ONE_HUB("both senders must be ready at every select: the other hub's re-parks late");
  enum { ROUNDS = 10000 };
  green_chan_t *c[2] = {green_chan_new(), green_chan_new()};
  green_t *g[2] = {spread_spawn_parked(keep_sending, c[0]),
                   spread_spawn_parked(keep_sending, c[1])};
  int wins[2] = {0, 0}, i, last = -1, streak = 0, longest = 0;
  green_yield();
  for (i = 0; i < ROUNDS; i++) {
    green_select_case_t cs[2] = {{c[0], GREEN_SELECT_RECV, NULL, 0},
                                 {c[1], GREEN_SELECT_RECV, NULL, 0}};
    int r = green_select(cs, 2, 0);
    ASSERT_TRUE(r == 0 || r == 1);
    wins[r]++;
    streak = r == last ? streak + 1 : 1;
    last = r;
    if (streak > longest) longest = streak;
    green_yield(); /* the winner's sender parks again */
  }
  /* binomial(10000, 1/2): sd 50, so 4000..6000 is 20 sd either way */
  ASSERT_RANGE(wins[0], 4000, 6001);
  ASSERT_RANGE(wins[1], 4000, 6001);
  ASSERT_LT(longest, 40); /* random, not "first ready" or long runs */
  ASSERT_OK(green_chan_close(c[0]));
  ASSERT_OK(green_chan_close(c[1]));
  ASSERT_OK(spread_joinall(g, 2, -1));
  ASSERT_OK(green_chan_free(c[0]));
  ASSERT_OK(green_chan_free(c[1]));
}

/* More cases than fit on the stack: the records come from malloc. */
TEST_CASE(select_many_cases) {
  enum { N = 100 };
  green_chan_t *c[N];
  green_select_case_t cs[N];
  green_t *g;
  op_t o;
  int i;
  for (i = 0; i < N; i++) {
    c[i] = green_chan_new();
    cs[i] = (green_select_case_t){c[i], i % 2 ? GREEN_SELECT_SEND : GREEN_SELECT_RECV, P(i), -1};
  }
  g = spawn_op(receiver, &o, c[73], 0, -1);
  ASSERT_EQ(green_select(cs, N, 1.0), 73); /* parks on all 100, the receiver takes case 73 */
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(o.value, 73);
  for (i = 0; i < N; i++) ASSERT_OK(green_chan_free(c[i]));
}
