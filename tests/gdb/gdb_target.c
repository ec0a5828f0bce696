/* SPDX-License-Identifier: MIT */
/*
 * The program the gdb extension's test looks at: three greenlets parked on a pipe, a mutex
 * and a sleep, in functions with names the test greps for, then the main greenlet stops in
 * gdb_target_stop, where gdb has a breakpoint. Run without gdb, it just ends. With
 * GDB_TARGET_HIBERNATE set (and GREEN_HIBERNATE_MS small), the three are hibernated first.
 * gdb_threads.c is the same with threads, for greenrun.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "green.h"

green_t *gdb_target_greenlets[3]; /* the test names one by this expression */
static int pipe_fds[2];
static green_mutex_t held = GREEN_MUTEX_INITIALIZER;
static volatile int sink;

__attribute__((noinline)) static void *gdb_target_waits_on_fd(void *arg) {
  char c;
  (void)arg;
  sink = (int)green_read(pipe_fds[0], &c, 1);
  return NULL;
}

__attribute__((noinline)) static void *gdb_target_waits_on_mutex(void *arg) {
  (void)arg;
  sink = green_mutex_lock(&held, -1);
  if (sink == 0) green_mutex_unlock(&held);
  return NULL;
}

__attribute__((noinline)) static void *gdb_target_waits_on_sleep(void *arg) {
  (void)arg;
  sink = green_sleep(60);
  return NULL;
}

/* gdb stops here: every greenlet but main is parked. */
__attribute__((noinline)) void gdb_target_stop(void) { __asm__ volatile("" ::: "memory"); }

static green_t *spawn_named(void *(*fn)(void *), const char *name) {
  green_t *g = green_spawn(fn, NULL);
  if (!g || green_set_name(g, name) != 0) {
    perror("green_spawn");
    _exit(1);
  }
  return g;
}

static int all_blocked(green_t **gs) {
  int i;
  for (i = 0; i < 3; i++)
    if (green_state(gs[i]) != GREEN_BLOCKED) return 0;
  return 1;
}

/* Wait up to 5 s for n stacks to hibernate. */
static int hibernated(size_t n) {
  green_stats_t st;
  int i;
  for (i = 0; i < 500; i++) {
    if (green_stats(&st) != 0) return 0;
    if (st.stacks_hibernated == n) return 1;
    green_sleep(0.01);
  }
  fprintf(stderr, "gdb_target: %zu stacks hibernated, not %zu\n", st.stacks_hibernated, n);
  return 0;
}

int main(void) {
  green_t **gs = gdb_target_greenlets;
  int i;
  if (pipe(pipe_fds) != 0 || green_mutex_lock(&held, -1) != 0) return 1;
  gs[0] = spawn_named(gdb_target_waits_on_fd, "fd-reader");
  gs[1] = spawn_named(gdb_target_waits_on_mutex, "mutex-locker");
  gs[2] = spawn_named(gdb_target_waits_on_sleep, "sleeper");
  for (i = 0; i < 10 && !all_blocked(gs); i++) green_yield();
  if (getenv("GDB_TARGET_HIBERNATE") && !hibernated(3)) return 1;
  gdb_target_stop();
  /* Let them end, so that a run without gdb exits cleanly. */
  green_kill(gs[2]);
  green_mutex_unlock(&held);
  if (write(pipe_fds[1], "x", 1) != 1) return 1;
  for (i = 0; i < 3; i++) green_join(gs[i], NULL, -1);
  puts("gdb_target: done");
  return 0;
}
