/* SPDX-License-Identifier: MIT */
/*
 * Groups, pools, iwait, joinall, future callbacks and names used by greenlets of two hubs
 * (two OS threads) at once. A group is joined and killed from the hub that did not spawn its
 * members; a pool's bound holds for spawners of both hubs; iwait reports greenlets and
 * futures of both hubs in the order they finish. Generators stay with their thread (EPERM).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "test.h"

#include "share_test.h"

#define P(i) ((void *)(intptr_t)(i))
#define I(p) ((long)(intptr_t)(p))

static green_hub_t *hubs[2];

/* ---- groups ------------------------------------------------------------------------------ */

static atomic_int ran, canceled;

static void *count_after(void *arg) {
  ASSERT_OK(green_sleep((double)I(arg) / 1000));
  atomic_fetch_add(&ran, 1);
  return NULL;
}

typedef struct spawner {
  green_group_t *grp;
  int n;
} spawner_t;

/* On hub 1: spawns into a group made on hub 0, directly and through green_spawn_on. */
static void *spawn_into(void *arg) {
  spawner_t *s = arg;
  int i;
  for (i = 0; i < s->n; i++) {
    green_t *g;
    ASSERT_PTR_NE(green_group_spawn(s->grp, count_after, P(i % 5)), NULL);
    ASSERT_PTR_NE(g = green_spawn_on(hubs[0], count_after, P(i % 3)), NULL);
    ASSERT_OK(green_group_add(s->grp, g)); /* a greenlet of the other hub */
    ASSERT_EQ(green_join(g, NULL, 1), -1); /* a member now, or ended and released */
    ASSERT_TRUE(errno == EINVAL || errno == ESRCH);
  }
  return NULL;
}

/* Members of both hubs, added from hub 1; hub 0 waits for them all. */
TEST_CASE(group_members_of_two_hubs) {
  green_group_t *grp = green_group_new();
  spawner_t s = {grp, 50};
  green_t *g;
  atomic_store(&ran, 0);
  share_start_hubs(hubs, 2);
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], spawn_into, &s), NULL);
  ASSERT_OK(green_join(g, NULL, 10));
  ASSERT_OK(green_group_join(grp, 10));
  ASSERT_EQ(atomic_load(&ran), 2 * s.n);
  ASSERT_EQ(green_group_size(grp), 0);
  ASSERT_OK(green_group_free(grp));
  share_stop_hubs(hubs, 2);
}

static void *sleep_long(void *arg) {
  (void)arg;
  if (green_sleep(100) < 0 && errno == ECANCELED) atomic_fetch_add(&canceled, 1);
  return NULL;
}

static void *kill_and_join(void *arg) {
  green_group_t *grp = arg;
  ASSERT_ERRNO(green_group_join(grp, 0.02), ETIMEDOUT);
  ASSERT_EQ(green_group_size(grp), 8);
  ASSERT_OK(green_group_kill(grp));
  ASSERT_OK(green_group_join(grp, 10));
  return NULL;
}

/* Hub 1 kills and joins a group whose members sleep on both hubs. */
TEST_CASE(group_kill_from_other_hub) {
  green_group_t *grp = green_group_new();
  green_t *members[8], *g;
  int i;
  atomic_store(&canceled, 0);
  share_start_hubs(hubs, 2);
  for (i = 0; i < 8; i++) {
    ASSERT_PTR_NE(members[i] = green_spawn_on(hubs[i % 2], sleep_long, NULL), NULL);
    ASSERT_OK(green_group_add(grp, members[i]));
  }
  for (i = 0; i < 8; i++) share_until_blocked(members[i]);
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], kill_and_join, grp), NULL);
  ASSERT_OK(green_join(g, NULL, 10));
  ASSERT_EQ(atomic_load(&canceled), 8);
  ASSERT_EQ(green_group_size(grp), 0);
  ASSERT_OK(green_group_free(grp));
  share_stop_hubs(hubs, 2);
}

/* ---- pools ------------------------------------------------------------------------------- */

enum { LIMIT = 3, TASKS = 40 };

static atomic_int running, most, done;

static void *busy(void *arg) {
  int now = atomic_fetch_add(&running, 1) + 1, seen = atomic_load(&most);
  (void)arg;
  while (now > seen && !atomic_compare_exchange_weak(&most, &seen, now)) {
  }
  ASSERT_OK(green_sleep(0.001));
  atomic_fetch_sub(&running, 1);
  atomic_fetch_add(&done, 1);
  return NULL;
}

static void *fill_pool(void *arg) {
  int i;
  for (i = 0; i < TASKS; i++) ASSERT_PTR_NE(green_pool_spawn(arg, busy, NULL, 10), NULL);
  return NULL;
}

/* Spawners on both hubs: never more than LIMIT members run at once. */
TEST_CASE(pool_bound_across_hubs) {
  green_pool_t *p = green_pool_new(LIMIT);
  green_t *spawners[4];
  int i;
  atomic_store(&running, 0);
  atomic_store(&most, 0);
  atomic_store(&done, 0);
  share_start_hubs(hubs, 2);
  for (i = 0; i < 4; i++)
    ASSERT_PTR_NE(spawners[i] = green_spawn_on(hubs[i % 2], fill_pool, p), NULL);
  for (i = 0; i < 4; i++) ASSERT_OK(green_join(spawners[i], NULL, 30));
  ASSERT_OK(green_pool_join(p, 10));
  ASSERT_EQ(atomic_load(&done), 4 * TASKS);
  ASSERT_EQ(atomic_load(&most), LIMIT);
  ASSERT_OK(green_pool_free(p));
  share_stop_hubs(hubs, 2);
}

static void *spawn_one(void *arg) {
  green_t *g = green_pool_spawn(arg, sleep_long, NULL, 10); /* parks: the pool is full */
  ASSERT_PTR_NE(g, NULL);
  share_until_blocked(g);
  ASSERT_EQ(green_pool_size(arg), 1);
  ASSERT_OK(green_pool_kill(arg));
  ASSERT_OK(green_pool_join(arg, 10));
  return NULL;
}

/* A member on hub 0 ends: its slot goes to the spawner parked on hub 1. */
TEST_CASE(pool_slot_to_other_hub) {
  green_pool_t *p = green_pool_new(1);
  green_t *first, *g;
  atomic_store(&canceled, 0);
  share_start_hubs(hubs, 2);
  ASSERT_PTR_NE(first = green_pool_spawn(p, sleep_long, NULL, 0), NULL);
  share_until_blocked(first);
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], spawn_one, p), NULL);
  share_until_blocked(g);
  ASSERT_EQ(green_pool_size(p), 1);
  ASSERT_OK(green_kill(first));
  ASSERT_OK(green_join(g, NULL, 10));
  ASSERT_EQ(atomic_load(&canceled), 2);
  ASSERT_OK(green_pool_free(p));
  share_stop_hubs(hubs, 2);
}

/* ---- iwait and joinall ------------------------------------------------------------------- */

static void *return_after(void *arg) {
  ASSERT_OK(green_sleep((double)I(arg) / 1000));
  return arg;
}

/* Ends once its future `go` is set. */
static void *end_when_told(void *go) {
  ASSERT_OK(green_future_get(go, NULL, 10));
  return NULL;
}

typedef struct relay {
  green_future_t *go, *f;
} relay_t;

/* Sets f once go is set. */
static void *set_when_told(void *arg) {
  relay_t *r = arg;
  ASSERT_OK(green_future_get(r->go, NULL, 10));
  ASSERT_OK(green_future_set(r->f, P(7)));
  return NULL;
}

/* Greenlets of both hubs and a future set on hub 1, reported in the order they finish: the
 * test ends them one by one and expects each to be reported next. */
TEST_CASE(iwait_across_hubs) {
  static const size_t order[] = {2, 3, 1, 0};
  green_future_t *go[4], *f = green_future_new();
  relay_t relay;
  green_t *gs[3], *setter;
  green_iwait_t *it;
  size_t index, i;
  for (i = 0; i < 4; i++) ASSERT_PTR_NE(go[i] = green_future_new(), NULL);
  relay.go = go[3];
  relay.f = f;
  share_start_hubs(hubs, 2);
  ASSERT_PTR_NE(gs[0] = green_spawn_on(hubs[1], end_when_told, go[0]), NULL);
  ASSERT_PTR_NE(gs[1] = green_spawn_on(hubs[0], end_when_told, go[1]), NULL);
  ASSERT_PTR_NE(gs[2] = green_spawn_on(hubs[1], end_when_told, go[2]), NULL);
  ASSERT_PTR_NE(setter = green_spawn_on(hubs[1], set_when_told, &relay), NULL);
  ASSERT_PTR_NE(it = green_iwait_new(gs, 3, &f, 1), NULL);
  ASSERT_ERRNO(green_iwait_next(it, &index, 0.01), ETIMEDOUT);
  for (i = 0; i < 4; i++) {
    ASSERT_OK(green_future_set(go[order[i]], NULL));
    ASSERT_EQ(green_iwait_next(it, &index, 10), 1);
    ASSERT_EQ(index, order[i]);
  }
  ASSERT_EQ(green_iwait_next(it, &index, 10), 0);
  ASSERT_OK(green_iwait_free(it));
  for (i = 0; i < 3; i++) ASSERT_OK(green_join(gs[i], NULL, 10));
  ASSERT_OK(green_join(setter, NULL, 10));
  for (i = 0; i < 4; i++) ASSERT_OK(green_future_free(go[i]));
  ASSERT_OK(green_future_free(f));
  share_stop_hubs(hubs, 2);
}

/* An iterator freed while it watches greenlets of the other hub: they end later, unwatched. */
TEST_CASE(iwait_free_before_end) {
  green_t *gs[4];
  green_iwait_t *it;
  size_t index;
  int i;
  share_start_hubs(hubs, 2);
  for (i = 0; i < 4; i++)
    ASSERT_PTR_NE(gs[i] = green_spawn_on(hubs[1], return_after, P(20 * i)), NULL);
  ASSERT_PTR_NE(it = green_iwait_new(gs, 4, NULL, 0), NULL);
  ASSERT_EQ(green_iwait_next(it, &index, 10), 1);
  ASSERT_LT(index, 4);
  ASSERT_OK(green_iwait_free(it));
  ASSERT_RANGE(green_wait_any(gs + 1, 3, 10), 0, 3);
  for (i = 0; i < 4; i++) ASSERT_OK(green_join(gs[i], NULL, 10));
  share_stop_hubs(hubs, 2);
}

/* joinall over greenlets of both hubs and the caller's hub. */
TEST_CASE(joinall_across_hubs) {
  green_t *gs[6];
  int i;
  share_start_hubs(hubs, 2);
  for (i = 0; i < 6; i++)
    ASSERT_PTR_NE(gs[i] = green_spawn_on(hubs[i % 2], return_after, P(5 * i)), NULL);
  ASSERT_OK(green_joinall(gs, 6, 10));
  for (i = 0; i < 6; i++) ASSERT_ERRNO(green_state(gs[i]), ESRCH); /* released */
  share_stop_hubs(hubs, 2);
}

/* A joinall that times out leaves every greenlet joinable, on both hubs. */
TEST_CASE(joinall_timeout_across_hubs) {
  green_t *gs[4];
  void *result;
  int i;
  share_start_hubs(hubs, 2);
  for (i = 0; i < 4; i++)
    ASSERT_PTR_NE(gs[i] = green_spawn_on(hubs[i % 2], return_after, P(i < 2 ? 1 : 200)), NULL);
  ASSERT_ERRNO(green_joinall(gs, 4, 0.05), ETIMEDOUT);
  for (i = 0; i < 4; i++) {
    ASSERT_OK(green_join(gs[i], &result, 10));
    ASSERT_EQ(I(result), i < 2 ? 1 : 200);
  }
  share_stop_hubs(hubs, 2);
}

/* ---- future callbacks, names, generators ------------------------------------------------- */

static atomic_int calls;
static green_hub_t *_Atomic ran_on;

static void on_done(void *arg, void *value, int err) {
  ASSERT_EQ(err, 0);
  ASSERT_PTR_EQ(value, arg);
  atomic_store(&ran_on, green_hub_self());
  atomic_fetch_add(&calls, 1);
}

static void *set_it(void *arg) {
  ASSERT_OK(green_future_set(arg, P(5)));
  return NULL;
}

static void *add_callback(void *arg) {
  ASSERT_OK(green_future_add_done_callback(arg, on_done, P(5)));
  return NULL;
}

static void until_calls(int n) {
  double end = test_now() + 10;
  while (atomic_load(&calls) < n) {
    ASSERT_TRUE(test_now() < end);
    ASSERT_OK(green_sleep(0.001));
  }
}

/* A callback runs on the hub that added it, whichever hub completes the future. */
TEST_CASE(future_callback_runs_home) {
  green_future_t *f = green_future_new(), *f2 = green_future_new();
  green_t *g;
  atomic_store(&calls, 0);
  share_start_hubs(hubs, 2);
  ASSERT_OK(green_future_add_done_callback(f, on_done, P(5)));
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], set_it, f), NULL);
  ASSERT_OK(green_join(g, NULL, 10));
  until_calls(1);
  ASSERT_PTR_EQ(atomic_load(&ran_on), hubs[0]);
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], add_callback, f2), NULL);
  ASSERT_OK(green_join(g, NULL, 10));
  ASSERT_OK(green_future_set(f2, P(5)));
  until_calls(2);
  ASSERT_PTR_EQ(atomic_load(&ran_on), hubs[1]);
  ASSERT_OK(green_future_free(f));
  ASSERT_OK(green_future_free(f2));
  share_stop_hubs(hubs, 2);
}

static void *name_self(void *arg) {
  ASSERT_OK(green_set_name(green_current(), "worker"));
  (void)arg;
  ASSERT_ERRNO(green_sleep(100), ECANCELED); /* until killed */
  return NULL;
}

/* green_name and green_set_name of another hub's greenlet. */
TEST_CASE(names_across_hubs) {
  char longer[GREEN_NAME_MAX + 8];
  green_t *g;
  const char *name;
  share_start_hubs(hubs, 2);
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], name_self, NULL), NULL);
  share_until_blocked(g);
  ASSERT_PTR_NE(name = green_name(g), NULL);
  ASSERT_EQ(strcmp(name, "worker"), 0);
  ASSERT_OK(green_set_name(g, "renamed"));
  ASSERT_EQ(strcmp(green_name(g), "renamed"), 0);
  memset(longer, 'x', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  ASSERT_OK(green_set_name(g, longer)); /* cut as the local call cuts it */
  ASSERT_EQ(strlen(green_name(g)), GREEN_NAME_MAX - 1);
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, 10));
  ASSERT_PTR_EQ(green_name(g), NULL);
  ASSERT_EQ(errno, ESRCH);
  ASSERT_ERRNO(green_set_name(g, "gone"), ESRCH);
  share_stop_hubs(hubs, 2);
}

static void *count_up(green_gen_t *gen, void *arg) {
  (void)arg;
  green_gen_yield(gen, P(1), NULL);
  return NULL;
}

static void *resume_foreign(void *arg) {
  void *value;
  ASSERT_ERRNO(green_gen_next(arg, &value), EPERM);
  return NULL;
}

/* A generator is resumed on its caller's stack: another hub cannot (it would migrate). */
TEST_CASE(generator_stays_home) {
  green_gen_t *gen = green_gen_new(count_up, NULL);
  void *value;
  green_t *g;
  share_start_hubs(hubs, 2);
  ASSERT_PTR_NE(gen, NULL);
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], resume_foreign, gen), NULL);
  ASSERT_OK(green_join(g, NULL, 10));
  ASSERT_EQ(green_gen_next(gen, &value), 1);
  ASSERT_EQ(green_gen_next(gen, &value), 0);
  ASSERT_OK(green_gen_free(gen));
  share_stop_hubs(hubs, 2);
}
