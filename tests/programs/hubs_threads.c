/* SPDX-License-Identifier: MIT */
/*
 * Threads spread over several hubs (greenrun -j N). Each mode prints a transcript that does
 * not depend on which hub a thread runs on or on the order the hubs run in.
 *   spread     four threads sleep, compute and are joined: 1 OS thread per hub under -j N
 *   joins      joins between threads that may sit on different hubs: join, tryjoin, a
 *              timed join that times out, detach, a join of a thread that has ended
 *   cancel     pthread_cancel of threads parked in read() and in a sleep, and of a thread
 *              that has cancellation disabled
 *   main_exit  the main thread calls pthread_exit while its threads still run
 *   cpu        two CPU-bound threads, one on each hub under -j 2; TOOK says how many CPUs
 *              the process used meanwhile (CPU time over wall time)
 */
#include <pthread.h>
#include <stdint.h>

#include "prog.h"

enum { SPREAD = 4 };

static void *sleep_and_sum(void *arg) {
  uint64_t n = (uint64_t)(uintptr_t)arg, sum = 0, i;
  usleep(200000);
  for (i = 0; i <= n * 1000; i++) sum += i;
  return (void *)(uintptr_t)sum;
}

static void spread(void) {
  pthread_t t[SPREAD];
  void *r;
  for (int i = 0; i < SPREAD; i++)
    PROG_CHECK(pthread_create(&t[i], NULL, sleep_and_sum, (void *)(uintptr_t)(i + 1)) == 0);
  prog_report_threads();
  for (int i = 0; i < SPREAD; i++) {
    PROG_CHECK(pthread_join(t[i], &r) == 0);
    printf("thread %d: %llu\n", i, (unsigned long long)(uintptr_t)r);
  }
}

/* ---- joins ---- */

static void *value_after(void *arg) {
  usleep(50000);
  return arg;
}

static void *sleeper(void *arg) {
  usleep((useconds_t)(uintptr_t)arg * 1000);
  return (void *)7;
}

/* A thread that makes its own child and joins it: wherever each of them runs. */
static void *parent(void *arg) {
  pthread_t child;
  void *r = NULL;
  PROG_CHECK(pthread_create(&child, NULL, value_after, arg) == 0);
  PROG_CHECK(pthread_join(child, &r) == 0);
  return (void *)((uintptr_t)r + 1);
}

/* Joins a thread the main thread made (perhaps on another hub). */
static void *joiner(void *arg) {
  void *r = NULL;
  int e = pthread_join(*(pthread_t *)arg, &r);
  printf("joiner: join %d, value %lu\n", e, (unsigned long)(uintptr_t)r);
  return NULL;
}

static void joins(void) {
  pthread_t p[4], s, j, d, ended;
  struct timespec at;
  void *r;
  int e;
  for (int i = 0; i < 4; i++)
    PROG_CHECK(pthread_create(&p[i], NULL, parent, (void *)(uintptr_t)(10 * i)) == 0);
  prog_report_threads();
  for (int i = 0; i < 4; i++) {
    PROG_CHECK(pthread_join(p[i], &r) == 0);
    printf("parent %d: %lu\n", i, (unsigned long)(uintptr_t)r);
  }
  PROG_CHECK(pthread_create(&s, NULL, sleeper, (void *)(uintptr_t)300) == 0);
  printf("tryjoin of a sleeping thread: %s\n", strerror(pthread_tryjoin_np(s, &r)));
  clock_gettime(CLOCK_REALTIME, &at);
  at.tv_nsec += 50000000;
  if (at.tv_nsec >= 1000000000) at.tv_sec++, at.tv_nsec -= 1000000000;
  printf("timedjoin of a sleeping thread: %s\n", strerror(pthread_timedjoin_np(s, &r, &at)));
  PROG_CHECK(pthread_create(&j, NULL, joiner, &s) == 0);
  PROG_CHECK(pthread_join(j, NULL) == 0);
  PROG_CHECK(pthread_create(&d, NULL, sleeper, (void *)(uintptr_t)20) == 0);
  printf("detach: %d\n", pthread_detach(d));
  PROG_CHECK(pthread_create(&ended, NULL, value_after, (void *)5) == 0);
  usleep(200000);
  e = pthread_tryjoin_np(ended, &r);
  printf("tryjoin of an ended thread: %d, value %lu\n", e, (unsigned long)(uintptr_t)r);
}

/* ---- cancel ---- */

static int cancel_pipe[2];

static void *reads_forever(void *arg) {
  char c;
  (void)arg;
  for (;;)
    if (read(cancel_pipe[0], &c, 1) != 1) return (void *)1;
}

static void *sleeps_forever(void *arg) {
  (void)arg;
  for (;;) sleep(10);
  return NULL;
}

static void *cancel_disabled(void *arg) {
  int old;
  (void)arg;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  usleep(200000);
  pthread_setcancelstate(old, NULL);
  pthread_testcancel();
  return (void *)2;
}

static void cancel(void) {
  pthread_t t[3];
  void *(*fns[3])(void *) = {reads_forever, sleeps_forever, cancel_disabled};
  void *r;
  PROG_CHECK(pipe(cancel_pipe) == 0);
  for (int i = 0; i < 3; i++) PROG_CHECK(pthread_create(&t[i], NULL, fns[i], NULL) == 0);
  prog_report_threads();
  usleep(100000);
  for (int i = 0; i < 3; i++) printf("cancel %d: %d\n", i, pthread_cancel(t[i]));
  for (int i = 0; i < 3; i++) {
    PROG_CHECK(pthread_join(t[i], &r) == 0);
    printf("thread %d: %s\n", i, r == PTHREAD_CANCELED ? "cancelled" : "returned");
  }
}

/* ---- main_exit ---- */

static void *late(void *arg) {
  usleep((useconds_t)(uintptr_t)arg * 1000);
  printf("late thread after %lu ms\n", (unsigned long)(uintptr_t)arg);
  fflush(stdout);
  return NULL;
}

static void main_exit(void) {
  pthread_t t;
  for (int i = 1; i <= 3; i++)
    PROG_CHECK(pthread_create(&t, NULL, late, (void *)(uintptr_t)(100 * i)) == 0);
  prog_report_threads();
  printf("main calls pthread_exit\n");
  fflush(stdout);
  pthread_exit(NULL);
}

/* ---- cpu ---- */

static void *spin(void *arg) {
  volatile uint64_t h = 1469598103934665603ull;
  uint64_t n = (uint64_t)(uintptr_t)arg;
  for (uint64_t i = 0; i < n; i++) h = (h ^ i) * 1099511628211ull;
  return (void *)(uintptr_t)h;
}

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Two spinning threads. Under -j 2 they sit on the two hubs: the OS thread count is 2 while
 * they run, and the process's CPU time can grow twice as fast as the wall clock. The machine
 * the tests run on may be busy, so that ratio is only printed (TOOK, not compared). */
static void cpu(void) {
  pthread_t t[2];
  void *r;
  double wall = prog_now(), used = cpu_seconds();
  for (int i = 0; i < 2; i++)
    PROG_CHECK(pthread_create(&t[i], NULL, spin, (void *)(uintptr_t)(100000000 + i)) == 0);
  prog_report_threads();
  for (int i = 0; i < 2; i++) {
    PROG_CHECK(pthread_join(t[i], &r) == 0);
    printf("spinner %d: %016llx\n", i, (unsigned long long)(uintptr_t)r);
  }
  printf("TOOK %.2f\n", (cpu_seconds() - used) / (prog_now() - wall));
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "spread";
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(mode, "spread") == 0) spread();
  else if (strcmp(mode, "joins") == 0) joins();
  else if (strcmp(mode, "cancel") == 0) cancel();
  else if (strcmp(mode, "main_exit") == 0) main_exit();
  else if (strcmp(mode, "cpu") == 0) cpu();
  else prog_die("unknown mode %s", mode);
  return 0;
}
