/* SPDX-License-Identifier: MIT */
/*
 * Queues, channels and select used by greenlets of two hubs (two OS threads) at once. A
 * waiter of one hub is handed an item or a value by a greenlet of the other. Counts are
 * exact: whatever was put or sent comes out once, even while waiters time out, are killed,
 * or their queue or channel is closed by the other hub.
 */
#include <math.h>
#include <stdint.h>

#include "test.h"

#include "share_test.h"

#define P(i) ((void *)(intptr_t)(i))
#define I(p) ((long)(intptr_t)(p))

static green_hub_t *hubs[2];

/* Spawn fn(args + i * size) for i < n, alternately on the two hubs. */
static void spread(green_t **gs, void *(*fn)(void *), void *args, size_t size, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    ASSERT_PTR_NE(gs[i] = green_spawn_on(hubs[i % 2], fn, (char *)args + i * size), NULL);
}

static void join_all(green_t **gs, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) ASSERT_OK(green_join(gs[i], NULL, 30));
}

/* ---- queues ------------------------------------------------------------------------------ */

enum { ROUNDS = 20000 };

typedef struct pingpong {
  green_queue_t *q[2];
  green_chan_t *c[2];
} pingpong_t;

static void *queue_echo(void *arg) {
  pingpong_t *p = arg;
  void *item;
  while (green_queue_get(p->q[0], &item, -1) == 0) ASSERT_OK(green_queue_put(p->q[1], item, -1));
  return NULL;
}

/* Capacity 1: nearly every put and get parks and is served from the other hub. */
TEST_CASE(queue_ping_pong) {
  pingpong_t p = {{green_queue_new(1), green_queue_new(1)}, {NULL, NULL}};
  green_t *g;
  void *item;
  long i;
  share_start_hubs(hubs, 2);
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], queue_echo, &p), NULL);
  for (i = 0; i < ROUNDS; i++) {
    ASSERT_OK(green_queue_put(p.q[0], P(i + 1), 10));
    ASSERT_OK(green_queue_get(p.q[1], &item, 10));
    ASSERT_EQ(I(item), i + 1);
  }
  ASSERT_OK(green_queue_close(p.q[0]));
  ASSERT_OK(green_join(g, NULL, 10));
  ASSERT_OK(green_queue_free(p.q[0]));
  ASSERT_OK(green_queue_free(p.q[1]));
  share_stop_hubs(hubs, 2);
}

enum { WORKERS = 6, PER_PRODUCER = 5000 };

typedef struct worker {
  green_queue_t *q;
  green_chan_t *c;
  long base;  /* a producer's first item */
  long count; /* items a consumer took */
  long sum;
  double timeout; /* a consumer's, per get */
  long timeouts;
  void *chans; /* a selecting sender's channels (selector_t) */
} worker_t;

static void *produce(void *arg) {
  worker_t *w = arg;
  long i;
  for (i = 0; i < PER_PRODUCER; i++) ASSERT_OK(green_queue_put(w->q, P(w->base + i), -1));
  return NULL;
}

/* Gets until the queue is closed and drained; with a timeout, counts the ones that ran out. */
static void *consume(void *arg) {
  worker_t *w = arg;
  void *item;
  for (;;) {
    if (green_queue_get(w->q, &item, w->timeout) == 0) {
      w->count++;
      w->sum += I(item);
      ASSERT_OK(green_queue_task_done(w->q));
    } else if (errno == ETIMEDOUT) {
      w->timeouts++;
    } else {
      ASSERT_EQ(errno, EPIPE);
      return NULL;
    }
  }
}

static long expected_sum(void) {
  long n = (long)WORKERS * PER_PRODUCER; /* bases 0, PER_PRODUCER, ...: 0..n-1 in all */
  return n * (n - 1) / 2;
}

/* Producers and consumers on both hubs; consumers with timeout `timeout` per get. */
static void many_to_many(size_t capacity, double timeout) {
  worker_t prod[WORKERS], cons[WORKERS];
  green_t *pg[WORKERS], *cg[WORKERS];
  green_queue_t *q = green_queue_new(capacity);
  long count = 0, sum = 0, timeouts = 0;
  size_t i;
  share_start_hubs(hubs, 2);
  for (i = 0; i < WORKERS; i++) {
    prod[i] = (worker_t){q, NULL, (long)i * PER_PRODUCER, 0, 0, -1, 0, NULL};
    cons[i] = (worker_t){q, NULL, 0, 0, 0, timeout, 0, NULL};
  }
  spread(cg, consume, cons, sizeof *cons, WORKERS);
  spread(pg, produce, prod, sizeof *prod, WORKERS);
  join_all(pg, WORKERS);
  ASSERT_OK(green_queue_join(q, 30)); /* every item taken and marked done, on either hub */
  ASSERT_OK(green_queue_close(q));
  join_all(cg, WORKERS);
  for (i = 0; i < WORKERS; i++) {
    count += cons[i].count;
    sum += cons[i].sum;
    timeouts += cons[i].timeouts;
  }
  ASSERT_EQ(count, (long)WORKERS * PER_PRODUCER);
  ASSERT_EQ(sum, expected_sum());
  ASSERT_EQ(green_queue_len(q), 0);
  ASSERT_OK(green_queue_free(q));
  share_stop_hubs(hubs, 2);
  if (timeout >= 0) printf("consumers ran out %ld times\n", timeouts);
}

TEST_CASE(queue_many_to_many) { many_to_many(4, -1); }

TEST_CASE(queue_many_unbounded) { many_to_many(0, -1); }

/* Getters time out all the time while the other hub hands items over: none is lost. */
TEST_CASE(queue_timeouts) { many_to_many(2, 0.0002); }

typedef struct victim {
  green_queue_t *q;
  green_chan_t *c;
  int err;
  void *item;
} victim_t;

static void *get_once(void *arg) {
  victim_t *v = arg;
  v->err = green_queue_get(v->q, &v->item, -1) == 0 ? 0 : errno;
  return NULL;
}

static void *put_once(void *arg) {
  victim_t *v = arg;
  v->err = green_queue_put(v->q, v->item, -1) == 0 ? 0 : errno;
  return NULL;
}

/* Getters of hub 1 are killed while hub 0 puts: each item goes to a getter that returns it,
 * or stays in the queue. */
TEST_CASE(queue_kill_while_handing) {
  enum { N = 200 };
  victim_t v[N];
  green_t *g[N];
  green_queue_t *q = green_queue_new(0);
  long got = 0, left = 0, killed = 0, i;
  void *item;
  share_start_hubs(hubs, 2);
  for (i = 0; i < N; i++) {
    v[i] = (victim_t){q, NULL, -1, NULL};
    ASSERT_PTR_NE(g[i] = green_spawn_on(hubs[1], get_once, &v[i]), NULL);
  }
  share_until_blocked(g[N - 1]);
  for (i = 0; i < N; i++) {
    if (i % 2) ASSERT_OK(green_kill(g[i]));
    ASSERT_OK(green_queue_try_put(q, P(i + 1)));
  }
  for (i = 0; i < N; i++) {
    ASSERT_OK(green_join(g[i], NULL, 10));
    if (v[i].err == 0) {
      got++;
      ASSERT_TRUE(v[i].item != NULL);
    } else {
      ASSERT_EQ(v[i].err, ECANCELED);
      killed++;
    }
  }
  while (green_queue_try_get(q, &item) == 0) left++;
  ASSERT_EQ(got + left, N);
  ASSERT_EQ(got + killed, N);
  ASSERT_OK(green_queue_free(q));
  share_stop_hubs(hubs, 2);
}

/* Getters and putters of hub 1 wait; hub 0 closes the queue: all of them fail with EPIPE. */
TEST_CASE(queue_close_across) {
  enum { N = 8 };
  victim_t getters[N], putters[N];
  green_t *gg[N], *pg[N];
  green_queue_t *empty = green_queue_new(1), *full = green_queue_new(1);
  int i;
  share_start_hubs(hubs, 2);
  ASSERT_OK(green_queue_try_put(full, P(1)));
  for (i = 0; i < N; i++) {
    getters[i] = (victim_t){empty, NULL, -1, NULL};
    putters[i] = (victim_t){full, NULL, -1, P(2)};
    ASSERT_PTR_NE(gg[i] = green_spawn_on(hubs[1], get_once, &getters[i]), NULL);
    ASSERT_PTR_NE(pg[i] = green_spawn_on(hubs[1], put_once, &putters[i]), NULL);
  }
  share_until_blocked(gg[N - 1]);
  share_until_blocked(pg[N - 1]);
  ASSERT_OK(green_queue_close(empty));
  ASSERT_OK(green_queue_close(full));
  for (i = 0; i < N; i++) {
    ASSERT_OK(green_join(gg[i], NULL, 10));
    ASSERT_OK(green_join(pg[i], NULL, 10));
    ASSERT_EQ(getters[i].err, EPIPE);
    ASSERT_EQ(putters[i].err, EPIPE);
  }
  ASSERT_EQ(green_queue_len(full), 1);
  ASSERT_OK(green_queue_free(empty));
  ASSERT_OK(green_queue_free(full));
  share_stop_hubs(hubs, 2);
}

/* ---- channels and select ----------------------------------------------------------------- */

static void *chan_echo(void *arg) {
  pingpong_t *p = arg;
  void *v;
  while (green_chan_recv(p->c[0], &v, -1) == 0) ASSERT_OK(green_chan_send(p->c[1], v, -1));
  ASSERT_EQ(errno, EPIPE);
  return NULL;
}

TEST_CASE(chan_ping_pong) {
  pingpong_t p = {{NULL, NULL}, {green_chan_new(), green_chan_new()}};
  green_t *g;
  void *v;
  long i;
  share_start_hubs(hubs, 2);
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], chan_echo, &p), NULL);
  for (i = 0; i < ROUNDS; i++) {
    ASSERT_OK(green_chan_send(p.c[0], P(i + 1), 10));
    ASSERT_OK(green_chan_recv(p.c[1], &v, 10));
    ASSERT_EQ(I(v), i + 1);
  }
  ASSERT_OK(green_chan_close(p.c[0]));
  ASSERT_OK(green_join(g, NULL, 10));
  ASSERT_OK(green_chan_free(p.c[0]));
  ASSERT_OK(green_chan_free(p.c[1]));
  share_stop_hubs(hubs, 2);
}

enum { SENDS = 3000 };

/* Sends SENDS values; with a timeout, retries a value whose send ran out. */
static void *send_all(void *arg) {
  worker_t *w = arg;
  long i;
  for (i = 0; i < SENDS; i++) {
    while (green_chan_send(w->c, P(w->base + i), w->timeout) < 0) {
      ASSERT_EQ(errno, ETIMEDOUT);
      w->timeouts++;
    }
  }
  return NULL;
}

static void *recv_all(void *arg) {
  worker_t *w = arg;
  void *v;
  for (;;) {
    if (green_chan_recv(w->c, &v, w->timeout) == 0) {
      w->count++;
      w->sum += I(v);
    } else if (errno == ETIMEDOUT) {
      w->timeouts++;
    } else {
      ASSERT_EQ(errno, EPIPE);
      return NULL;
    }
  }
}

/* Senders and receivers on both hubs, all with timeout `timeout`: every value sent is
 * received once. */
static void chan_many(double timeout) {
  enum { N = 4 };
  worker_t snd[N], rcv[N];
  green_t *sg[N], *rg[N];
  green_chan_t *c = green_chan_new();
  long count = 0, sum = 0;
  size_t i;
  share_start_hubs(hubs, 2);
  for (i = 0; i < N; i++) {
    snd[i] = (worker_t){NULL, c, (long)i * SENDS, 0, 0, timeout, 0, NULL};
    rcv[i] = (worker_t){NULL, c, 0, 0, 0, timeout, 0, NULL};
  }
  spread(rg, recv_all, rcv, sizeof *rcv, N);
  spread(sg, send_all, snd, sizeof *snd, N);
  join_all(sg, N);
  ASSERT_OK(green_chan_close(c));
  join_all(rg, N);
  for (i = 0; i < N; i++) {
    count += rcv[i].count;
    sum += rcv[i].sum;
  }
  ASSERT_EQ(count, (long)N * SENDS);
  ASSERT_EQ(sum, (long)N * SENDS * ((long)N * SENDS - 1) / 2);
  ASSERT_OK(green_chan_free(c));
  share_stop_hubs(hubs, 2);
}

TEST_CASE(chan_many_to_many) { chan_many(-1); }

TEST_CASE(chan_timeouts) { chan_many(0.0002); }

typedef struct selector {
  green_chan_t *in[2], *out;
  long count, sum;
} selector_t;

/* Receives from either of two channels (select) until both are closed. */
static void *select_recv(void *arg) {
  selector_t *s = arg;
  green_select_case_t cases[2] = {{s->in[0], GREEN_SELECT_RECV, NULL, 0},
                                  {s->in[1], GREEN_SELECT_RECV, NULL, 0}};
  int open = 2, i;
  while (open) {
    ASSERT_TRUE((i = green_select(cases, 2, 10)) >= 0);
    if (cases[i].err == EPIPE) {
      cases[i].chan = NULL;
      open--;
      continue;
    }
    s->count++;
    s->sum += I(cases[i].value);
  }
  return NULL;
}

/* Sends each value to whichever of the two channels has a receiver first (select). */
static void *select_send(void *arg) {
  worker_t *w = arg;
  selector_t *s = w->chans;
  long i;
  for (i = 0; i < SENDS; i++) {
    green_select_case_t cases[2] = {{s->in[0], GREEN_SELECT_SEND, P(w->base + i), 0},
                                    {s->in[1], GREEN_SELECT_SEND, P(w->base + i), 0}};
    int k;
    ASSERT_TRUE((k = green_select(cases, 2, 10)) >= 0);
    ASSERT_EQ(cases[k].err, 0);
  }
  return NULL;
}

/* Selecting senders and receivers, two channels, both hubs: each value arrives once. */
TEST_CASE(select_across) {
  enum { N = 4 };
  selector_t sel[N];
  worker_t snd[N];
  green_t *sg[N], *rg[N];
  selector_t chans = {{green_chan_new(), green_chan_new()}, NULL, 0, 0};
  long count = 0, sum = 0;
  size_t i;
  share_start_hubs(hubs, 2);
  for (i = 0; i < N; i++) {
    sel[i] = chans;
    snd[i] = (worker_t){NULL, NULL, (long)i * SENDS, 0, 0, -1, 0, &chans};
  }
  spread(rg, select_recv, sel, sizeof *sel, N);
  spread(sg, select_send, snd, sizeof *snd, N);
  join_all(sg, N);
  ASSERT_OK(green_chan_close(chans.in[0]));
  ASSERT_OK(green_chan_close(chans.in[1]));
  join_all(rg, N);
  for (i = 0; i < N; i++) {
    count += sel[i].count;
    sum += sel[i].sum;
  }
  ASSERT_EQ(count, (long)N * SENDS);
  ASSERT_EQ(sum, (long)N * SENDS * ((long)N * SENDS - 1) / 2);
  ASSERT_OK(green_chan_free(chans.in[0]));
  ASSERT_OK(green_chan_free(chans.in[1]));
  share_stop_hubs(hubs, 2);
}

/* Plain sends and receives meet selects of two channels, on both hubs, some with short
 * timeouts. A send or receive that finds a select fires it under the select's own lock; a
 * select's record left in its other channel is dropped. Each value arrives once. */
TEST_CASE(select_meets_send_recv) {
  enum { N = 4 };
  selector_t sel[N], chans = {{green_chan_new(), green_chan_new()}, NULL, 0, 0};
  worker_t snd[N], ssnd[N], rcv[N];
  green_t *sg[N], *ssg[N], *rg[N], *srg[N];
  long count = 0, sum = 0, total = 2L * N * SENDS;
  size_t i;
  share_start_hubs(hubs, 2);
  for (i = 0; i < N; i++) {
    double timeout = i % 2 ? 0.0002 : -1;
    sel[i] = chans;
    snd[i] = (worker_t){NULL, chans.in[i / 2 % 2], (long)i * SENDS, 0, 0, timeout, 0, NULL};
    ssnd[i] = (worker_t){NULL, NULL, (long)(N + i) * SENDS, 0, 0, -1, 0, &chans};
    rcv[i] = (worker_t){NULL, chans.in[i / 2 % 2], 0, 0, 0, timeout, 0, NULL};
  }
  spread(srg, select_recv, sel, sizeof *sel, N);
  spread(rg, recv_all, rcv, sizeof *rcv, N);
  spread(sg, send_all, snd, sizeof *snd, N);
  spread(ssg, select_send, ssnd, sizeof *ssnd, N);
  join_all(sg, N);
  join_all(ssg, N);
  ASSERT_OK(green_chan_close(chans.in[0]));
  ASSERT_OK(green_chan_close(chans.in[1]));
  join_all(srg, N);
  join_all(rg, N);
  for (i = 0; i < N; i++) {
    count += sel[i].count + rcv[i].count;
    sum += sel[i].sum + rcv[i].sum;
  }
  ASSERT_EQ(count, total);
  ASSERT_EQ(sum, total * (total - 1) / 2);
  ASSERT_OK(green_chan_free(chans.in[0]));
  ASSERT_OK(green_chan_free(chans.in[1]));
  share_stop_hubs(hubs, 2);
}

typedef struct chan_victim {
  green_chan_t *c;
  int err;
  void *value;
} chan_victim_t;

static void *recv_once(void *arg) {
  chan_victim_t *v = arg;
  v->err = green_chan_recv(v->c, &v->value, -1) == 0 ? 0 : errno;
  return NULL;
}

/* Receivers of hub 1 are killed while hub 0 sends with timeout 0: each send that succeeds
 * reached a receiver that returns its value. */
TEST_CASE(chan_kill_while_sending) {
  enum { N = 200 };
  chan_victim_t v[N];
  green_t *g[N];
  green_chan_t *c = green_chan_new();
  long sent = 0, got = 0, i;
  share_start_hubs(hubs, 2);
  for (i = 0; i < N; i++) {
    v[i] = (chan_victim_t){c, -1, NULL};
    ASSERT_PTR_NE(g[i] = green_spawn_on(hubs[1], recv_once, &v[i]), NULL);
  }
  share_until_blocked(g[N - 1]);
  for (i = 0; i < N; i++) {
    if (i % 2) ASSERT_OK(green_kill(g[i]));
    if (green_chan_send(c, P(i + 1), 0) == 0) sent++;
    else ASSERT_EQ(errno, ETIMEDOUT);
  }
  ASSERT_OK(green_chan_close(c));
  for (i = 0; i < N; i++) {
    ASSERT_OK(green_join(g[i], NULL, 10));
    if (v[i].err == 0) got++;
    else ASSERT_TRUE(v[i].err == ECANCELED || v[i].err == EPIPE);
  }
  ASSERT_EQ(got, sent);
  ASSERT_GE(sent, N / 2); /* those never killed wait till served */
  ASSERT_OK(green_chan_free(c));
  share_stop_hubs(hubs, 2);
}

/* Receivers of hub 1 wait, one of them in a select; hub 0 closes: all fail with EPIPE. */
TEST_CASE(chan_close_across) {
  enum { N = 8 };
  chan_victim_t v[N];
  green_t *g[N];
  green_chan_t *c = green_chan_new();
  int i;
  share_start_hubs(hubs, 2);
  for (i = 0; i < N; i++) {
    v[i] = (chan_victim_t){c, -1, NULL};
    ASSERT_PTR_NE(g[i] = green_spawn_on(hubs[1], recv_once, &v[i]), NULL);
  }
  share_until_blocked(g[N - 1]);
  ASSERT_OK(green_chan_close(c));
  for (i = 0; i < N; i++) {
    ASSERT_OK(green_join(g[i], NULL, 10));
    ASSERT_EQ(v[i].err, EPIPE);
  }
  ASSERT_OK(green_chan_free(c));
  share_stop_hubs(hubs, 2);
}

/* ---- futures ----------------------------------------------------------------------------- */

typedef struct getter {
  green_future_t *f;
  double timeout;
  int err;
  void *value;
} getter_t;

static void *get_future(void *arg) {
  getter_t *w = arg;
  w->err = green_future_get(w->f, &w->value, w->timeout) == 0 ? 0 : errno;
  return NULL;
}

static void *set_future(void *arg) {
  ASSERT_OK(green_sleep(0.01));
  ASSERT_OK(green_future_set(arg, P(42)));
  ASSERT_ERRNO(green_future_set(arg, P(43)), EALREADY);
  return NULL;
}

/* Waiters on both hubs, some of them timing out about when the other hub sets the future:
 * each gets the value or ETIMEDOUT, and those that wait long enough all get it. */
TEST_CASE(future_across) {
  enum { N = 40 };
  getter_t w[N];
  green_t *g[N], *setter;
  green_future_t *f = green_future_new();
  int i, got = 0;
  share_start_hubs(hubs, 2);
  for (i = 0; i < N; i++) w[i] = (getter_t){f, i % 4 == 0 ? 10 : 0.005 + 0.0003 * i, -1, NULL};
  spread(g, get_future, w, sizeof *w, N);
  ASSERT_PTR_NE(setter = green_spawn_on(hubs[1], set_future, f), NULL);
  join_all(g, N);
  ASSERT_OK(green_join(setter, NULL, 10));
  for (i = 0; i < N; i++) {
    if (w[i].err == 0) {
      ASSERT_PTR_EQ(w[i].value, P(42));
      got++;
    } else {
      ASSERT_EQ(w[i].err, ETIMEDOUT);
      ASSERT_TRUE(i % 4 != 0);
    }
  }
  ASSERT_GE(got, N / 4);
  ASSERT_EQ(green_future_done(f), 1);
  ASSERT_OK(green_future_free(f));
  share_stop_hubs(hubs, 2);
}

static void on_done(void *arg, void *value, int err) {
  (void)err;
  *(void **)arg = value;
}

static void *set_foreign(void *arg) {
  ASSERT_OK(green_future_set(arg, P(5))); /* its callback runs on the hub that added it */
  return NULL;
}

/* A future with a done callback may be completed by another hub: the callback runs home. */
TEST_CASE(future_callback_stays_home) {
  green_future_t *f = green_future_new();
  void *seen = NULL;
  green_t *g;
  double end;
  share_start_hubs(hubs, 2);
  ASSERT_OK(green_future_add_done_callback(f, on_done, &seen));
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], set_foreign, f), NULL);
  ASSERT_OK(green_join(g, NULL, 10));
  for (end = test_now() + 10; !seen && test_now() < end;) ASSERT_OK(green_sleep(0.001));
  ASSERT_PTR_EQ(seen, P(5));
  ASSERT_OK(green_future_free(f));
  share_stop_hubs(hubs, 2);
}
