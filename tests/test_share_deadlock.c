/* SPDX-License-Identifier: MIT */
/*
 * Deadlocks that span hubs (src/deadlock.c). Every greenlet of every hub waits on something
 * only a greenlet of another hub could end: a cycle of mutexes, a channel nobody sends to, a
 * cycle of joins. The main greenlet's wait fails with EDEADLK, as it does with one hub, and
 * GREEN_DEBUG reports every hub's greenlets. A busy ping-pong between two hubs, with many
 * short idles on both, is never taken for one. Every wait here is without a timeout: a timer
 * could wake its hub. Without the cross-hub check these cases hang: alarm() ends them.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "test.h"

#define MAX_HUBS 4

static green_hub_t *hubs[MAX_HUBS];
static green_t *gs[MAX_HUBS];
static size_t nhubs;

static void start_hubs(size_t n) {
  alarm(30); /* a deadlock nobody reports hangs: fail instead */
  nhubs = n;
  ASSERT_OK(green_hubs_start(n, hubs));
}

static void stop_hubs(void) {
  size_t i;
  for (i = nhubs; i-- > 0;) ASSERT_OK(green_hub_stop(hubs[i]));
  alarm(0);
}

/* Spawn fn(i) on hub i, for each hub. */
static void spawn_each(void *(*fn)(void *)) {
  size_t i;
  for (i = 0; i < nhubs; i++) ASSERT_PTR_NE(gs[i] = green_spawn_on(hubs[i], fn, (void *)i), NULL);
}

/* Greenlet i names itself "deadlock_<i>" (a name is set on the greenlet's own hub). */
static void name_self(size_t i) {
  char name[32];
  snprintf(name, sizeof name, "deadlock_%zu", i);
  ASSERT_OK(green_set_name(green_current(), name));
}

/* ---- stderr into a file ------------------------------------------------------------------- */

static int saved_stderr = -1;
static FILE *captured;

static void capture_begin(void) {
  ASSERT_TRUE((captured = tmpfile()) != NULL);
  ASSERT_TRUE((saved_stderr = dup(2)) >= 0);
  ASSERT_EQ(dup2(fileno(captured), 2), 2);
}

/* What went to stderr since capture_begin (malloc'd), also copied to stdout. */
static char *capture_end(void) {
  static char buf[1 << 16];
  size_t n;
  ASSERT_EQ(dup2(saved_stderr, 2), 2);
  close(saved_stderr);
  rewind(captured);
  n = fread(buf, 1, sizeof buf - 1, captured);
  buf[n] = '\0';
  fclose(captured);
  fputs(buf, stdout);
  return buf;
}

/* ---- a cycle of mutexes --------------------------------------------------------------------- */

static green_mutex_t locks[MAX_HUBS];
static green_event_t all_hold = GREEN_EVENT_INITIALIZER;
static atomic_size_t holding;

/* Greenlet i holds lock i, then waits for lock i + 1. Returns the second lock's errno. */
static void *lock_in_cycle(void *arg) {
  size_t i = (size_t)arg;
  int err = 0;
  name_self(i);
  ASSERT_OK(green_mutex_lock(&locks[i], -1));
  if (atomic_fetch_add(&holding, 1) + 1 == nhubs) ASSERT_OK(green_event_set(&all_hold));
  ASSERT_OK(green_event_wait(&all_hold, -1));
  if (green_mutex_lock(&locks[(i + 1) % nhubs], -1) < 0) err = errno;
  else ASSERT_OK(green_mutex_unlock(&locks[(i + 1) % nhubs]));
  ASSERT_OK(green_mutex_unlock(&locks[i]));
  return (void *)(intptr_t)err;
}

/* main's join fails with EDEADLK; killing greenlet 0 breaks the cycle, and the rest end. */
static void mutex_cycle(size_t n) {
  void *result;
  size_t i;
  start_hubs(n);
  for (i = 0; i < n; i++) ASSERT_OK(green_mutex_init(&locks[i], GREEN_MUTEX_NORMAL));
  spawn_each(lock_in_cycle);
  ASSERT_ERRNO(green_join(gs[0], NULL, -1), EDEADLK);
  ASSERT_OK(green_kill(gs[0]));
  ASSERT_OK(green_join(gs[0], &result, 5));
  ASSERT_EQ((intptr_t)result, ECANCELED);
  for (i = 1; i < n; i++) {
    ASSERT_OK(green_join(gs[i], &result, 5));
    ASSERT_EQ((intptr_t)result, 0);
  }
  for (i = 0; i < n; i++) ASSERT_OK(green_mutex_destroy(&locks[i]));
  stop_hubs();
}

TEST_CASE(mutex_cycle_2_hubs) { mutex_cycle(2); }
TEST_CASE(mutex_cycle_4_hubs) { mutex_cycle(4); }

/* ---- a channel nobody sends to ---------------------------------------------------------- */

static green_chan_t *chan;

static void *receive(void *arg) {
  void *v;
  (void)arg;
  return (void *)(intptr_t)(green_chan_recv(chan, &v, -1) < 0 ? errno : 0);
}

/* Every hub but main's has a receiver; main receives too and gets EDEADLK. Closing the
 * channel ends the others' waits with EPIPE. */
static void chan_nobody_sends(size_t n) {
  void *v, *result;
  size_t i;
  start_hubs(n);
  ASSERT_PTR_NE(chan = green_chan_new(), NULL);
  for (i = 1; i < n; i++) ASSERT_PTR_NE(gs[i] = green_spawn_on(hubs[i], receive, NULL), NULL);
  ASSERT_ERRNO(green_chan_recv(chan, &v, -1), EDEADLK);
  ASSERT_OK(green_chan_close(chan));
  for (i = 1; i < n; i++) {
    ASSERT_OK(green_join(gs[i], &result, 5));
    ASSERT_EQ((intptr_t)result, EPIPE);
  }
  ASSERT_OK(green_chan_free(chan));
  stop_hubs();
}

TEST_CASE(chan_nobody_sends_2_hubs) { chan_nobody_sends(2); }
TEST_CASE(chan_nobody_sends_4_hubs) { chan_nobody_sends(4); }

/* ---- a cycle of joins ------------------------------------------------------------------------ */

static green_event_t handles_set = GREEN_EVENT_INITIALIZER;
static green_event_t never = GREEN_EVENT_INITIALIZER;

/* Greenlet i joins greenlet i + 1, of the next hub. */
static void *join_in_cycle(void *arg) {
  size_t i = (size_t)arg;
  name_self(i);
  ASSERT_OK(green_event_wait(&handles_set, -1));
  return (void *)(intptr_t)(green_join(gs[(i + 1) % nhubs], NULL, -1) < 0 ? errno : 0);
}

/* main waits on an event nobody sets: EDEADLK. Killing greenlet 0 ends its join; as it ends,
 * the join of it ends, and so on round the cycle, up to greenlet 1, which nobody joins now. */
static void join_cycle(size_t n) {
  void *result;
  int tries;
  start_hubs(n);
  spawn_each(join_in_cycle);
  ASSERT_OK(green_event_set(&handles_set));
  ASSERT_ERRNO(green_event_wait(&never, -1), EDEADLK);
  ASSERT_OK(green_kill(gs[0]));
  /* greenlet 0 runs later: until it has given up its join, greenlet 1 is not joinable */
  for (tries = 0; green_join(gs[1], &result, 5) < 0; tries++) {
    ASSERT_EQ(errno, EINVAL);
    ASSERT_LT(tries, 5000);
    ASSERT_OK(green_sleep(0.001));
  }
  ASSERT_EQ((intptr_t)result, 0);
  stop_hubs();
}

TEST_CASE(join_cycle_2_hubs) { join_cycle(2); }
TEST_CASE(join_cycle_4_hubs) { join_cycle(4); }

/* ---- the report -------------------------------------------------------------------------- */

static pid_t tids[MAX_HUBS];

static void *note_tid(void *arg) {
  tids[(size_t)arg] = (pid_t)syscall(SYS_gettid);
  return NULL;
}

/* With GREEN_DEBUG, one report: its head, then each hub's greenlets in turn, then its end. */
TEST_CASE(report_lists_every_hub) {
  char *report, line[64];
  const char *p;
  size_t i;
  ASSERT_OK(setenv("GREEN_DEBUG", "1", 1));
  start_hubs(2);
  spawn_each(note_tid);
  for (i = 0; i < nhubs; i++) ASSERT_OK(green_join(gs[i], NULL, 5));
  for (i = 0; i < nhubs; i++) ASSERT_OK(green_mutex_init(&locks[i], GREEN_MUTEX_NORMAL));
  spawn_each(lock_in_cycle);
  capture_begin();
  ASSERT_ERRNO(green_join(gs[0], NULL, -1), EDEADLK);
  report = capture_end();
  ASSERT_TRUE(strstr(report, "libgreen: deadlock: every greenlet of the 2 hubs is parked") == report);
  for (p = report, i = 0; i < nhubs; i++) {
    snprintf(line, sizeof line, "hub of thread %d:", (int)tids[i]);
    ASSERT_TRUE((p = strstr(p, line)) != NULL); /* in turn */
    snprintf(line, sizeof line, "\"deadlock_%zu\" [waiting on mutex 0x", i);
    ASSERT_TRUE((p = strstr(p, line)) != NULL);
    ASSERT_TRUE(strstr(p, "lock_in_cycle") != NULL);
  }
  ASSERT_TRUE(strstr(report, "(main) [waiting on join of greenlet ") != NULL);
  ASSERT_TRUE(strstr(p, "libgreen: end of deadlock report\n") != NULL);
  ASSERT_OK(green_kill(gs[0]));
  for (i = 0; i < nhubs; i++) ASSERT_OK(green_join(gs[i], NULL, 5));
  for (i = 0; i < nhubs; i++) ASSERT_OK(green_mutex_destroy(&locks[i]));
  stop_hubs();
}

/* ---- no false report ---------------------------------------------------------------------- */

#define ROUNDS 200
#define EXCHANGES 20

static green_chan_t *ping, *pong;

static void *ponger(void *arg) {
  void *v;
  int i;
  (void)arg;
  for (i = 0; i < EXCHANGES; i++) {
    ASSERT_OK(green_chan_recv(ping, &v, -1));
    ASSERT_OK(green_chan_send(pong, v, -1));
  }
  return NULL;
}

/* Two hubs hand a value back and forth: each idles between its turns, often both at once
 * while a hand-off is on its way. No round may see a deadlock. */
TEST_CASE(ping_pong_no_false_report) {
  char *report;
  void *v;
  int round, i;
  ASSERT_OK(setenv("GREEN_DEBUG", "1", 1));
  ASSERT_PTR_NE(ping = green_chan_new(), NULL);
  ASSERT_PTR_NE(pong = green_chan_new(), NULL);
  capture_begin();
  for (round = 0; round < ROUNDS; round++) {
    start_hubs(2);
    ASSERT_PTR_NE(gs[1] = green_spawn_on(hubs[1], ponger, NULL), NULL);
    for (i = 0; i < EXCHANGES; i++) {
      ASSERT_OK(green_chan_send(ping, (void *)(intptr_t)i, -1));
      ASSERT_OK(green_chan_recv(pong, &v, -1));
      ASSERT_EQ((intptr_t)v, i);
    }
    ASSERT_OK(green_join(gs[1], NULL, 5));
    stop_hubs();
  }
  report = capture_end();
  ASSERT_TRUE(strstr(report, "deadlock") == NULL);
  ASSERT_OK(green_chan_free(ping));
  ASSERT_OK(green_chan_free(pong));
}
