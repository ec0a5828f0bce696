/* SPDX-License-Identifier: MIT */
/*
 * The watchdog with several hubs (src/tick.c): a hub blocked outside its loop is reported with
 * its thread and number, and green__tick_stop_all (the shim calls it as the process leaves
 * main) silences every hub's timers, not only the caller's.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

void green__tick_stop_all(void); /* src/tick.h */

static pid_t blocked_tid;

static void *nap(void *arg) {
  (void)arg;
  ASSERT_ERRNO(green_sleep(1), ECANCELED); /* block_hub kills it */
  return NULL;
}

/* Keeps its hub from its loop for 0.5 s in a plain nanosleep while a greenlet of the hub waits
 * for its timer. */
static void *block_hub(void *arg) {
  struct timespec ts = {0, 500000000};
  green_t *napper;
  (void)arg;
  blocked_tid = (pid_t)syscall(SYS_gettid);
  ASSERT_PTR_NE(napper = green_spawn(nap, NULL), NULL);
  ASSERT_OK(green_sleep(0.01)); /* a poll: the watchdog is armed */
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
  ASSERT_OK(green_kill(napper));
  ASSERT_OK(green_join(napper, NULL, 5));
  return NULL;
}

/* What hub 1's block wrote to stderr (into buf), with the watchdog at 0.1 s. */
static ssize_t block_other_hub(char *buf, size_t size, int stop_all) {
  int p[2], saved_err = dup(2);
  green_hub_t *hubs[2];
  green_t *g;
  ssize_t n;
  ASSERT_OK(pipe2(p, O_NONBLOCK));
  ASSERT_OK(dup2(p[1], 2));
  ASSERT_OK(green_set_watchdog(0.1));
  ASSERT_OK(green_hubs_start(2, hubs));
  if (stop_all) green__tick_stop_all();
  ASSERT_PTR_NE(g = green_spawn_on(hubs[1], block_hub, NULL), NULL);
  ASSERT_OK(green_join(g, NULL, 5));
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
  ASSERT_OK(green_set_watchdog(0));
  ASSERT_OK(dup2(saved_err, 2));
  close(saved_err);
  n = read(p[0], buf, size - 1);
  close(p[0]);
  close(p[1]);
  buf[n > 0 ? n : 0] = '\0';
  fputs(buf, stdout);
  return n;
}

TEST_CASE(watchdog_names_its_hub) {
  char buf[8192], head[96];
  ASSERT_TRUE(block_other_hub(buf, sizeof buf, 0) > 0);
  snprintf(head, sizeof head, "libgreen: the hub of thread %d (number ", (int)blocked_tid);
  ASSERT_TRUE(strstr(buf, head) == buf);
  ASSERT_TRUE(strstr(buf, ") has been blocked for 0.") != NULL);
  ASSERT_TRUE(strstr(buf, "nanosleep") != NULL || strstr(buf, "in a system call") != NULL);
  ASSERT_TRUE(strstr(buf, "block_hub") != NULL);
}

TEST_CASE(stop_all_silences_every_hub) {
  char buf[8192];
  ASSERT_TRUE(block_other_hub(buf, sizeof buf, 1) <= 0);
}
