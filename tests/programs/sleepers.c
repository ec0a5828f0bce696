/* SPDX-License-Identifier: MIT */
/*
 * N threads sleep S seconds at once, each through another of sleep, usleep, nanosleep and
 * clock_nanosleep (relative and absolute): about S seconds of wall time in all ("TOOK s",
 * from the moment all of them exist and start: creating 1,000 OS threads on a loaded machine
 * can take seconds of its own).
 *
 *   sleepers N S
 */
#include <pthread.h>
#include <stdint.h>

#include "prog.h"

static unsigned seconds;
static int gate[2]; /* the sleepers start together: main closes gate[1] */

static void *sleeper(void *arg) {
  long i = (long)(intptr_t)arg;
  struct timespec ts = {.tv_sec = seconds, .tv_nsec = 0}, now;
  char c;
  if (read(gate[0], &c, 1) != 0) prog_die("gate");
  switch (i % 4) {
  case 0: PROG_CHECK(sleep(seconds) == 0); break;
  case 1: PROG_CHECK(usleep(seconds * 1000000u) == 0); break;
  case 2: PROG_CHECK(nanosleep(&ts, NULL) == 0); break;
  default:
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_sec += seconds;
    PROG_CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL) == 0);
  }
  return (void *)(intptr_t)(i * 2);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000, i, sum = 0;
  pthread_t *t;
  double t0;
  seconds = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
  PROG_CHECK(n > 0 && (t = calloc((size_t)n, sizeof *t)) && pipe(gate) == 0);
  for (i = 0; i < n; i++)
    if (pthread_create(&t[i], NULL, sleeper, (void *)(intptr_t)i) != 0) prog_die("pthread_create");
  prog_report_threads();
  t0 = prog_now();
  close(gate[1]);
  for (i = 0; i < n; i++) {
    void *r;
    PROG_CHECK(pthread_join(t[i], &r) == 0);
    sum += (long)(intptr_t)r;
  }
  printf("%ld threads slept %u s, results sum %ld\n", n, seconds, sum);
  printf("TOOK %.3f\n", prog_now() - t0);
  free(t);
  /* the error answers are libc's */
  struct timespec bad = {.tv_sec = 0, .tv_nsec = 1000000000L};
  int r;
  errno = 0;
  r = nanosleep(&bad, NULL);
  printf("nanosleep(bad) = %d, %s\n", r, strerror(errno));
  printf("clock_nanosleep(bad) = %s\n", strerror(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL)));
  printf("clock_nanosleep(THREAD_CPUTIME) = %s\n",
         strerror(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &bad, NULL)));
  return 0;
}
