/* SPDX-License-Identifier: MIT */
/*
 * spawn: ns per spawn + join of short greenlets (each returns at once), spawned in batches and
 * reaped with green_joinall, next to pthread_create + pthread_join of fewer threads, twice:
 * in the same batches (each batch maps fresh thread stacks: glibc caches only ~40 MiB of
 * them) and one at a time (the cached stack is reused: pthread's best case). Rounds alternate
 * the three; medians are reported.
 *
 * usage: bench_spawn [-n greenlets] [-b batch] [-p threads] [-r rounds] [-t max_seconds_per_run]
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "bench.h"
#include "green.h"

static double max_run_s = 10; /* every run stops by itself after this long */

static void *quick(void *arg) {
  return arg;
}

/* ns per green_spawn + join over about n greenlets in batches of `batch`. */
static double green_run(long n, long batch) {
  green_t **gs = malloc((size_t)batch * sizeof *gs);
  long done = 0;
  if (!gs)
    exit(1);
  double t0 = bench_now(), deadline = t0 + max_run_s;
  while (done < n && bench_now() < deadline) {
    for (long i = 0; i < batch; i++)
      if (!(gs[i] = green_spawn(quick, NULL))) {
        perror("green_spawn");
        exit(1);
      }
    if (green_joinall(gs, (size_t)batch, -1) != 0) {
      perror("green_joinall");
      exit(1);
    }
    done += batch;
  }
  double t1 = bench_now();
  free(gs);
  return (t1 - t0) * 1e9 / (double)done;
}

/* ns per pthread_create + pthread_join over about n threads in batches of `batch`. */
static double pthread_run(long n, long batch) {
  pthread_t *ts = malloc((size_t)batch * sizeof *ts);
  long done = 0;
  if (!ts)
    exit(1);
  double t0 = bench_now(), deadline = t0 + max_run_s;
  while (done < n && bench_now() < deadline) {
    long made = 0;
    for (; made < batch; made++) {
      int err = pthread_create(&ts[made], NULL, quick, NULL);
      if (err) {
        fprintf(stderr, "pthread_create: %s\n", strerror(err));
        break;
      }
    }
    for (long i = 0; i < made; i++)
      pthread_join(ts[i], NULL);
    done += made;
    if (made < batch)
      break;
  }
  double t1 = bench_now();
  free(ts);
  return done ? (t1 - t0) * 1e9 / (double)done : 0;
}

int main(int argc, char **argv) {
  long n = 1000000, batch = 1000, pn = 20000;
  int rounds = 5, opt;
  while ((opt = getopt(argc, argv, "n:b:p:r:t:")) != -1) {
    switch (opt) {
    case 'n': n = bench_arg_long(optarg, "count"); break;
    case 'b': batch = bench_arg_long(optarg, "batch"); break;
    case 'p': pn = bench_arg_long(optarg, "thread count"); break;
    case 'r': rounds = (int)bench_arg_long(optarg, "rounds"); break;
    case 't': max_run_s = bench_arg_double(optarg, "seconds"); break;
    default:
      fprintf(stderr, "usage: %s [-n greenlets] [-b batch] [-p threads] [-r rounds] "
                      "[-t max_seconds]\n", argv[0]);
      return 2;
    }
  }
  double *g = calloc((size_t)rounds, sizeof *g), *p = calloc((size_t)rounds, sizeof *p);
  double *p1 = calloc((size_t)rounds, sizeof *p1);
  if (!g || !p || !p1)
    return 1;
  green_run(batch * 10, batch); /* warm up: the stack pool, the hub, the allocator */
  pthread_run(batch, batch);
  printf("spawn: %ld greenlets and %ld threads in batches of %ld, and %ld threads one at a "
         "time; %d rounds\n", n, pn, batch, pn, rounds);
  for (int r = 0; r < rounds; r++) {
    g[r] = green_run(n, batch);
    p[r] = pthread_run(pn, batch);
    p1[r] = pthread_run(pn, 1);
    printf("  round %d: green spawn+join %.1f ns  pthread create+join %.2f us batched, "
           "%.2f us one at a time\n", r + 1, g[r], p[r] / 1e3, p1[r] / 1e3);
  }
  double mg = bench_median(g, rounds), mp = bench_median(p, rounds);
  double mp1 = bench_median(p1, rounds);
  printf("green_spawn + join:            %.1f ns (median; target < 60 ns)\n", mg);
  printf("pthread_create + pthread_join: %.2f us batched, %.2f us one at a time (medians)\n",
         mp / 1e3, mp1 / 1e3);
  printf("RESULT spawn_green_ns=%.1f ns\n", mg);
  printf("RESULT spawn_pthread_ns=%.1f ns\n", mp);
  printf("RESULT spawn_pthread1_ns=%.1f ns\n", mp1);
  free(g);
  free(p);
  free(p1);
  return 0;
}
