/* SPDX-License-Identifier: MIT */
/* Greenlet-local storage (keys, values per greenlet, destructors) and greenlet names. */
#include <pthread.h>
#include <stdint.h>

#include "test.h"

#define P(i) ((void *)(intptr_t)(i))
#define I(p) ((int)(intptr_t)(p))

static green_local_t key;

/* ---- values per greenlet --------------------------------------------------------------- */

static void *set_and_read(void *arg) {
  void *before = green_local_get(key);
  ASSERT_OK(green_local_set(key, arg));
  ASSERT_OK(green_sleep(0.001)); /* others set theirs meanwhile */
  ASSERT_PTR_EQ(before, NULL);   /* a new greenlet starts with nothing */
  return green_local_get(key);
}

TEST_CASE(values_per_greenlet) {
  green_t *g[4];
  void *res;
  int i;
  ASSERT_OK(green_local_create(&key, NULL));
  ASSERT_PTR_EQ(green_local_get(key), NULL);
  ASSERT_OK(green_local_set(key, P(100)));
  for (i = 0; i < 4; i++) ASSERT_TRUE((g[i] = green_spawn(set_and_read, P(i + 1))) != NULL);
  for (i = 0; i < 4; i++) {
    ASSERT_OK(green_join(g[i], &res, -1));
    ASSERT_EQ(I(res), i + 1);
  }
  ASSERT_EQ(I(green_local_get(key)), 100); /* main's own value */
  ASSERT_OK(green_local_set(key, NULL));
  ASSERT_OK(green_local_delete(key));
}

TEST_CASE(bad_keys) {
  green_local_t k;
  ASSERT_ERRNO(green_local_create(NULL, NULL), EINVAL);
  ASSERT_ERRNO(green_local_set(GREEN_LOCAL_MAX, P(1)), EINVAL);
  ASSERT_PTR_EQ(green_local_get(GREEN_LOCAL_MAX), NULL);
  ASSERT_ERRNO(green_local_delete(GREEN_LOCAL_MAX), EINVAL);
  ASSERT_OK(green_local_create(&k, NULL));
  ASSERT_OK(green_local_delete(k));
  ASSERT_ERRNO(green_local_delete(k), EINVAL); /* twice */
  ASSERT_ERRNO(green_local_set(k, P(1)), EINVAL);
}

TEST_CASE(keys_exhausted) {
  static green_local_t k[GREEN_LOCAL_MAX];
  green_local_t extra;
  int i;
  for (i = 0; i < GREEN_LOCAL_MAX; i++) ASSERT_OK(green_local_create(&k[i], NULL));
  ASSERT_ERRNO(green_local_create(&extra, NULL), EAGAIN);
  ASSERT_OK(green_local_set(k[GREEN_LOCAL_MAX - 1], P(5))); /* the highest key works */
  ASSERT_EQ(I(green_local_get(k[GREEN_LOCAL_MAX - 1])), 5);
  ASSERT_OK(green_local_delete(k[3]));
  ASSERT_OK(green_local_create(&extra, NULL)); /* a slot is free again */
  ASSERT_EQ(extra, k[3]);
  ASSERT_OK(green_local_delete(extra));
  for (i = 0; i < GREEN_LOCAL_MAX; i++)
    if (i != 3) ASSERT_OK(green_local_delete(k[i]));
}

/* A key deleted and created again in the same slot starts empty everywhere. */
TEST_CASE(deleted_key_forgets_values) {
  green_local_t k1, k2;
  ASSERT_OK(green_local_create(&k1, NULL));
  ASSERT_OK(green_local_set(k1, P(9)));
  ASSERT_OK(green_local_delete(k1));
  ASSERT_PTR_EQ(green_local_get(k1), NULL);
  ASSERT_OK(green_local_create(&k2, NULL));
  ASSERT_EQ(k2, k1); /* the same slot */
  ASSERT_PTR_EQ(green_local_get(k2), NULL);
  ASSERT_OK(green_local_delete(k2));
}

/* ---- destructors ------------------------------------------------------------------------ */

static int destroyed[8];
static int destroy_calls;

static void record_destroy(void *value) {
  destroyed[destroy_calls++ % 8] = I(value);
}

static void *set_value(void *arg) {
  ASSERT_OK(green_local_set(key, arg));
  return NULL;
}

TEST_CASE(destructor_at_end) {
  green_t *g[2];
  ASSERT_OK(green_local_create(&key, record_destroy));
  g[0] = green_spawn(set_value, P(41));
  g[1] = green_spawn(set_value, NULL); /* NULL values get no destructor call */
  ASSERT_OK(green_joinall(g, 2, -1));
  ASSERT_EQ(destroy_calls, 1);
  ASSERT_EQ(destroyed[0], 41);
  ASSERT_OK(green_local_delete(key));
}

static void *set_and_sleep(void *arg) {
  ASSERT_OK(green_local_set(key, arg));
  ASSERT_ERRNO(green_sleep(10), ECANCELED);
  return NULL;
}

TEST_CASE(destructor_after_kill) {
  green_t *g;
  ASSERT_OK(green_local_create(&key, record_destroy));
  g = green_spawn(set_and_sleep, P(5));
  green_yield();
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(destroy_calls, 1);
  ASSERT_EQ(destroyed[0], 5);
  ASSERT_OK(green_local_delete(key));
}

static void *set_then_delete_key(void *arg) {
  ASSERT_OK(green_local_set(key, arg));
  ASSERT_OK(green_local_delete(key));
  return NULL;
}

TEST_CASE(deleted_key_no_destructor) {
  green_t *g;
  ASSERT_OK(green_local_create(&key, record_destroy));
  g = green_spawn(set_then_delete_key, P(3));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(destroy_calls, 0);
}

/* A destructor that sets its value again runs once per round, for at most
 * GREEN_LOCAL_DESTRUCTOR_ITERATIONS rounds. */
static int rearm_calls;

static void rearm(void *value) {
  rearm_calls++;
  ASSERT_OK(green_local_set(key, value)); /* runs on the ending greenlet */
}

TEST_CASE(destructor_rounds_bounded) {
  green_t *g;
  ASSERT_OK(green_local_create(&key, rearm));
  g = green_spawn(set_value, P(1));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(rearm_calls, GREEN_LOCAL_DESTRUCTOR_ITERATIONS);
  ASSERT_OK(green_local_delete(key));
}

/* A destructor that sets another key's value: that one is destroyed in the next round. */
static green_local_t key2;

static void chain_first(void *value) {
  record_destroy(value);
  ASSERT_OK(green_local_set(key2, P(I(value) + 1)));
}

TEST_CASE(destructor_sets_other_key) {
  green_t *g;
  ASSERT_OK(green_local_create(&key2, record_destroy));
  ASSERT_OK(green_local_create(&key, chain_first));
  g = green_spawn(set_value, P(10));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(destroy_calls, 2);
  ASSERT_EQ(destroyed[0], 10);
  ASSERT_EQ(destroyed[1], 11);
  ASSERT_OK(green_local_delete(key));
  ASSERT_OK(green_local_delete(key2));
}

/* A destructor may block: it runs on the greenlet, which is still alive. */
static void sleepy_destroy(void *value) {
  ASSERT_OK(green_sleep(0.01));
  record_destroy(value);
}

TEST_CASE(destructor_may_park) {
  green_t *g;
  ASSERT_OK(green_local_create(&key, sleepy_destroy));
  g = green_spawn(set_value, P(6));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(destroy_calls, 1);
  ASSERT_EQ(destroyed[0], 6);
  ASSERT_OK(green_local_delete(key));
}

/* The main greenlet of a thread: its values are destroyed when the thread exits. */
static void *thread_main(void *arg) {
  ASSERT_OK(green_local_set(key, arg));
  return NULL;
}

TEST_CASE(main_greenlet_at_thread_exit) {
  pthread_t t;
  ASSERT_OK(green_local_create(&key, record_destroy));
  ASSERT_EQ(pthread_create(&t, NULL, thread_main, P(21)), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(destroy_calls, 1);
  ASSERT_EQ(destroyed[0], 21);
  ASSERT_OK(green_local_delete(key));
}

/* A generator is a greenlet too: its values are destroyed when it ends. */
static void *gen_sets(green_gen_t *gen, void *arg) {
  ASSERT_OK(green_local_set(key, arg));
  ASSERT_OK(green_gen_yield(gen, NULL, NULL));
  return NULL;
}

TEST_CASE(generator_destructor) {
  green_gen_t *gen;
  ASSERT_OK(green_local_create(&key, record_destroy));
  ASSERT_TRUE((gen = green_gen_new(gen_sets, P(33))) != NULL);
  ASSERT_EQ(green_gen_next(gen, NULL), 1);
  ASSERT_PTR_EQ(green_local_get(key), NULL); /* the caller's own value is untouched */
  ASSERT_EQ(destroy_calls, 0);
  ASSERT_EQ(green_gen_next(gen, NULL), 0);
  ASSERT_EQ(destroy_calls, 1);
  ASSERT_EQ(destroyed[0], 33);
  ASSERT_OK(green_gen_free(gen));
  ASSERT_OK(green_local_delete(key));
}

/* ---- names ------------------------------------------------------------------------------ */

static void *wait_a_bit(void *arg) {
  (void)arg;
  ASSERT_OK(green_sleep(0.001));
  return NULL;
}

TEST_CASE(names) {
  char name[100];
  green_t *g = green_spawn(wait_a_bit, NULL), *g2;
  ASSERT_TRUE(g != NULL);
  ASSERT_TRUE(strcmp(green_name(g), "") == 0);
  ASSERT_OK(green_set_name(g, "worker-1"));
  ASSERT_TRUE(strcmp(green_name(g), "worker-1") == 0);
  snprintf(name, sizeof name, "%s", "connection 127.0.0.1:54321 -> 127.0.0.1:8080 (keep-alive)");
  ASSERT_OK(green_set_name(g, name));
  ASSERT_EQ(strlen(green_name(g)), GREEN_NAME_MAX - 1); /* copied, cut */
  ASSERT_TRUE(strncmp(green_name(g), name, GREEN_NAME_MAX - 1) == 0);
  name[0] = 'X'; /* a copy: the caller's buffer may change */
  ASSERT_EQ(green_name(g)[0], 'c');
  ASSERT_OK(green_set_name(g, NULL));
  ASSERT_TRUE(strcmp(green_name(g), "") == 0);
  ASSERT_OK(green_set_name(g, "again"));
  ASSERT_OK(green_set_name(green_current(), "main"));
  ASSERT_TRUE(strcmp(green_name(green_current()), "main") == 0);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_ERRNO(green_set_name(g, "gone"), ESRCH); /* released */
  ASSERT_PTR_EQ(green_name(g), NULL);
  ASSERT_EQ(errno, ESRCH);
  ASSERT_ERRNO(green_set_name(NULL, "x"), EINVAL);
  ASSERT_PTR_EQ(green_name(NULL), NULL);
  ASSERT_EQ(errno, EINVAL);
  /* a new greenlet in the reused record starts without a name; the old handle stays stale */
  g2 = green_spawn(wait_a_bit, NULL);
  ASSERT_TRUE(g2 != NULL && g2 != g);
  ASSERT_TRUE(strcmp(green_name(g2), "") == 0);
  ASSERT_PTR_EQ(green_name(g), NULL);
  ASSERT_EQ(errno, ESRCH);
  ASSERT_OK(green_join(g2, NULL, -1));
}
