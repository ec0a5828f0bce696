/* SPDX-License-Identifier: MIT */
/*
 * switch: the OS thread reference for bench_switch's green_yield. Two pthreads pinned to one
 * CPU hand a turn to each other through two POSIX semaphores (sem_post, then sem_wait: a
 * futex wake and a futex wait), so each hand-off is one kernel context switch. Prints ns per
 * one-way switch, the median of the rounds, and `RESULT switch_pthread_ns=... ns`.
 *
 * usage: switch_pthread [-n switches_per_round] [-r rounds]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <unistd.h>

#include "bench.h"

static sem_t turn[2];
static long half; /* hand-offs each thread makes per round */

static void *player(void *arg) {
  int me = (int)(long)arg;
  for (long i = 0; i < half; i++) {
    sem_wait(&turn[me]);
    sem_post(&turn[!me]);
  }
  return NULL;
}

/* Pins the calling thread (and the threads it creates) to the first CPU it may run on. */
static void pin_one_cpu(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) {
      CPU_ZERO(&set);
      CPU_SET(c, &set);
      sched_setaffinity(0, sizeof set, &set);
      return;
    }
}

int main(int argc, char **argv) {
  long n = 200000;
  int rounds = 5, opt;
  while ((opt = getopt(argc, argv, "n:r:")) != -1) {
    switch (opt) {
    case 'n': n = atol(optarg); break;
    case 'r': rounds = atoi(optarg); break;
    default: fprintf(stderr, "usage: %s [-n switches] [-r rounds]\n", argv[0]); return 2;
    }
  }
  if (n < 2 || rounds < 1 || rounds > 100) {
    fprintf(stderr, "%s: -n >= 2, -r 1..100\n", argv[0]);
    return 2;
  }
  pin_one_cpu();
  half = n / 2;
  double per[100];
  for (int r = 0; r < rounds; r++) {
    pthread_t t[2];
    sem_init(&turn[0], 0, 0);
    sem_init(&turn[1], 0, 0);
    for (long i = 0; i < 2; i++)
      if (pthread_create(&t[i], NULL, player, (void *)i) != 0) {
        perror("pthread_create");
        return 1;
      }
    double t0 = bench_now();
    sem_post(&turn[0]);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    per[r] = (bench_now() - t0) * 1e9 / (double)(2 * half);
    sem_destroy(&turn[0]);
    sem_destroy(&turn[1]);
  }
  double m = bench_median(per, rounds);
  printf("pthread semaphore ping-pong on one CPU: %.1f ns one-way (median of %d)\n", m, rounds);
  printf("RESULT switch_pthread_ns=%.2f ns\n", m);
  return 0;
}
