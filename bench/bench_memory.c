/* SPDX-License-Identifier: MIT */
/*
 * memory: resident memory per idle greenlet. Spawns n greenlets that each count themselves
 * and park in green_sleep; once every one has run, samples VmRSS and reports
 * (rss_after - rss_before) / n, then kills them all and joins them.
 *
 * usage: bench_memory [-n greenlets] [-s sleep_seconds] [-t max_seconds]
 */
#include <errno.h>
#include <unistd.h>

#include "bench.h"
#include "green.h"

static long started;
static double park_s = 30;

static void *idle(void *arg) {
  started++;
  green_sleep(park_s); /* ends early with ECANCELED when killed */
  return arg;
}

static green_stats_t print_stats(const char *when) {
  green_stats_t st;
  if (green_stats(&st) != 0) {
    perror("green_stats");
    memset(&st, 0, sizeof st);
    return st;
  }
  printf("  stats %s: greenlets %zu ready %zu blocked %zu fds %zu; stacks in use %zu pooled "
         "%zu guarded %zu unguarded %zu\n", when, st.greenlets, st.ready, st.blocked, st.fds,
         st.stacks_in_use, st.stacks_pooled, st.stacks_guarded, st.stacks_unguarded);
  return st;
}

int main(int argc, char **argv) {
  long n = 100000;
  double max_s = 60;
  int opt;
  while ((opt = getopt(argc, argv, "n:s:t:")) != -1) {
    switch (opt) {
    case 'n': n = bench_arg_long(optarg, "count"); break;
    case 's': park_s = bench_arg_double(optarg, "seconds"); break;
    case 't': max_s = bench_arg_double(optarg, "seconds"); break;
    default:
      fprintf(stderr, "usage: %s [-n greenlets] [-s sleep_seconds] [-t max_seconds]\n",
              argv[0]);
      return 2;
    }
  }
  green_t **gs = malloc((size_t)n * sizeof *gs);
  if (!gs)
    return 1;
  memset(gs, 0, (size_t)n * sizeof *gs); /* commit the handle array before the baseline */
  green_t *warm = green_spawn(idle, NULL); /* start the hub outside the measurement */
  if (!warm || green_kill(warm) != 0 || green_join(warm, NULL, -1) != 0) {
    perror("warm-up greenlet");
    return 1;
  }
  started = 0;
  double deadline = bench_now() + max_s;
  long before = bench_rss_kib();
  double t0 = bench_now();
  for (long i = 0; i < n; i++)
    if (!(gs[i] = green_spawn(idle, NULL))) {
      fprintf(stderr, "green_spawn #%ld: %s\n", i, strerror(errno));
      return 1;
    }
  while (started < n && bench_now() < deadline)
    green_sleep(0); /* the spawned greenlets run before main's turn comes back */
  double t1 = bench_now();
  long after = bench_rss_kib();
  printf("memory: %ld of %ld greenlets parked in green_sleep(%g) after %.2f s\n", started, n,
         park_s, t1 - t0);
  printf("  VmRSS before %ld KiB, after %ld KiB\n", before, after);
  green_stats_t parked = print_stats("while parked");
  double per = (double)(after - before) / (double)n;
  printf("RSS per idle greenlet: %.2f KiB (target <= 4.5 KiB)\n", per);
  if (started < n)
    printf("  WARNING: only %ld greenlets ran before the time limit\n", started);

  for (long i = 0; i < n; i++)
    if (green_kill(gs[i]) != 0)
      fprintf(stderr, "green_kill #%ld: %s\n", i, strerror(errno));
  if (green_joinall(gs, (size_t)n, max_s) != 0) {
    perror("green_joinall");
    return 1;
  }
  printf("  killed and joined in %.2f s; VmRSS now %ld KiB\n", bench_now() - t1,
         bench_rss_kib());
  print_stats("after join");
  green_sleep(0.05); /* the hub idles, and trims its stack pool */
  printf("  after the hub idled: VmRSS %ld KiB\n", bench_rss_kib());
  print_stats("after idle");

  printf("RESULT memory_stacks_guarded=%zu stacks\n", parked.stacks_guarded);
  printf("RESULT memory_stacks_unguarded=%zu stacks\n", parked.stacks_unguarded);
  printf("RESULT memory_kib_per_greenlet=%.2f KiB\n", per);
  printf("RESULT memory_started=%ld greenlets\n", started);
  free(gs);
  return 0;
}
