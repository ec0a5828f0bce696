/* SPDX-License-Identifier: MIT */
/* Events: set wakes every waiter in FIFO order, clear, timeout, deadline, kill, destroy
 * while waited on, 10,000 waiters. */
#include "sync_test.h"

static int event_wait(waiter_t *w) { return green_event_wait(w->obj, w->timeout); }

TEST_CASE(set_clear) {
  green_event_t e;
  ASSERT_OK(green_event_init(&e));
  ASSERT_EQ(green_event_is_set(&e), 0);
  ASSERT_ERRNO(green_event_wait(&e, 0), ETIMEDOUT);
  ASSERT_OK(green_event_set(&e));
  ASSERT_EQ(green_event_is_set(&e), 1);
  ASSERT_OK(green_event_wait(&e, -1)); /* set: returns at once, stays set */
  ASSERT_OK(green_event_wait(&e, 0));
  ASSERT_OK(green_event_set(&e));
  ASSERT_OK(green_event_clear(&e));
  ASSERT_EQ(green_event_is_set(&e), 0);
  ASSERT_ERRNO(green_event_wait(&e, 0.01), ETIMEDOUT);
  ASSERT_OK(green_event_destroy(&e));
}

TEST_CASE(zero_is_initialised_and_invalid) {
  static green_event_t st = GREEN_EVENT_INITIALIZER;
  green_event_t e;
  memset(&e, 0, sizeof e);
  ASSERT_EQ(green_event_is_set(&e), 0);
  ASSERT_ERRNO(green_event_wait(&e, 0), ETIMEDOUT);
  ASSERT_OK(green_event_set(&st));
  ASSERT_OK(green_event_wait(&st, -1));
  ASSERT_ERRNO(green_event_wait(&e, NAN), EINVAL);
  ASSERT_ERRNO(green_event_wait(&st, NAN), EINVAL);
  ASSERT_ERRNO(green_event_init(NULL), EINVAL);
  ASSERT_ERRNO(green_event_set(NULL), EINVAL);
  ASSERT_ERRNO(green_event_clear(NULL), EINVAL);
  ASSERT_ERRNO(green_event_is_set(NULL), EINVAL);
  ASSERT_ERRNO(green_event_wait(NULL, -1), EINVAL);
  ASSERT_ERRNO(green_event_destroy(NULL), EINVAL);
}

/* set wakes all, in the order they started waiting; a clear before they run does not take
 * the wake-up back. */
TEST_CASE(set_wakes_all_fifo) {
  green_event_t e = GREEN_EVENT_INITIALIZER;
  waiter_t w[5];
  green_t *gs[5];
  int i;
  for (i = 0; i < 5; i++) {
    gs[i] = spawn_waiter(&w[i], i, event_wait, &e, -1);
    settle(gs, i + 1);
  }
  ASSERT_OK(green_event_set(&e));
  ASSERT_OK(green_event_clear(&e));
  join_all(gs, 5);
  assert_woken_fifo(w, 5);
  for (i = 0; i < 5; i++) ASSERT_RANGE(w[i].took, 0, 1.0);
  ASSERT_OK(green_event_destroy(&e));
}

/* Waiters that start after a clear wait for the next set. */
TEST_CASE(wait_after_clear) {
  green_event_t e = GREEN_EVENT_INITIALIZER;
  waiter_t w;
  green_t *g;
  ASSERT_OK(green_event_set(&e));
  ASSERT_OK(green_event_clear(&e));
  g = spawn_waiter(&w, 0, event_wait, &e, -1);
  ASSERT_OK(green_sleep(0.02));
  ASSERT_EQ(w.done, 0);
  ASSERT_OK(green_event_set(&e));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(w.r, 0);
}

TEST_CASE(timeout_deadline_kill) {
  green_event_t e = GREEN_EVENT_INITIALIZER;
  green_deadline_t d;
  waiter_t w[2];
  green_t *gs[2];
  double t0 = test_now();
  gs[0] = spawn_waiter(&w[0], 0, event_wait, &e, 0.05);
  gs[1] = spawn_waiter(&w[1], 1, event_wait, &e, -1);
  settle(gs, 2);
  ASSERT_OK(green_kill(gs[1]));
  join_all(gs, 2);
  assert_failed(&w[0], ETIMEDOUT, 0.049, 1.5);
  assert_failed(&w[1], ECANCELED, 0, 1.0);
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  t0 = test_now();
  ASSERT_ERRNO(green_event_wait(&e, 5.0), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 1.5);
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_OK(green_event_destroy(&e)); /* the failed waiters left no trace */
}

TEST_CASE(destroy_with_waiters) {
  green_event_t e = GREEN_EVENT_INITIALIZER;
  waiter_t w[2];
  green_t *gs[2];
  gs[0] = spawn_waiter(&w[0], 0, event_wait, &e, -1);
  gs[1] = spawn_waiter(&w[1], 1, event_wait, &e, -1);
  settle(gs, 2);
  ASSERT_ERRNO(green_event_destroy(&e), EBUSY);
  ASSERT_EQ(green_event_is_set(&e), 0);
  ASSERT_OK(green_event_set(&e)); /* still works */
  join_all(gs, 2);
  assert_woken_fifo(w, 2);
  ASSERT_OK(green_event_destroy(&e));
  ASSERT_EQ(green_event_is_set(&e), 0); /* destroyed: all-zero again */
}

TEST_CASE(waiters_10k) {
  enum { N = 10000 };
  static waiter_t w[N];
  static green_t *gs[N];
  green_event_t e = GREEN_EVENT_INITIALIZER;
  int i;
  for (i = 0; i < N; i++) gs[i] = spawn_waiter(&w[i], i, event_wait, &e, -1);
  settle(gs, N);
  ASSERT_OK(green_event_set(&e));
  join_all(gs, N);
  assert_woken_fifo(w, N);
  ASSERT_OK(green_event_destroy(&e));
}
