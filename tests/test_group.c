/* SPDX-License-Identifier: MIT */
/* Groups: spawn and add, join all (timeout, kill), kill all, members released when they end,
 * bad members, free while busy, 10,000 members with joiners woken in order. */
#include <math.h>
#include <stdint.h>

#include "test.h"

static int ended;

static void *sleep_ms(void *arg) {
  int r = green_sleep((double)(intptr_t)arg / 1000);
  ended++;
  return (void *)(intptr_t)(r == 0 ? 0 : errno);
}

static void *ret_now(void *arg) { return arg; }

/* Records the errno of a sleep that should be killed. */
static int killed_errs[256], nkilled;

static void *sleep_long(void *arg) {
  (void)arg;
  if (green_sleep(10) == -1) killed_errs[nkilled++] = errno;
  return NULL;
}

TEST_CASE(spawn_and_join) {
  green_group_t *grp = green_group_new();
  green_stats_t st;
  int i;
  ASSERT_PTR_NE(grp, NULL);
  ASSERT_EQ(green_group_size(grp), 0);
  for (i = 0; i < 10; i++) ASSERT_TRUE(green_group_spawn(grp, sleep_ms, (void *)(intptr_t)(i * 2)));
  ASSERT_EQ(green_group_size(grp), 10);
  ASSERT_OK(green_group_join(grp, -1));
  ASSERT_EQ(ended, 10);
  ASSERT_EQ(green_group_size(grp), 0);
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.greenlets, 0); /* released as they ended, without a join */
  ASSERT_OK(green_group_join(grp, 0)); /* empty: at once */
  ASSERT_OK(green_group_free(grp));
}

TEST_CASE(members_leave_as_they_end) {
  green_group_t *grp = green_group_new();
  ASSERT_PTR_NE(grp, NULL);
  ASSERT_TRUE(green_group_spawn(grp, sleep_ms, (void *)(intptr_t)0));
  ASSERT_TRUE(green_group_spawn(grp, sleep_long, NULL));
  ASSERT_OK(green_sleep(0.02));
  ASSERT_EQ(green_group_size(grp), 1);
  ASSERT_OK(green_group_kill(grp));
  ASSERT_OK(green_group_join(grp, -1));
  ASSERT_OK(green_group_free(grp));
}

TEST_CASE(add_existing) {
  green_group_t *grp = green_group_new();
  green_t *g = green_spawn(sleep_ms, (void *)(intptr_t)10), *dead;
  green_stats_t st;
  ASSERT_PTR_NE(grp, NULL);
  ASSERT_PTR_NE(g, NULL);
  ASSERT_OK(green_group_add(grp, g));
  ASSERT_ERRNO(green_group_add(grp, g), EINVAL);    /* already a member */
  ASSERT_ERRNO(green_join(g, NULL, -1), EINVAL);    /* the group owns it */
  ASSERT_ERRNO(green_detach(g), EINVAL);
  ASSERT_TRUE((dead = green_spawn(ret_now, NULL)));
  green_yield();
  ASSERT_EQ(green_state(dead), GREEN_DEAD);
  ASSERT_OK(green_group_add(grp, dead)); /* ended already: released at once */
  ASSERT_EQ(green_group_size(grp), 1);
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.greenlets, 1);
  ASSERT_OK(green_group_join(grp, -1));
  ASSERT_OK(green_group_free(grp));
}

TEST_CASE(add_bad) {
  green_group_t *grp = green_group_new(), *other = green_group_new();
  green_t *g = green_spawn(sleep_ms, (void *)(intptr_t)0), *d;
  ASSERT_PTR_NE(grp, NULL);
  ASSERT_PTR_NE(other, NULL);
  ASSERT_ERRNO(green_group_add(grp, green_current()), EINVAL); /* main */
  ASSERT_ERRNO(green_group_add(grp, NULL), EINVAL);
  ASSERT_ERRNO(green_group_add(NULL, g), EINVAL);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_ERRNO(green_group_add(grp, g), ESRCH); /* released */
  ASSERT_TRUE((d = green_spawn(sleep_ms, (void *)(intptr_t)0)));
  ASSERT_OK(green_detach(d));
  ASSERT_ERRNO(green_group_add(grp, d), EINVAL);
  ASSERT_TRUE((g = green_group_spawn(grp, sleep_ms, (void *)(intptr_t)0)));
  ASSERT_ERRNO(green_group_add(other, g), EINVAL); /* in one group at most */
  ASSERT_OK(green_group_join(grp, -1));
  ASSERT_OK(green_sleep(0.001)); /* the detached one ends */
  ASSERT_OK(green_group_free(grp));
  ASSERT_OK(green_group_free(other));
  ASSERT_ERRNO(green_group_free(NULL), EINVAL);
}

TEST_CASE(join_timeout) {
  green_group_t *grp = green_group_new();
  double t0;
  ASSERT_PTR_NE(grp, NULL);
  ASSERT_TRUE(green_group_spawn(grp, sleep_long, NULL));
  t0 = test_now();
  ASSERT_ERRNO(green_group_join(grp, 0.05), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 2.0);
  ASSERT_EQ(green_group_size(grp), 1);
  ASSERT_ERRNO(green_group_join(grp, NAN), EINVAL);
  ASSERT_OK(green_group_kill(grp));
  ASSERT_OK(green_group_join(grp, -1));
  ASSERT_EQ(nkilled, 1);
  ASSERT_OK(green_group_free(grp));
}

TEST_CASE(kill_all) {
  enum { N = 100 };
  green_group_t *grp = green_group_new();
  double t0;
  int i;
  ASSERT_PTR_NE(grp, NULL);
  for (i = 0; i < N; i++) ASSERT_TRUE(green_group_spawn(grp, sleep_long, NULL));
  green_yield(); /* they park */
  t0 = test_now();
  ASSERT_OK(green_group_kill(grp));
  ASSERT_OK(green_group_join(grp, -1));
  ASSERT_RANGE(test_now() - t0, 0, 2.0);
  ASSERT_EQ(nkilled, N);
  for (i = 0; i < N; i++) ASSERT_EQ(killed_errs[i], ECANCELED);
  ASSERT_OK(green_group_free(grp));
}

TEST_CASE(kill_before_they_run) {
  green_group_t *grp = green_group_new();
  int i;
  ASSERT_PTR_NE(grp, NULL);
  for (i = 0; i < 5; i++) ASSERT_TRUE(green_group_spawn(grp, sleep_long, NULL));
  ASSERT_OK(green_group_kill(grp)); /* never run: they end inside the kill */
  ASSERT_EQ(green_group_size(grp), 0);
  ASSERT_EQ(nkilled, 0);
  ASSERT_OK(green_group_join(grp, 0));
  ASSERT_OK(green_group_free(grp));
}

typedef struct joiner {
  green_group_t *grp;
  int r, err;
  int order;
} joiner_t;

static int join_order;

static void *join_fn(void *arg) {
  joiner_t *j = arg;
  j->r = green_group_join(j->grp, -1);
  j->err = errno;
  j->order = join_order++;
  return NULL;
}

TEST_CASE(kill_joiner) {
  green_group_t *grp = green_group_new();
  joiner_t j = {grp, 1, 0, 0};
  green_t *t;
  ASSERT_PTR_NE(grp, NULL);
  ASSERT_TRUE(green_group_spawn(grp, sleep_long, NULL));
  ASSERT_TRUE((t = green_spawn(join_fn, &j)));
  green_yield();
  ASSERT_ERRNO(green_group_free(grp), EBUSY); /* members and a joiner */
  ASSERT_OK(green_kill(t));
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(j.r, -1);
  ASSERT_EQ(j.err, ECANCELED);
  ASSERT_EQ(green_group_size(grp), 1);
  ASSERT_OK(green_group_kill(grp));
  ASSERT_OK(green_group_join(grp, -1));
  ASSERT_OK(green_group_free(grp));
}

static green_group_t *self_grp;
static int self_join_r, self_join_err;

static void *join_own_group(void *arg) {
  (void)arg;
  self_join_r = green_group_join(self_grp, 1);
  self_join_err = errno;
  return NULL;
}

TEST_CASE(member_joins_own_group) {
  ASSERT_TRUE((self_grp = green_group_new()));
  ASSERT_TRUE(green_group_spawn(self_grp, join_own_group, NULL));
  ASSERT_OK(green_group_join(self_grp, -1));
  ASSERT_EQ(self_join_r, -1);
  ASSERT_EQ(self_join_err, EDEADLK);
  ASSERT_OK(green_group_free(self_grp));
}

/* 10,000 members; three joiners wake in the order they started joining once the last ends. */
TEST_CASE(join_10000_members) {
  enum { N = 10000 };
  green_group_t *grp = green_group_new();
  joiner_t j[3];
  green_t *t[3];
  int i;
  ASSERT_PTR_NE(grp, NULL);
  for (i = 0; i < N; i++) {
    if (!green_group_spawn(grp, sleep_ms, (void *)(intptr_t)(i % 20)))
      TEST_FAIL("spawn %d: %s", i, strerror(errno));
  }
  for (i = 0; i < 3; i++) {
    j[i].grp = grp;
    j[i].r = 1;
    ASSERT_TRUE((t[i] = green_spawn(join_fn, &j[i])));
  }
  ASSERT_EQ(green_group_size(grp), N);
  ASSERT_OK(green_joinall(t, 3, -1));
  ASSERT_EQ(ended, N);
  for (i = 0; i < 3; i++) {
    ASSERT_EQ(j[i].r, 0);
    ASSERT_EQ(j[i].order, i);
  }
  ASSERT_EQ(green_group_size(grp), 0);
  ASSERT_OK(green_group_free(grp));
}
