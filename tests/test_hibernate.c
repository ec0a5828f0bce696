/* SPDX-License-Identifier: MIT */
/* Hibernation (src/hibernate.c): a greenlet parked longer than GREEN_HIBERNATE_MS has its
 * stack's live bytes moved to the heap and its pages released; they come back, byte for
 * byte, when it runs or when another greenlet touches its stack. Each case sets the
 * threshold before its first hub. Skipped where hibernation cannot work: AddressSanitizer,
 * ThreadSanitizer, the ucontext switch, a kernel without guard regions. */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "test.h"

#include "../src/internal.h"
#include "../src/stack.h"

enum { BYTES = 6000 }; /* two pages of the stack at least */

static void need_hibernation(const char *ms) {
#if GREEN_HAVE_ASAN || GREEN_HAVE_TSAN || GREEN_CTX_UCONTEXT
  TEST_SKIP("no hibernation under the sanitizers or on the ucontext switch");
#endif
  if (!green__stack_guard_regions()) TEST_SKIP("the kernel has no guard regions (Linux 6.13)");
  ASSERT_OK(setenv("GREEN_HIBERNATE_MS", ms, 1));
}

static green_stats_t stats(void) {
  green_stats_t st;
  ASSERT_OK(green_stats(&st));
  return st;
}

/* Wait up to 5 s until n stacks are hibernated. */
static void wait_hibernated(size_t n) {
  double end = test_now() + 5;
  while (stats().stacks_hibernated < n) {
    if (test_now() > end) TEST_FAIL("%zu stacks hibernated, not %zu", stats().stacks_hibernated, n);
    ASSERT_OK(green_sleep(0.005));
  }
}

/* Bytes no pattern of a constant would fake: zeros, small numbers and pointer-like words. */
static void fill(unsigned char *p, size_t n, uint64_t seed) {
  uint64_t x = seed | 1;
  size_t i;
  for (i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    p[i] = (i / 64) % 3 == 0 ? 0 : (unsigned char)x;
  }
}

static int intact(const unsigned char *p, size_t n, uint64_t seed) {
  unsigned char want[BYTES];
  fill(want, n, seed);
  return memcmp(p, want, n) == 0;
}

/* Whether the page holding p is in memory. */
static int resident(const void *p) {
  unsigned char v = 0;
  uintptr_t page = (uintptr_t)p & ~(uintptr_t)4095;
  ASSERT_OK(mincore((void *)page, 4096, &v));
  return v & 1;
}

static unsigned char *published;
static green_event_t go;

static void *fill_and_park(void *arg) {
  unsigned char bytes[BYTES];
  fill(bytes, sizeof bytes, (uintptr_t)arg);
  published = bytes;
  if (green_event_wait(&go, -1) != 0) return NULL;
  return (void *)(intptr_t)intact(bytes, sizeof bytes, (uintptr_t)arg);
}

/* A greenlet whose stack holds BYTES filled from seed (at `published`), hibernated. */
static green_t *hibernated_filled(uintptr_t seed) {
  green_t *g;
  ASSERT_OK(green_event_init(&go));
  ASSERT_TRUE((g = green_spawn(fill_and_park, (void *)seed)) != NULL);
  wait_hibernated(1);
  return g;
}

/* Wake g of hibernated_filled: its bytes must be intact when it runs. */
static void wake_intact(green_t *g) {
  void *ok = NULL;
  ASSERT_OK(green_event_set(&go));
  ASSERT_OK(green_join(g, &ok, -1));
  ASSERT_EQ((intptr_t)ok, 1);
  ASSERT_OK(green_event_destroy(&go));
}

/* Its bytes leave (the pages are not resident), and come back with it. */
TEST_CASE(restored_byte_for_byte) {
  green_stats_t st;
  green_t *g;
  need_hibernation("20");
  g = hibernated_filled(12345);
  st = stats();
  ASSERT_EQ(st.hibernations, 1);
  ASSERT_RANGE(st.hibernated_bytes, 8, BYTES); /* packed: fewer bytes than it holds */
  ASSERT_TRUE(!resident(published));
  wake_intact(g);
  st = stats();
  ASSERT_EQ(st.restores, 1);
  ASSERT_EQ(st.stacks_hibernated, 0);
  ASSERT_EQ(st.hibernated_bytes, 0);
}

typedef struct family {
  unsigned char *parent_bytes;
  int child_saw;
} family_t;

static void *child(void *arg) {
  family_t *f = arg;                                  /* on the parent's stack */
  wait_hibernated(1);                                 /* the parent, parked in its join */
  f->child_saw = intact(f->parent_bytes, BYTES, 777); /* the touch restores it */
  f->parent_bytes[0] = 42;
  return NULL;
}

static void *parent(void *arg) {
  unsigned char bytes[BYTES];
  family_t f = {bytes, 0};
  green_t *c;
  (void)arg;
  fill(bytes, sizeof bytes, 777);
  if (!(c = green_spawn(child, &f)) || green_join(c, NULL, -1) != 0) return NULL;
  bytes[0] = 0; /* what the child wrote, put back for the check */
  return (void *)(intptr_t)(f.child_saw && intact(bytes, sizeof bytes, 777));
}

/* A child reads and writes through a pointer into its hibernated parent's stack. */
TEST_CASE(child_reads_hibernated_parent) {
  green_t *g;
  void *ok = NULL;
  need_hibernation("20");
  ASSERT_TRUE((g = green_spawn(parent, NULL)) != NULL);
  ASSERT_OK(green_join(g, &ok, -1));
  ASSERT_EQ((intptr_t)ok, 1);
  ASSERT_GE(stats().hibernations, 1);
}

static int fds[2];

static void *read_one(void *arg) {
  unsigned char bytes[512];
  char c;
  fill(bytes, sizeof bytes, (uintptr_t)arg);
  if (green_read(fds[0], &c, 1) != 1) return NULL;
  return (void *)(intptr_t)intact(bytes, sizeof bytes, (uintptr_t)arg);
}

/* 1,000 greenlets parked in reads on one pipe hibernate, and all wake intact. */
TEST_CASE(thousand_readers) {
  enum { N = 1000 };
  static green_t *gs[N];
  static char data[N];
  green_stats_t st;
  size_t i;
  need_hibernation("20");
  ASSERT_OK(pipe(fds));
  for (i = 0; i < N; i++) ASSERT_TRUE((gs[i] = green_spawn(read_one, (void *)(i + 1))) != NULL);
  wait_hibernated(N);
  st = stats();
  ASSERT_LT(st.hibernated_bytes / N, 1024); /* a parked read's stack, packed */
  ASSERT_EQ(green_write(fds[1], data, N), N);
  for (i = 0; i < N; i++) {
    void *ok = NULL;
    ASSERT_OK(green_join(gs[i], &ok, -1));
    ASSERT_EQ((intptr_t)ok, 1);
  }
  st = stats();
  ASSERT_EQ(st.restores, N);
  ASSERT_EQ(st.hibernated_bytes, 0);
  ASSERT_OK(green_close(fds[0]));
  ASSERT_OK(green_close(fds[1]));
}

static void *sleep_a_while(void *arg) {
  green_sleep(0.2);
  return arg;
}

/* GREEN_HIBERNATE_MS=0 turns it off. */
TEST_CASE(off_at_zero) {
  green_t *g;
  need_hibernation("0");
  ASSERT_TRUE((g = green_spawn(sleep_a_while, NULL)) != NULL);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(stats().hibernations, 0);
}

static void *block_in_read(void *arg) {
  char c;
  (void)arg;
  return (void *)(intptr_t)read(fds[0], &c, 1);
}

/* While the process has another OS thread, nothing hibernates: that thread could race the
 * copy. */
TEST_CASE(not_with_other_threads) {
  pthread_t t;
  green_t *g;
  need_hibernation("20");
  ASSERT_OK(pipe(fds));
  ASSERT_OK(pthread_create(&t, NULL, block_in_read, NULL));
  ASSERT_TRUE((g = green_spawn(sleep_a_while, NULL)) != NULL);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(stats().hibernations, 0);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  ASSERT_OK(pthread_join(t, NULL));
  close(fds[0]);
  close(fds[1]);
}

/* Starting hubs puts every hibernated stack back first: the new threads may touch them. */
TEST_CASE(restored_before_hubs_start) {
  green_hub_t *hubs[2];
  green_t *g;
  need_hibernation("20");
  g = hibernated_filled(99);
  ASSERT_TRUE(!resident(published));
  ASSERT_OK(green_hubs_start(2, hubs));
  ASSERT_TRUE(resident(published));
  ASSERT_TRUE(intact(published, BYTES, 99)); /* no fault needed */
  wake_intact(g);
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
}

/* The child of fork reads a hibernated stack of its parent's: it is restored there too. */
TEST_CASE(fork_child_reads_hibernated) {
  green_t *g;
  pid_t pid;
  int status;
  need_hibernation("20");
  g = hibernated_filled(4242);
  ASSERT_OK(pid = fork());
  if (pid == 0) _exit(intact(published, BYTES, 4242) ? 0 : 3);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(!resident(published)); /* the parent's copy still hibernates */
  wake_intact(g);
}

static void *touch_published(void *arg) {
  return (void *)(intptr_t)intact(published, BYTES, (uintptr_t)arg);
}

/* A thread the runtime did not start, born after the stack hibernated, reads it. */
TEST_CASE(foreign_thread_reads_hibernated) {
  pthread_t t;
  green_t *g;
  void *seen = NULL;
  need_hibernation("20");
  g = hibernated_filled(31337);
  ASSERT_OK(pthread_create(&t, NULL, touch_published, (void *)(uintptr_t)31337));
  ASSERT_OK(pthread_join(t, &seen));
  ASSERT_EQ((intptr_t)seen, 1);
  wake_intact(g);
}
