/* SPDX-License-Identifier: MIT */
/*
 * mutex: ns per green_mutex_lock + unlock with nobody else wanting the mutex (next to
 * pthread_mutex_lock + unlock), and ns per lock + unlock when two greenlets contend: each
 * locks, yields inside the critical section, unlocks, in a loop. The table counts how many
 * of those locks changed the owner (hand-offs): bench/mutex.go and bench/mutex_gevent.py
 * run the same loops in Go and gevent, whose mutexes let the unlocker barge.
 *
 * usage: bench_mutex [-n pairs] [-c contended_locks] [-r rounds] [-t max_seconds_per_run]
 */
#include <pthread.h>
#include <unistd.h>

#include "bench.h"
#include "green.h"

static double max_run_s = 10; /* every run stops by itself after this long */

/* ns per lock + unlock pair, over about n pairs. */
static double green_uncontended(long n) {
  green_mutex_t m = GREEN_MUTEX_INITIALIZER;
  long done = 0;
  double t0 = bench_now(), deadline = t0 + max_run_s;
  while (done < n && bench_now() < deadline) {
    for (long i = 0; i < 100000; i++) {
      if (green_mutex_lock(&m, -1) != 0 || green_mutex_unlock(&m) != 0) {
        perror("green_mutex");
        exit(1);
      }
    }
    done += 100000;
  }
  return (bench_now() - t0) * 1e9 / (double)done;
}

static double pthread_uncontended(long n) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  long done = 0;
  double t0 = bench_now(), deadline = t0 + max_run_s;
  while (done < n && bench_now() < deadline) {
    for (long i = 0; i < 100000; i++) {
      pthread_mutex_lock(&m);
      pthread_mutex_unlock(&m);
    }
    done += 100000;
  }
  return (bench_now() - t0) * 1e9 / (double)done;
}

static struct {
  green_mutex_t m;
  long left;      /* locks still to take, over both workers */
  double deadline;
  long locks, handoffs;
  int last;       /* the worker that took the previous lock */
} pp;

static void *contender(void *arg) {
  int me = (int)(intptr_t)arg;
  while (pp.left > 0) {
    if (green_mutex_lock(&pp.m, -1) != 0) {
      perror("green_mutex_lock");
      exit(1);
    }
    pp.left--;
    pp.locks++;
    pp.handoffs += pp.last != me;
    pp.last = me;
    if ((pp.locks & 1023) == 0 && bench_now() > pp.deadline)
      pp.left = 0;
    green_yield();
    green_mutex_unlock(&pp.m);
  }
  return NULL;
}

/* ns per lock + unlock of two greenlets contending, over about n locks; *share gets the
 * fraction of them that were hand-offs. */
static double green_contended(long n, double *share) {
  green_t *gs[2];
  pp.left = n;
  pp.locks = pp.handoffs = 0;
  pp.last = 0;
  double t0 = bench_now();
  pp.deadline = t0 + max_run_s;
  for (int i = 0; i < 2; i++)
    if (!(gs[i] = green_spawn(contender, (void *)(intptr_t)i))) {
      perror("green_spawn");
      exit(1);
    }
  if (green_joinall(gs, 2, -1) != 0) {
    perror("green_joinall");
    exit(1);
  }
  double t1 = bench_now();
  *share = (double)pp.handoffs / (double)pp.locks;
  return (t1 - t0) * 1e9 / (double)pp.locks;
}

int main(int argc, char **argv) {
  long n = 50000000, nc = 5000000;
  int rounds = 5, opt;
  while ((opt = getopt(argc, argv, "n:c:r:t:")) != -1) {
    switch (opt) {
    case 'n': n = bench_arg_long(optarg, "pairs"); break;
    case 'c': nc = bench_arg_long(optarg, "contended locks"); break;
    case 'r': rounds = (int)bench_arg_long(optarg, "rounds"); break;
    case 't': max_run_s = bench_arg_double(optarg, "seconds"); break;
    default:
      fprintf(stderr, "usage: %s [-n pairs] [-c contended_locks] [-r rounds] [-t max_seconds]\n",
              argv[0]);
      return 2;
    }
  }
  double *u = calloc((size_t)rounds, sizeof *u), *p = calloc((size_t)rounds, sizeof *p);
  double *c = calloc((size_t)rounds, sizeof *c), share = 0;
  if (!u || !p || !c)
    return 1;
  green_uncontended(n / 10); /* warm up */
  green_contended(nc / 10, &share);
  printf("mutex: %ld uncontended pairs, %ld contended locks by 2 greenlets; %d rounds\n", n, nc,
         rounds);
  for (int r = 0; r < rounds; r++) {
    u[r] = green_uncontended(n);
    p[r] = pthread_uncontended(n);
    c[r] = green_contended(nc, &share);
    printf("  round %d: green lock+unlock %.2f ns  pthread %.2f ns  contended %.1f ns "
           "(%.2f%% hand-offs)\n", r + 1, u[r], p[r], c[r], share * 100);
  }
  double mu = bench_median(u, rounds), mp = bench_median(p, rounds);
  double mc = bench_median(c, rounds);
  printf("green_mutex lock+unlock:       %.2f ns uncontended, %.1f ns contended (medians)\n", mu,
         mc);
  printf("pthread_mutex lock+unlock:     %.2f ns uncontended (median)\n", mp);
  printf("RESULT mutex_green_ns=%.2f ns\n", mu);
  printf("RESULT mutex_pthread_ns=%.2f ns\n", mp);
  printf("RESULT mutex_green_contended_ns=%.1f ns\n", mc);
  printf("RESULT mutex_green_handoff_share=%.3f\n", share);
  free(u);
  free(p);
  free(c);
  return 0;
}
