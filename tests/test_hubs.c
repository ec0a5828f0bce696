/* SPDX-License-Identifier: MIT */
/*
 * Objects that still belong to one hub, used from another thread's hub. A greenlet of the
 * main hub holds or waits for each object; another OS thread (a hub of its own) then tries
 * to wait for it, park behind it or wake its waiter. Every such call fails with EPERM and
 * changes nothing; none aborts with a false "deadlock" or wakes a greenlet on the wrong hub.
 * The main hub then finishes its own use normally. Mutexes, conditions, semaphores and
 * events work across hubs: test_share.c.
 */
#include <pthread.h>

#include "test.h"

/* Run fn(arg) on a new OS thread and wait for it (the main hub does not run meanwhile). */
static void on_other_thread(void *(*fn)(void *), void *arg) {
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, fn, arg), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
}

/* ---- rwlock: read locks held by the main hub --------------------------------------------- */

static green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;

static void *hold_read(void *arg) {
  (void)arg;
  ASSERT_OK(green_rwlock_rdlock(&rw, -1));
  ASSERT_OK(green_sleep(0.05));
  ASSERT_OK(green_rwlock_unlock(&rw));
  return NULL;
}

static void *rwlock_from_other(void *arg) {
  (void)arg;
  ASSERT_ERRNO(green_rwlock_wrlock(&rw, 1), EPERM);
  ASSERT_ERRNO(green_rwlock_rdlock(&rw, 1), EPERM);
  ASSERT_ERRNO(green_rwlock_tryrdlock(&rw), EPERM);
  ASSERT_ERRNO(green_rwlock_trywrlock(&rw), EPERM);
  ASSERT_ERRNO(green_rwlock_unlock(&rw), EPERM);
  return NULL;
}

static void *rwlock_free_other(void *arg) {
  (void)arg;
  ASSERT_OK(green_rwlock_wrlock(&rw, 1)); /* free: any hub may take it */
  ASSERT_OK(green_rwlock_unlock(&rw));
  return NULL;
}

TEST_CASE(rwlock) {
  green_t *g = green_spawn(hold_read, NULL);
  ASSERT_PTR_NE(g, NULL);
  green_yield();
  on_other_thread(rwlock_from_other, NULL);
  ASSERT_OK(green_join(g, NULL, 2));
  on_other_thread(rwlock_free_other, NULL);
  ASSERT_OK(green_rwlock_wrlock(&rw, 0));
  ASSERT_OK(green_rwlock_unlock(&rw));
}

/* ---- objects that belong to the hub that made them -------------------------------------- */

typedef struct owned {
  green_future_t *future;
  green_group_t *group;
  green_gen_t *gen;
  green_iwait_t *iwait;
} owned_t;

static void *count_up(green_gen_t *gen, void *arg) {
  (void)arg;
  green_gen_yield(gen, (void *)1, NULL);
  return NULL;
}

static void *owned_from_other(void *arg) {
  owned_t *o = arg;
  size_t index;
  void *value;
  ASSERT_ERRNO(green_future_set(o->future, NULL), EPERM);
  ASSERT_ERRNO(green_group_join(o->group, 1), EPERM);
  ASSERT_ERRNO(green_gen_next(o->gen, &value), EPERM);
  ASSERT_ERRNO(green_iwait_next(o->iwait, &index, 1), EPERM);
  return NULL;
}

TEST_CASE(owned_objects) {
  owned_t o;
  void *value;
  size_t index;
  ASSERT_PTR_NE(o.future = green_future_new(), NULL);
  ASSERT_PTR_NE(o.group = green_group_new(), NULL);
  ASSERT_PTR_NE(o.gen = green_gen_new(count_up, NULL), NULL);
  ASSERT_PTR_NE(o.iwait = green_iwait_new(NULL, 0, &o.future, 1), NULL);
  on_other_thread(owned_from_other, &o);
  ASSERT_OK(green_future_set(o.future, NULL));
  ASSERT_EQ(green_iwait_next(o.iwait, &index, 1), 1);
  ASSERT_EQ(green_gen_next(o.gen, &value), 1);
  ASSERT_EQ(green_gen_next(o.gen, &value), 0);
  ASSERT_OK(green_iwait_free(o.iwait));
  ASSERT_OK(green_gen_free(o.gen));
  ASSERT_OK(green_group_free(o.group));
  ASSERT_OK(green_future_free(o.future));
}

