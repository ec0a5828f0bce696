/* SPDX-License-Identifier: MIT */
/*
 * Threads for greenrun's reports (tests/programs/dump.sh), parked where a dump must find
 * them.
 *   dump_threads signal    three named threads park on a pipe, a mutex and a sleep, then
 *                          main raises SIGUSR2 (greenrun --dump-signal=SIGUSR2 dumps them)
 *   dump_threads deadlock  two threads lock two mutexes in opposite orders and main joins
 *                          one: natively it hangs for good; under greenrun the join fails
 *                          with EDEADLK after a report of who waits on what
 *   dump_threads stats     spawns 5 threads that sleep, joins them (greenrun --stats)
 */
#include <signal.h>

#include "prog.h"

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static int fds[2];

__attribute__((noinline)) void *dump_reader_thread(void *arg) {
  char c;
  (void)arg;
  return read(fds[0], &c, 1) == 1 ? NULL : (void *)1;
}

__attribute__((noinline)) void *dump_locker_thread(void *arg) {
  (void)arg;
  pthread_mutex_lock(&a);
  pthread_mutex_unlock(&a);
  return NULL;
}

__attribute__((noinline)) void *dump_sleeper_thread(void *arg) {
  (void)arg;
  usleep(300000);
  return NULL;
}

static pthread_t start(void *(*fn)(void *), const char *name) {
  pthread_t t;
  if (pthread_create(&t, NULL, fn, NULL) != 0) exit(1);
  pthread_setname_np(t, name);
  return t;
}

static int signal_case(void) {
  pthread_t t[3];
  int i;
  if (pipe(fds) != 0) return 1;
  pthread_mutex_lock(&a);
  t[0] = start(dump_reader_thread, "reader");
  t[1] = start(dump_locker_thread, "locker");
  t[2] = start(dump_sleeper_thread, "sleeper");
  usleep(100000);
  raise(SIGUSR2);
  pthread_mutex_unlock(&a);
  if (write(fds[1], "x", 1) != 1) return 1;
  for (i = 0; i < 3; i++) pthread_join(t[i], NULL);
  puts("joined");
  return 0;
}

__attribute__((noinline)) void *dump_deadlock_ab(void *arg) {
  (void)arg;
  pthread_mutex_lock(&a);
  usleep(50000);
  pthread_mutex_lock(&b);
  return NULL;
}

__attribute__((noinline)) void *dump_deadlock_ba(void *arg) {
  (void)arg;
  pthread_mutex_lock(&b);
  usleep(50000);
  pthread_mutex_lock(&a);
  return NULL;
}

static int deadlock_case(void) {
  pthread_t t1 = start(dump_deadlock_ab, "lock-a-then-b"), t2 = start(dump_deadlock_ba, "lock-b-then-a");
  int r = pthread_join(t1, NULL);
  printf("pthread_join: %s\n", strerror(r));
  (void)t2;
  return 0;
}

static int stats_case(void) {
  pthread_t t[5];
  int i;
  for (i = 0; i < 5; i++) t[i] = start(dump_sleeper_thread, "sleeper");
  for (i = 0; i < 5; i++) pthread_join(t[i], NULL);
  puts("joined");
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "signal") == 0) return signal_case();
  if (strcmp(mode, "deadlock") == 0) return deadlock_case();
  if (strcmp(mode, "stats") == 0) return stats_case();
  fprintf(stderr, "usage: dump_threads signal|deadlock|stats\n");
  return 2;
}
