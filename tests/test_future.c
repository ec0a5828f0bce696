/* SPDX-License-Identifier: MIT */
/* Futures: set/get, errors, set twice, timeout, kill, free with waiters, FIFO wake-up of
 * 10,000 waiters, done callbacks on the hub. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#include "test.h"

typedef struct getter {
  green_future_t *f;
  double timeout;
  int r, err;
  void *value;
} getter_t;

static void *get_fn(void *arg) {
  getter_t *g = arg;
  g->r = green_future_get(g->f, &g->value, g->timeout);
  g->err = errno;
  return NULL;
}

static green_t *spawn_getter(getter_t *g, green_future_t *f, double timeout) {
  green_t *t;
  g->f = f;
  g->timeout = timeout;
  g->r = 1;
  g->value = NULL;
  ASSERT_TRUE((t = spread_spawn_parked(get_fn, g)) != NULL);
  return t;
}

TEST_CASE(set_then_get) {
  green_future_t *f = green_future_new();
  void *v = NULL;
  ASSERT_PTR_NE(f, NULL);
  ASSERT_EQ(green_future_done(f), 0);
  ASSERT_OK(green_future_set(f, (void *)(intptr_t)5));
  ASSERT_EQ(green_future_done(f), 1);
  ASSERT_OK(green_future_get(f, &v, 0)); /* done: no wait even with a zero timeout */
  ASSERT_EQ((intptr_t)v, 5);
  ASSERT_OK(green_future_get(f, NULL, -1));
  ASSERT_OK(green_future_free(f));
}

TEST_CASE(get_waits_for_set) {
  green_future_t *f = green_future_new();
  getter_t g;
  green_t *t;
  ASSERT_PTR_NE(f, NULL);
  t = spawn_getter(&g, f, -1);
  ASSERT_OK(green_sleep(0.02));
  ASSERT_EQ(g.r, 1); /* still waiting */
  ASSERT_EQ(green_state(t), GREEN_BLOCKED);
  ASSERT_OK(green_future_set(f, (void *)(intptr_t)9));
  ASSERT_OK(green_future_free(f)); /* nobody is parked on it any more: the waiter has its copy */
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(g.r, 0);
  ASSERT_EQ((intptr_t)g.value, 9);
}

TEST_CASE(set_error) {
  green_future_t *f = green_future_new();
  getter_t g;
  green_t *t;
  void *v = (void *)(intptr_t)1;
  ASSERT_PTR_NE(f, NULL);
  t = spawn_getter(&g, f, -1);
  green_yield();
  ASSERT_ERRNO(green_future_set_error(f, 0), EINVAL);
  ASSERT_ERRNO(green_future_set_error(f, -3), EINVAL);
  ASSERT_EQ(green_future_done(f), 0);
  ASSERT_OK(green_future_set_error(f, ECONNRESET));
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(g.r, -1);
  ASSERT_EQ(g.err, ECONNRESET);
  ASSERT_ERRNO(green_future_get(f, &v, -1), ECONNRESET);
  ASSERT_EQ((intptr_t)v, 1); /* untouched */
  ASSERT_OK(green_future_free(f));
}

TEST_CASE(set_twice) {
  green_future_t *f = green_future_new();
  void *v;
  ASSERT_PTR_NE(f, NULL);
  ASSERT_OK(green_future_set(f, (void *)(intptr_t)1));
  ASSERT_ERRNO(green_future_set(f, (void *)(intptr_t)2), EALREADY);
  ASSERT_ERRNO(green_future_set_error(f, EIO), EALREADY);
  ASSERT_OK(green_future_get(f, &v, -1));
  ASSERT_EQ((intptr_t)v, 1); /* the first one stands */
  ASSERT_OK(green_future_free(f));
}

TEST_CASE(get_timeout) {
  green_future_t *f = green_future_new();
  double t0;
  void *v;
  ASSERT_PTR_NE(f, NULL);
  t0 = test_now();
  ASSERT_ERRNO(green_future_get(f, NULL, 0.05), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 2.0);
  ASSERT_ERRNO(green_future_get(f, NULL, 0), ETIMEDOUT);
  ASSERT_ERRNO(green_future_get(f, NULL, NAN), EINVAL);
  ASSERT_OK(green_future_set(f, (void *)(intptr_t)3)); /* still usable */
  ASSERT_OK(green_future_get(f, &v, 0));
  ASSERT_EQ((intptr_t)v, 3);
  ASSERT_OK(green_future_free(f));
}

TEST_CASE(get_deadline) {
  green_future_t *f = green_future_new();
  green_deadline_t d;
  ASSERT_PTR_NE(f, NULL);
  ASSERT_OK(green_deadline_enter(&d, 0.03));
  ASSERT_ERRNO(green_future_get(f, NULL, 10), ETIMEDOUT);
  ASSERT_TRUE(green_deadline_expired(&d));
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_OK(green_future_free(f));
}

TEST_CASE(kill_waiter) {
  green_future_t *f = green_future_new();
  getter_t g;
  green_t *t;
  ASSERT_PTR_NE(f, NULL);
  t = spawn_getter(&g, f, -1);
  green_yield();
  ASSERT_ERRNO(green_future_free(f), EBUSY);
  ASSERT_OK(green_kill(t));
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(g.r, -1);
  ASSERT_EQ(g.err, ECANCELED);
  ASSERT_OK(green_future_free(f)); /* the killed waiter left */
}

TEST_CASE(free_with_waiters) {
  green_future_t *f = green_future_new();
  getter_t g[3];
  green_t *t[3];
  int i;
  ASSERT_PTR_NE(f, NULL);
  for (i = 0; i < 3; i++) t[i] = spawn_getter(&g[i], f, -1);
  green_yield();
  ASSERT_ERRNO(green_future_free(f), EBUSY);
  ASSERT_EQ(green_future_done(f), 0); /* intact */
  ASSERT_OK(green_future_set(f, (void *)(intptr_t)11));
  ASSERT_OK(spread_joinall(t, 3, -1));
  for (i = 0; i < 3; i++) {
    ASSERT_EQ(g[i].r, 0);
    ASSERT_EQ((intptr_t)g[i].value, 11);
  }
  ASSERT_OK(green_future_free(f));
}

/* 10,000 waiters wake in the order they started waiting. */
enum { WAITERS = 10000 };
static green_future_t *fifo_f;
static atomic_int woke[WAITERS], nwoke;
static green_hub_t *woke_on[WAITERS]; /* per waiter: its hub */

static void *fifo_waiter(void *arg) {
  void *v;
  woke_on[(intptr_t)arg] = green_hub_self();
  ASSERT_OK(green_future_get(fifo_f, &v, -1));
  ASSERT_EQ((intptr_t)v, 77);
  atomic_store(&woke[atomic_fetch_add(&nwoke, 1)], (int)(intptr_t)arg);
  return NULL;
}

/* Waiters woken at once return in the order they waited: all of them on one hub; in spread
 * mode those of each hub, as the hubs run at once. */
static void assert_woke_fifo(void) {
  int i, last[TEST_MAX_HUBS] = {0};
  for (i = 0; i < TEST_MAX_HUBS; i++) last[i] = -1;
  for (i = 0; i < WAITERS; i++) {
    int id = woke[i], hub = 0;
    if (test_spread())
      while (test_hubs[hub] != woke_on[id]) hub++;
    if (id <= last[hub]) TEST_FAIL("wake-up %d was waiter %d, after waiter %d", i, id, last[hub]);
    last[hub] = id;
  }
}

TEST_CASE(fifo_10000_waiters) {
  static green_t *t[WAITERS];
  int i;
  ASSERT_TRUE((fifo_f = green_future_new()));
  for (i = 0; i < WAITERS; i++)
    ASSERT_TRUE((t[i] = spread_spawn_parked(fifo_waiter, (void *)(intptr_t)i)));
  green_yield(); /* all of them park, in spawn order */
  ASSERT_EQ(nwoke, 0);
  ASSERT_OK(green_future_set(fifo_f, (void *)(intptr_t)77));
  ASSERT_OK(spread_joinall(t, WAITERS, -1));
  ASSERT_EQ(nwoke, WAITERS);
  assert_woke_fifo();
  ASSERT_OK(green_future_free(fifo_f));
}

/* ---- done callbacks ----------------------------------------------------------------------- */

typedef struct seen {
  int id;
  void *value;
  int err;
  int on_hub;  /* a blocking call failed with EPERM: it ran on the hub */
} seen_t;

static seen_t seen[8];
static int nseen;

static void done_cb(void *arg, void *value, int err) {
  seen_t *s = &seen[nseen++];
  s->id = (int)(intptr_t)arg;
  s->value = value;
  s->err = err;
  s->on_hub = green_sleep(0.001) == -1 && errno == EPERM;
}

TEST_CASE(done_callbacks) {
  green_future_t *f = green_future_new();
  int i;
  ASSERT_PTR_NE(f, NULL);
  for (i = 0; i < 3; i++) ASSERT_OK(green_future_add_done_callback(f, done_cb, (void *)(intptr_t)i));
  green_yield();
  ASSERT_EQ(nseen, 0); /* not before it completes */
  ASSERT_OK(green_future_set(f, (void *)(intptr_t)21));
  ASSERT_EQ(nseen, 0); /* not inside set: soon, on the hub */
  ASSERT_OK(green_future_add_done_callback(f, done_cb, (void *)(intptr_t)3)); /* already done */
  green_yield();
  ASSERT_EQ(nseen, 4);
  for (i = 0; i < 4; i++) {
    ASSERT_EQ(seen[i].id, i);
    ASSERT_EQ((intptr_t)seen[i].value, 21);
    ASSERT_EQ(seen[i].err, 0);
    ASSERT_EQ(seen[i].on_hub, 1);
  }
  ASSERT_OK(green_future_free(f));
}

TEST_CASE(done_callback_error_and_free) {
  green_future_t *f = green_future_new();
  ASSERT_PTR_NE(f, NULL);
  ASSERT_OK(green_future_add_done_callback(f, done_cb, (void *)(intptr_t)1));
  ASSERT_OK(green_future_set_error(f, EPIPE));
  ASSERT_OK(green_future_free(f)); /* the callback does not need the future */
  green_yield();
  ASSERT_EQ(nseen, 1);
  ASSERT_EQ(seen[0].err, EPIPE);
  ASSERT_PTR_EQ(seen[0].value, NULL);
}

TEST_CASE(free_drops_pending_callbacks) {
  green_future_t *f = green_future_new();
  ASSERT_PTR_NE(f, NULL);
  ASSERT_OK(green_future_add_done_callback(f, done_cb, NULL));
  ASSERT_OK(green_future_add_done_callback(f, done_cb, NULL));
  ASSERT_OK(green_future_free(f)); /* never completed: they never run (and do not leak) */
  ASSERT_OK(green_sleep(0.001));
  ASSERT_EQ(nseen, 0);
}

/* ---- deadlock, threads, bad input --------------------------------------------------------- */

TEST_CASE(unset_future_is_a_deadlock) {
  green_future_t *f = green_future_new();
  ASSERT_PTR_NE(f, NULL);
  ASSERT_ERRNO(green_future_get(f, NULL, -1), EDEADLK);
  ASSERT_OK(green_future_free(f));
}

typedef struct setter {
  green_hub_t *hub;
  green_future_t *f;
} setter_t;

static void set_on_hub(void *arg) { ASSERT_OK(green_future_set(arg, (void *)(intptr_t)8)); }

static void *set_from_thread(void *arg) {
  setter_t *s = arg;
  /* the future is another hub's: it works here too (test_share_objs.c); this sets it there */
  ASSERT_EQ(green_future_done(s->f), 0);
  ASSERT_OK(green_call_threadsafe(s->hub, set_on_hub, s->f));
  ASSERT_OK(green_hub_release(s->hub));
  return NULL;
}

TEST_CASE(set_from_other_thread) {
  setter_t s;
  pthread_t t;
  void *v = NULL;
  ASSERT_TRUE((s.hub = green_hub_current()));
  ASSERT_TRUE((s.f = green_future_new()));
  ASSERT_EQ(pthread_create(&t, NULL, set_from_thread, &s), 0);
  ASSERT_OK(green_future_get(s.f, &v, 10));
  ASSERT_EQ((intptr_t)v, 8);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_OK(green_future_free(s.f));
}

TEST_CASE(bad_arguments) {
  green_future_t *f = green_future_new();
  ASSERT_PTR_NE(f, NULL);
  ASSERT_ERRNO(green_future_get(NULL, NULL, -1), EINVAL);
  ASSERT_ERRNO(green_future_set(NULL, NULL), EINVAL);
  ASSERT_ERRNO(green_future_done(NULL), EINVAL);
  ASSERT_ERRNO(green_future_free(NULL), EINVAL);
  ASSERT_ERRNO(green_future_add_done_callback(f, NULL, NULL), EINVAL);
  ASSERT_OK(green_future_free(f));
}
