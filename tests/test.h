/* SPDX-License-Identifier: MIT */
/*
 * The test harness: assertions that print both sides and file:line (never compiled out by
 * NDEBUG), TEST_CASE registration, and a main() that runs the one case named in argv[1]
 * (`--list` prints the names). Each case runs in its own process (one ctest test per case)
 * and the runner asserts the hub is clean after it returns (not with TEST_WITHOUT_HUB, for
 * tests built without the library). Include once per executable.
 */
#ifndef GREEN_TEST_H
#define GREEN_TEST_H

#include <arpa/inet.h>
#include <errno.h>
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
      test_cases[i].fn();
#ifndef TEST_WITHOUT_HUB
      assert_hub_clean();
#endif
      return 0;
    }
  }
  fprintf(stderr, "%s: no case named %s\n", argv[0], argv[1]);
  return 2;
}

#endif
