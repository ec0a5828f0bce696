/* SPDX-License-Identifier: MIT */
/* Preemption and the watchdog in library mode (src/tick.c). Linked with libgreen.so: with
 * libgreen inside the executable its code could not be told from the program's. */
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

static atomic_int flag;

static void *spin_until_flag(void *arg) {
  (void)arg;
  while (!atomic_load(&flag)) {
  }
  return NULL;
}

/* A greenlet spinning on a flag is preempted, so main's sleep ends and main sets the flag. */
TEST_CASE(timeslice_spin) {
  green_t *g;
  ASSERT_OK(green_set_timeslice(0.010));
  g = green_spawn(spin_until_flag, NULL);
  ASSERT_PTR_NE(g, NULL);
  ASSERT_OK(green_sleep(0.050));
  atomic_store(&flag, 1);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_OK(green_set_timeslice(0));
}

TEST_CASE(settings_invalid) {
  ASSERT_ERRNO(green_set_timeslice(-1), EINVAL);
  ASSERT_ERRNO(green_set_watchdog(0.0 / 0.0), EINVAL);
}

static void *idle(void *arg) {
  (void)arg;
  return NULL;
}

/* main blocks the hub in a plain nanosleep while a greenlet waits to run: one report on
 * stderr names the call, the greenlet and a backtrace. */
TEST_CASE(watchdog_report) {
  int p[2], saved_err = dup(2);
  char buf[8192] = {0};
  ssize_t n;
  struct timespec ts = {0, 600000000};
  green_t *g;
  ASSERT_OK(pipe2(p, O_NONBLOCK));
  ASSERT_OK(dup2(p[1], 2));
  ASSERT_OK(green_set_watchdog(0.2));
  g = green_spawn(idle, NULL);
  ASSERT_PTR_NE(g, NULL);
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
  ASSERT_OK(green_set_watchdog(0));
  ASSERT_OK(dup2(saved_err, 2));
  close(saved_err);
  n = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  close(p[1]);
  ASSERT_TRUE(n > 0);
  fputs(buf, stderr);
  ASSERT_TRUE(strstr(buf, "libgreen: the hub has been blocked for 0.") != NULL);
  ASSERT_TRUE(strstr(buf, "nanosleep") != NULL || strstr(buf, "in a system call") != NULL);
  ASSERT_TRUE(strstr(buf, "the main greenlet") != NULL);
  ASSERT_TRUE(strstr(buf, "#1 ") != NULL);
  ASSERT_TRUE(strstr(strstr(buf, "blocked for") + 1, "blocked for") == NULL); /* once */
  ASSERT_OK(green_join(g, NULL, -1));
}

__attribute__((noinline)) void *tick_test_spinner(void *arg) {
  double until = green_now() + *(double *)arg;
  while (green_now() < until) {
  }
  return NULL;
}

/* The blocking monitor: a greenlet computes for 0.6 s with preemption off while main's timer
 * is due: one report names it as running, with its function in the backtrace. The watchdog
 * stays quiet while the machine deschedules the thread (it got less than half the time):
 * on a busy machine the spin is tried again, up to 5 times. */
TEST_CASE(watchdog_names_spinner) {
  int p[2], saved_err = dup(2), tries;
  char buf[8192] = {0};
  double seconds = 0.6;
  ssize_t n = -1;
  green_t *g;
  ASSERT_OK(pipe2(p, O_NONBLOCK));
  ASSERT_OK(dup2(p[1], 2));
  ASSERT_OK(green_set_watchdog(0.2));
  for (tries = 0; tries < 5 && n <= 0; tries++) {
    ASSERT_PTR_NE(g = green_spawn(tick_test_spinner, &seconds), NULL);
    ASSERT_OK(green_set_name(g, "spinner"));
    ASSERT_OK(green_sleep(0.05));
    ASSERT_OK(green_join(g, NULL, -1));
    n = read(p[0], buf, sizeof buf - 1);
  }
  ASSERT_OK(green_set_watchdog(0));
  ASSERT_OK(dup2(saved_err, 2));
  close(saved_err);
  close(p[0]);
  close(p[1]);
  ASSERT_TRUE(n > 0);
  fputs(buf, stderr);
  ASSERT_TRUE(strstr(buf, "libgreen: the hub has been blocked for 0.") != NULL);
  ASSERT_TRUE(strstr(buf, "running (in no system call), greenlet ") != NULL);
  ASSERT_TRUE(strstr(buf, " \"spinner\"\n") != NULL);
  ASSERT_TRUE(strstr(buf, "tick_test_spinner") != NULL);
}
