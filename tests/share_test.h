/* SPDX-License-Identifier: MIT */
/*
 * Shared by the tests of objects used across hubs: OS threads that each get a hub of their
 * own, and the main hub waiting for them parked, so it keeps serving hand-offs. Include after
 * test.h.
 */
#ifndef GREEN_SHARE_TEST_H
#define GREEN_SHARE_TEST_H

#include <pthread.h>
#include <stdatomic.h>

#include "test.h"

/* Start fn(arg) on a new OS thread. */
static inline pthread_t share_start(void *(*fn)(void *), void *arg) {
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, fn, arg), 0);
  return t;
}

/* Wait, parked, until *flag reads at least v (at most `seconds`). */
static inline void share_await(atomic_int *flag, int v, double seconds) {
  double limit = green_now() + seconds;
  while (atomic_load(flag) < v) {
    ASSERT_LT(green_now(), limit);
    ASSERT_OK(green_sleep(0.001));
  }
}

/* Wait, parked, until *done counts all n threads, then join them. */
static inline void share_finish(pthread_t *t, int n, atomic_int *done) {
  share_await(done, n, 60);
  for (int i = 0; i < n; i++) ASSERT_EQ(pthread_join(t[i], NULL), 0);
}

/* Start n hubs into hubs[] (hubs[0] the caller's), and stop them again. */
static inline void share_start_hubs(green_hub_t **hubs, size_t n) {
  ASSERT_OK(green_hubs_start(n, hubs));
}

static inline void share_stop_hubs(green_hub_t **hubs, size_t n) {
  while (n-- > 0) ASSERT_OK(green_hub_stop(hubs[n]));
}

/* Wait, parked, until g (of any hub) is parked. */
static inline void share_until_blocked(green_t *g) {
  double end = green_now() + 10;
  while (green_state(g) != GREEN_BLOCKED) {
    ASSERT_LT(green_now(), end);
    ASSERT_OK(green_sleep(0.001));
  }
}

#endif
