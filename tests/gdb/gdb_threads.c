/* SPDX-License-Identifier: MIT */
/*
 * gdb_target.c as a plain POSIX program, for greenrun: three threads blocked on a pipe, a
 * mutex and a nanosleep, named with pthread_setname_np, then the main thread stops in
 * gdb_target_stop, where gdb has a breakpoint.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int pipe_fds[2];
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static volatile int sink;

__attribute__((noinline)) static void *gdb_target_waits_on_fd(void *arg) {
  char c;
  (void)arg;
  sink = (int)read(pipe_fds[0], &c, 1);
  return NULL;
}

__attribute__((noinline)) static void *gdb_target_waits_on_mutex(void *arg) {
  (void)arg;
  sink = pthread_mutex_lock(&held);
  if (sink == 0) pthread_mutex_unlock(&held);
  return NULL;
}

__attribute__((noinline)) static void *gdb_target_waits_on_sleep(void *arg) {
  struct timespec ts = {60, 0};
  (void)arg;
  sink = nanosleep(&ts, NULL);
  return NULL;
}

/* gdb stops here: every other thread is blocked. */
__attribute__((noinline)) void gdb_target_stop(void) { __asm__ volatile("" ::: "memory"); }

static pthread_t start(void *(*fn)(void *), const char *name) {
  pthread_t t;
  if (pthread_create(&t, NULL, fn, NULL) != 0 || pthread_setname_np(t, name) != 0) {
    perror("pthread_create");
    _exit(1);
  }
  return t;
}

int main(void) {
  pthread_t ts[3];
  struct timespec settle = {0, 100 * 1000 * 1000};
  int i;
  if (pipe(pipe_fds) != 0 || pthread_mutex_lock(&held) != 0) return 1;
  ts[0] = start(gdb_target_waits_on_fd, "fd-reader");
  ts[1] = start(gdb_target_waits_on_mutex, "mutex-locker");
  ts[2] = start(gdb_target_waits_on_sleep, "sleeper");
  /* Under greenrun the three run, and block, as soon as main parks here. */
  nanosleep(&settle, NULL);
  gdb_target_stop();
  pthread_cancel(ts[2]);
  pthread_mutex_unlock(&held);
  if (write(pipe_fds[1], "x", 1) != 1) return 1;
  for (i = 0; i < 3; i++) pthread_join(ts[i], NULL);
  puts("gdb_threads: done");
  return 0;
}
