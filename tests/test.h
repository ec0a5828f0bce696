/* SPDX-License-Identifier: MIT */
/*
 * The test harness: assertions that print both sides and file:line (never compiled out by
 * NDEBUG), TEST_CASE registration, and a main() that runs the one case named in argv[1]
 * (`--list` prints the names). Each case runs in its own process (one ctest test per case)
 * and the runner asserts the hub is clean after it returns (not with TEST_WITHOUT_HUB, for
 * tests built without the library). Include once per executable.
 *
 * Spread mode (GREEN_TEST_HUBS=n in the environment, n >= 2; ctest's spread.* tests): the
 * case runs with n hubs started (green_hubs_start) and stopped after it. spread_spawn places
 * greenlets on the hubs in turn, starting with hub 1; the main greenlet stays on hub 0.
 */
#ifndef GREEN_TEST_H
#define GREEN_TEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "green.h"

/* 127.0.0.1:port, the only address tests talk to. */
static inline struct sockaddr_in test_loopback(uint16_t port) {
  struct sockaddr_in sin = {0};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sin;
}

#define TEST_MAX_CASES 128

typedef struct test_case {
  const char *name;
  void (*fn)(void);
} test_case_t;

static test_case_t test_cases[TEST_MAX_CASES];
static int test_ncases;

static void test_register(const char *name, void (*fn)(void)) {
  if (test_ncases == TEST_MAX_CASES) {
    fprintf(stderr, "test.h: more than %d cases\n", TEST_MAX_CASES);
    exit(2);
  }
  test_cases[test_ncases].name = name;
  test_cases[test_ncases++].fn = fn;
}

/* Defines and registers a case. tests/CMakeLists.txt reads these lines: keep one per line,
 * at the start of the line, the name in [a-z0-9_]. */
#define TEST_CASE(name)                                                               \
  static void test_##name(void);                                                      \
  __attribute__((constructor)) static void test_register_##name(void) {               \
    test_register(#name, test_##name);                                                \
  }                                                                                   \
  static void test_##name(void)

/* Stops the process at once: a failing case must not go on and hang or crash later. */
#define TEST_FAIL(...)                                                                \
  do {                                                                                \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                   \
    fprintf(stderr, __VA_ARGS__);                                                     \
    fputc('\n', stderr);                                                              \
    fflush(stdout);                                                                   \
    _exit(1);                                                                         \
  } while (0)

/* Ends the case as skipped (ctest's SKIP_RETURN_CODE): something it needs is missing. */
#define TEST_SKIP(why)                                                                \
  do {                                                                                \
    printf("SKIP: %s\n", why);                                                        \
    fflush(stdout);                                                                   \
    _exit(77);                                                                        \
  } while (0)

#define ASSERT_TRUE(c)                                                                \
  do {                                                                                \
    if (!(c)) TEST_FAIL("assertion failed: %s", #c);                                  \
  } while (0)

/* Integer comparison: both sides are evaluated once and printed. */
#define ASSERT_CMP(a, op, b)                                                          \
  do {                                                                                \
    long long a_ = (long long)(a), b_ = (long long)(b);                               \
    if (!(a_ op b_))                                                                  \
      TEST_FAIL("assertion failed: %s %s %s (%lld vs %lld)", #a, #op, #b, a_, b_);    \
  } while (0)

#define ASSERT_EQ(a, b) ASSERT_CMP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_CMP(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_CMP(a, <, b)
#define ASSERT_LE(a, b) ASSERT_CMP(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_CMP(a, >, b)
#define ASSERT_GE(a, b) ASSERT_CMP(a, >=, b)

#define ASSERT_PTR_EQ(a, b)                                                           \
  do {                                                                                \
    const void *a_ = (a), *b_ = (b);                                                  \
    if (a_ != b_) TEST_FAIL("assertion failed: %s == %s (%p vs %p)", #a, #b, a_, b_); \
  } while (0)

#define ASSERT_PTR_NE(a, b)                                                           \
  do {                                                                                \
    const void *a_ = (a), *b_ = (b);                                                  \
    if (a_ == b_) TEST_FAIL("assertion failed: %s != %s (both %p)", #a, #b, a_);      \
  } while (0)

/* lo <= x < hi, for durations and other doubles. */
#define ASSERT_RANGE(x, lo, hi)                                                       \
  do {                                                                                \
    double x_ = (x), lo_ = (lo), hi_ = (hi);                                          \
    if (!(x_ >= lo_ && x_ < hi_))                                                     \
      TEST_FAIL("assertion failed: %s = %.6f not in [%.6f, %.6f)", #x, x_, lo_, hi_); \
  } while (0)

#define ASSERT_MEM_EQ(a, b, n)                                                        \
  do {                                                                                \
    if (memcmp((a), (b), (n)) != 0)                                                   \
      TEST_FAIL("assertion failed: %s and %s differ in their %zu bytes", #a, #b,      \
                (size_t)(n));                                                         \
  } while (0)

/* A call that must succeed (return >= 0): prints errno when it does not. */
#define ASSERT_OK(expr)                                                               \
  do {                                                                                \
    long long r_ = (long long)(expr);                                                 \
    if (r_ < 0) TEST_FAIL("%s failed: %lld, errno %s", #expr, r_, strerror(errno));   \
  } while (0)

/* expr must return -1 with errno == e. */
#define ASSERT_ERRNO(expr, e)                                                         \
  do {                                                                                \
    long long r_;                                                                     \
    int e_;                                                                           \
    errno = 0;                                                                        \
    r_ = (long long)(expr);                                                           \
    e_ = errno;                                                                       \
    if (r_ != -1 || e_ != (e))                                                        \
      TEST_FAIL("%s: expected -1 with %s (%s), got %lld with errno %d (%s)", #expr, #e, \
                strerror(e), r_, e_, strerror(e_));                                   \
  } while (0)

/* What libc returns for an input (its result, and errno when it fails) is what libgreen
 * returns for it: libc_expr runs first, on the fds as libc found them. */
#define ASSERT_SAME_RESULT(libc_expr, green_expr)                                     \
  do {                                                                                \
    long long lr_, gr_;                                                               \
    int le_, ge_;                                                                     \
    errno = 0;                                                                        \
    lr_ = (long long)(libc_expr);                                                     \
    le_ = errno;                                                                      \
    errno = 0;                                                                        \
    gr_ = (long long)(green_expr);                                                    \
    ge_ = errno;                                                                      \
    if (lr_ != gr_ || (lr_ == -1 && le_ != ge_))                                      \
      TEST_FAIL("%s gives %lld (%s) but %s gives %lld (%s)", #libc_expr, lr_,         \
                lr_ == -1 ? strerror(le_) : "ok", #green_expr, gr_,                   \
                gr_ == -1 ? strerror(ge_) : "ok");                                    \
  } while (0)

#ifndef TEST_WITHOUT_HUB
#define TEST_MAX_HUBS 8

static green_hub_t *test_hubs[TEST_MAX_HUBS];
static size_t test_nhubs = 1;
static atomic_uint test_next_hub = 1; /* spread_spawn may run on any hub */

/* Whether the case runs spread over several hubs. */
static inline int test_spread(void) { return test_nhubs > 1; }

/* Ends the case as skipped in spread mode: what it asserts holds on one hub only. */
#define TEST_ONE_HUB(why)                                                             \
  do {                                                                                \
    if (test_spread()) TEST_SKIP("one hub only: " why);                               \
  } while (0)

/* Whether the caller runs on one of the hubs of the case (not on a thread of its own). */
static inline int test_on_spread_hub(void) {
  green_hub_t *self = green_hub_self();
  size_t i;
  for (i = 0; i < test_nhubs; i++)
    if (test_hubs[i] == self) return 1;
  return 0;
}

/* green_spawn, or in spread mode green_spawn_on the next hub in turn (a thread the case
 * started itself spawns on its own hub). */
static inline green_t *spread_spawn(void *(*fn)(void *), void *arg) {
  green_hub_t *hub;
  if (!test_spread() || !test_on_spread_hub()) return green_spawn(fn, arg);
  hub = test_hubs[atomic_fetch_add(&test_next_hub, 1) % test_nhubs];
  return green_spawn_on(hub, fn, arg);
}

/* In spread mode, wait until every one of gs has parked or ended (at most 10 s): greenlets
 * spawned one by one that way queue on an object in the order they were spawned, as on one
 * hub, where they run in that order. Does nothing on one hub. */
static inline void spread_settle(green_t **gs, size_t n) {
  double limit = green_now() + 10;
  size_t i = 0;
  if (!test_spread() || !test_on_spread_hub()) return;
  while (i < n) {
    int st = green_state(gs[i]);
    if (st == GREEN_BLOCKED || st == GREEN_DEAD) {
      i++;
      continue;
    }
    if (green_now() > limit) TEST_FAIL("greenlets did not park");
    green_yield();
    if (green_state(gs[i]) != st) continue;
    if (green_sleep(0.0002) != 0) TEST_FAIL("green_sleep: %s", strerror(errno));
  }
}

/* spread_spawn, then in spread mode wait until the greenlet has parked or ended. */
static inline green_t *spread_spawn_parked(void *(*fn)(void *), void *arg) {
  green_t *g = spread_spawn(fn, arg);
  if (g) spread_settle(&g, 1);
  return g;
}

/* green_joinall, or in spread mode (it takes greenlets of the caller's hub only) a join of
 * each in turn within the same total timeout. Every greenlet must end. */
static inline int spread_joinall(green_t **gs, size_t n, double timeout) {
  double limit = green_now() + timeout;
  size_t i;
  if (!test_spread() || !test_on_spread_hub()) return green_joinall(gs, n, timeout);
  for (i = 0; i < n; i++) {
    double left = timeout < 0 ? -1 : limit - green_now();
    if (timeout >= 0 && left < 0) left = 0;
    if (green_join(gs[i], NULL, left) != 0) return -1;
  }
  return 0;
}

static void test_hubs_start(void) {
  const char *env = getenv("GREEN_TEST_HUBS");
  long n = env ? strtol(env, NULL, 10) : 1;
  if (n < 2) return;
  if (n > TEST_MAX_HUBS) n = TEST_MAX_HUBS;
  if (green_hubs_start((size_t)n, test_hubs) != 0)
    TEST_FAIL("green_hubs_start(%ld): %s", n, strerror(errno));
  test_nhubs = (size_t)n;
}

/* Waits for the other hubs' greenlets to end and their threads to exit. */
static void test_hubs_stop(void) {
  size_t i;
  if (!test_spread()) return;
  for (i = 1; i < test_nhubs; i++)
    if (green_hub_stop(test_hubs[i]) != 0) TEST_FAIL("green_hub_stop: %s", strerror(errno));
  if (green_hub_stop(test_hubs[0]) != 0) TEST_FAIL("green_hub_stop: %s", strerror(errno));
  test_nhubs = 1;
}
#endif

/* Wall time on the monotonic clock, independent of the library's. */
static inline double test_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Spin without parking: the hub gets no chance to run meanwhile. */
static inline void test_busy_wait(double seconds) {
  double end = test_now() + seconds;
  while (test_now() < end) {
  }
}

/* No live greenlet, queued or parked greenlet, watched fd or stack in use. */
static inline void assert_hub_clean(void) {
  green_stats_t st;
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.greenlets, 0);
  ASSERT_EQ(st.ready, 0);
  ASSERT_EQ(st.blocked, 0);
  ASSERT_EQ(st.fds, 0);
  ASSERT_EQ(st.stacks_in_use, 0);
}

int main(int argc, char **argv) {
  int i;
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (i = 0; i < test_ncases; i++) puts(test_cases[i].name);
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: %s CASE | --list\n", argv[0]);
    return 2;
  }
  for (i = 0; i < test_ncases; i++) {
    if (strcmp(argv[1], test_cases[i].name) == 0) {
#ifndef TEST_WITHOUT_HUB
      test_hubs_start();
#endif
      test_cases[i].fn();
#ifndef TEST_WITHOUT_HUB
      test_hubs_stop();
      assert_hub_clean();
#endif
      return 0;
    }
  }
  fprintf(stderr, "%s: no case named %s\n", argv[0], argv[1]);
  return 2;
}

#endif
