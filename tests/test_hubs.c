/* SPDX-License-Identifier: MIT */
/*
 * Several hubs (green_hubs_start): greenlets spawned on another hub and joined, killed,
 * detached from this one; stopping a hub; the OS threads it takes.
 *
 * Objects that still belong to one hub, used from another thread's hub. A greenlet of the
 * main hub holds or waits for each object. Another OS thread (a hub of its own) then tries to
 * wait for it, park behind it or wake its waiter. Every such call fails with EPERM and changes
 * nothing. None aborts with a false "deadlock" or wakes a greenlet on the wrong hub. The main
 * hub then finishes its own use normally. Mutexes, conditions, semaphores, events and rwlocks
 * work across hubs: test_share.c.
 */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "test.h"

#include "share_test.h"

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

/* The main hub's reader cannot run meanwhile: a writer times out, readers share (test_share.c
 * has the rwlock across hubs in full). */
static void *rwlock_from_other(void *arg) {
  (void)arg;
  ASSERT_ERRNO(green_rwlock_wrlock(&rw, 0.02), ETIMEDOUT);
  ASSERT_ERRNO(green_rwlock_trywrlock(&rw), EBUSY);
  ASSERT_ERRNO(green_rwlock_unlock(&rw), EPERM); /* holds nothing */
  ASSERT_OK(green_rwlock_rdlock(&rw, 1));
  ASSERT_OK(green_rwlock_tryrdlock(&rw));
  ASSERT_OK(green_rwlock_unlock(&rw));
  ASSERT_OK(green_rwlock_unlock(&rw));
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
  ASSERT_OK(green_group_join(o->group, 1)); /* empty: groups work from every hub */
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


/* ---- hubs: green_hubs_start, green_spawn_on, calls on another hub's greenlets ------------- */

static long tid(void) { return (long)syscall(SYS_gettid); }

/* The OS threads of this process. */
static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int n = 0;
  ASSERT_PTR_NE(d, NULL);
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* Returns the OS thread it ran on, after a yield and a short sleep. */
static void *whereami(void *arg) {
  (void)arg;
  green_yield();
  ASSERT_OK(green_sleep(0.001));
  return (void *)tid();
}

static void spawn_on_hubs(size_t n) {
  green_hub_t *hubs[4];
  green_t *gs[4][8];
  long tids[4];
  size_t i, j, k;
  ASSERT_OK(green_hubs_start(n, hubs));
  ASSERT_PTR_EQ(hubs[0], green_hub_self());
  for (i = 0; i < n; i++)
    for (j = 0; j < 8; j++) ASSERT_PTR_NE(gs[i][j] = green_spawn_on(hubs[i], whereami, NULL), NULL);
  for (i = 0; i < n; i++) {
    for (j = 0; j < 8; j++) {
      void *result = NULL;
      ASSERT_TRUE(green_id(gs[i][j]) != 0);
      ASSERT_TRUE(green_state(gs[i][j]) >= GREEN_NEW);
      ASSERT_OK(green_join(gs[i][j], &result, 5));
      if (j == 0) tids[i] = (long)result;
      ASSERT_EQ((long)result, tids[i]); /* a greenlet runs on the hub it was spawned on */
      ASSERT_ERRNO(green_join(gs[i][j], NULL, 0), ESRCH); /* released */
    }
    for (k = 0; k < i; k++) ASSERT_TRUE(tids[k] != tids[i]); /* one thread per hub */
  }
  ASSERT_EQ(tids[0], tid());
  for (i = 0; i < n; i++) ASSERT_OK(green_hub_stop(hubs[i]));
}

TEST_CASE(spawn_on_2) { spawn_on_hubs(2); }

TEST_CASE(spawn_on_4) { spawn_on_hubs(4); }

typedef struct sleeper {
  double seconds;
  int err;          /* green_sleep's errno, 0 when it returned 0 */
  atomic_int done;
} sleeper_t;

static void *sleep_for(void *arg) {
  sleeper_t *s = arg;
  s->err = green_sleep(s->seconds) < 0 ? errno : 0;
  atomic_store(&s->done, 1);
  return s;
}

TEST_CASE(kill_across) {
  green_hub_t *hubs[2];
  sleeper_t s = {10, -1, 0};
  green_t *g;
  void *result;
  double t0 = test_now();
  ASSERT_OK(green_hubs_start(2, hubs));
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], sleep_for, &s), NULL);
  share_until_blocked(g);
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, &result, 5));
  ASSERT_PTR_EQ(result, &s);
  ASSERT_EQ(s.err, ECANCELED);
  ASSERT_TRUE(test_now() - t0 < 5);
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
}

TEST_CASE(join_timeout_across) {
  green_hub_t *hubs[2];
  sleeper_t s = {0.3, -1, 0};
  green_t *g;
  double t0;
  ASSERT_OK(green_hubs_start(2, hubs));
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], sleep_for, &s), NULL);
  t0 = test_now();
  ASSERT_ERRNO(green_join(g, NULL, 0.05), ETIMEDOUT);
  ASSERT_TRUE(test_now() - t0 >= 0.04);
  ASSERT_EQ(atomic_load(&s.done), 0);
  ASSERT_EQ(green_state(g), GREEN_BLOCKED); /* the handle stays valid, joinable again */
  ASSERT_ERRNO(green_join(g, NULL, NAN), EINVAL);
  ASSERT_OK(green_join(g, NULL, 5));
  ASSERT_EQ(s.err, 0);
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
}

/* A greenlet of this hub killed while it joins one of another hub. */
static void *join_forever(void *arg) {
  return (void *)(intptr_t)(green_join(arg, NULL, -1) < 0 ? errno : 0);
}

TEST_CASE(join_killed_across) {
  green_hub_t *hubs[2];
  sleeper_t s = {0.2, -1, 0};
  green_t *g, *joiner;
  void *result;
  ASSERT_OK(green_hubs_start(2, hubs));
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], sleep_for, &s), NULL);
  ASSERT_PTR_NE(joiner = green_spawn(join_forever, g), NULL);
  ASSERT_OK(green_sleep(0.02));
  ASSERT_EQ(green_state(joiner), GREEN_BLOCKED);
  ASSERT_OK(green_kill(joiner));
  ASSERT_OK(green_join(joiner, &result, 5));
  ASSERT_EQ((intptr_t)result, ECANCELED);
  ASSERT_OK(green_join(g, NULL, 5)); /* given up: joinable again */
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
}

TEST_CASE(detach_across) {
  green_hub_t *hubs[2];
  sleeper_t s = {0.05, -1, 0};
  green_t *g;
  double end = test_now() + 5;
  ASSERT_OK(green_hubs_start(2, hubs));
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], sleep_for, &s), NULL);
  ASSERT_OK(green_detach(g));
  ASSERT_ERRNO(green_detach(g), EINVAL);
  ASSERT_ERRNO(green_join(g, NULL, 0), EINVAL);
  while (green_state(g) >= 0) { /* released on its hub as it ends */
    ASSERT_TRUE(test_now() < end);
    ASSERT_OK(green_sleep(0.005));
  }
  ASSERT_EQ(errno, ESRCH);
  ASSERT_EQ(atomic_load(&s.done), 1);
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
}

static void *nothing(void *arg) { return arg; }

TEST_CASE(stale_handle_across) {
  green_hub_t *hubs[2];
  green_t *g, *unjoined;
  ASSERT_OK(green_hubs_start(2, hubs));
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], nothing, NULL), NULL);
  ASSERT_OK(green_join(g, NULL, 5));
  ASSERT_ERRNO(green_join(g, NULL, 1), ESRCH);
  ASSERT_ERRNO(green_kill(g), ESRCH);
  ASSERT_ERRNO(green_detach(g), ESRCH);
  ASSERT_ERRNO(green_state(g), ESRCH);
  ASSERT_EQ(green_id(g), 0);
  ASSERT_EQ(errno, ESRCH);
  /* another slot, never given out */
  ASSERT_ERRNO(green_state((green_t *)((uintptr_t)g + 4096)), ESRCH);
  ASSERT_PTR_NE(unjoined = green_spawn_on(hubs[1], nothing, NULL), NULL);
  ASSERT_OK(green_hub_stop(hubs[1])); /* its thread has exited: the handle is stale */
  ASSERT_ERRNO(green_join(unjoined, NULL, 1), ESRCH);
  ASSERT_ERRNO(green_kill(unjoined), ESRCH);
  ASSERT_ERRNO(green_state(unjoined), ESRCH);
  ASSERT_OK(green_hub_stop(hubs[0]));
}

static void *sleep_then_spawn(void *arg) {
  sleeper_t *s = arg;
  ASSERT_OK(green_sleep(0.1));
  ASSERT_OK(green_detach(green_spawn(sleep_for, s))); /* spawned while its hub is stopping */
  return NULL;
}

TEST_CASE(stop_waits) {
  green_hub_t *hubs[2];
  sleeper_t s = {0.1, -1, 0};
  double t0;
  ASSERT_OK(green_hubs_start(2, hubs));
  ASSERT_OK(green_detach(green_spawn_on(hubs[1], sleep_then_spawn, &s)));
  t0 = test_now();
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_TRUE(test_now() - t0 >= 0.15);
  ASSERT_EQ(atomic_load(&s.done), 1);
  ASSERT_EQ(s.err, 0);
  ASSERT_OK(green_hub_stop(hubs[0]));
}

/* Stopping a hub ends the greenlets parked there with nothing to wake them: an iterator of
 * their own hub over a future nobody else can reach. */
static void *wait_never(void *arg) {
  green_future_t *f = green_future_new();
  green_iwait_t *it;
  size_t index;
  int err;
  (void)arg;
  ASSERT_PTR_NE(f, NULL);
  ASSERT_PTR_NE(it = green_iwait_new(NULL, 0, &f, 1), NULL);
  err = green_iwait_next(it, &index, -1) < 0 ? errno : 0;
  ASSERT_OK(green_iwait_free(it));
  ASSERT_OK(green_future_free(f));
  return (void *)(intptr_t)err;
}

TEST_CASE(stop_kills_stuck) {
  green_hub_t *hubs[2];
  ASSERT_OK(green_hubs_start(2, hubs));
  ASSERT_OK(green_detach(green_spawn_on(hubs[1], wait_never, NULL)));
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
}

/* A greenlet waiting on an event is not stuck while other hubs exist: any of them may set
 * it. The stop waits until one does. */
static green_event_t later = GREEN_EVENT_INITIALIZER;

static void *wait_later(void *arg) {
  (void)arg;
  ASSERT_OK(green_event_wait(&later, 10));
  return NULL;
}

static void *set_later(void *arg) {
  (void)arg;
  ASSERT_OK(green_sleep(0.1));
  ASSERT_OK(green_event_set(&later));
  return NULL;
}

TEST_CASE(stop_waits_for_shared_waiter) {
  green_hub_t *hubs[2];
  green_t *setter;
  double t0 = test_now();
  ASSERT_OK(green_hubs_start(2, hubs));
  ASSERT_OK(green_detach(green_spawn_on(hubs[1], wait_later, NULL)));
  ASSERT_PTR_NE(setter = green_spawn(set_later, NULL), NULL);
  ASSERT_OK(green_hub_stop(hubs[1])); /* the setter runs while this parks */
  ASSERT_TRUE(test_now() - t0 >= 0.09);
  ASSERT_OK(green_join(setter, NULL, 1));
  ASSERT_OK(green_hub_stop(hubs[0]));
}

static int settle_threads(int want) {
  double end = test_now() + 2;
  while (thread_count() != want && test_now() < end) ASSERT_OK(green_sleep(0.002));
  return thread_count();
}

TEST_CASE(thread_count) {
  green_hub_t *hubs[4];
  ASSERT_EQ(thread_count(), 1);
  ASSERT_OK(green_hubs_start(4, hubs));
  ASSERT_EQ(thread_count(), 4);
  ASSERT_OK(green_hub_stop(hubs[3]));
  ASSERT_EQ(settle_threads(3), 3);
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[2]));
  ASSERT_EQ(settle_threads(1), 1);
  ASSERT_OK(green_hub_stop(hubs[0]));
  ASSERT_OK(green_hubs_start(1, hubs)); /* the caller's hub alone */
  ASSERT_EQ(thread_count(), 1);
  ASSERT_PTR_EQ(hubs[0], green_hub_self());
  ASSERT_OK(green_hub_stop(hubs[0]));
}

/* A hub nobody holds a reference to ends by itself. */
TEST_CASE(released_hub_ends) {
  green_hub_t *hubs[2];
  ASSERT_OK(green_hubs_start(2, hubs));
  ASSERT_OK(green_hub_release(hubs[1]));
  ASSERT_EQ(settle_threads(1), 1);
  ASSERT_OK(green_hub_stop(hubs[0]));
}

static green_hub_t *other_hub;
static int callback_errno[3];

static void in_callback(void *arg) {
  callback_errno[0] = green_join(arg, NULL, 0) < 0 ? errno : 0;
  callback_errno[1] = green_spawn_on(other_hub, nothing, NULL) ? 0 : errno;
  callback_errno[2] = green_hub_stop(other_hub) < 0 ? errno : 0;
}

static void *stop_own_hub(void *arg) {
  return (void *)(intptr_t)(green_hub_stop(arg) < 0 ? errno : 0);
}

TEST_CASE(hubs_errors) {
  green_hub_t *hubs[2];
  sleeper_t s = {0.05, -1, 0};
  green_t *g;
  void *result;
  ASSERT_ERRNO(green_hubs_start(0, hubs), EINVAL);
  ASSERT_ERRNO(green_hubs_start(2, NULL), EINVAL);
  ASSERT_ERRNO(green_hub_stop(NULL), EINVAL);
  ASSERT_OK(green_hubs_start(2, hubs));
  ASSERT_PTR_EQ(green_spawn_on(NULL, nothing, NULL), NULL);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_PTR_EQ(green_spawn_on(hubs[1], NULL, NULL), NULL);
  ASSERT_EQ(errno, EINVAL);
  ASSERT_ERRNO(green_join(NULL, NULL, 0), EINVAL);
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], stop_own_hub, hubs[1]), NULL);
  ASSERT_OK(green_join(g, &result, 5));
  ASSERT_EQ((intptr_t)result, EDEADLK);
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], sleep_for, &s), NULL);
  other_hub = hubs[1];
  ASSERT_TRUE(green_call_soon(in_callback, g) != 0);
  ASSERT_OK(green_sleep(0.01));
  ASSERT_EQ(callback_errno[0], EPERM);
  ASSERT_EQ(callback_errno[1], EPERM);
  ASSERT_EQ(callback_errno[2], EPERM);
  ASSERT_OK(green_join(g, NULL, 5));
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
}
