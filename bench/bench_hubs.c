/* SPDX-License-Identifier: MIT */
/*
 * Hand-off latency between hubs: two greenlets ping-pong over a pair of green_sem_t, each
 * posting the other's and waiting on its own. Across hubs (one greenlet on each of two hubs,
 * two OS threads) next to the same on one hub. ns per round trip (two hand-offs), median of
 * rounds. bench/chan.go -procs 2 is Go's unbuffered channel ping-pong with GOMAXPROCS=2.
 *
 * usage: bench_hubs [-n round_trips] [-r rounds] [-t max_seconds_per_run]
 */
#include <unistd.h>

#include "bench.h"
#include "green.h"

static green_sem_t ping, pong;
static long count;
static double limit;

static void *ponger(void *arg) {
  long *done = arg;
  while (green_sem_wait(&ping, -1) == 0 && *done >= 0) green_sem_post(&pong);
  return NULL;
}

/* ns per round trip between the caller and a greenlet on `hub`. */
static double ping_pong(green_hub_t *hub) {
  volatile long done = 0;
  long i;
  green_sem_init(&ping, 0);
  green_sem_init(&pong, 0);
  green_t *g = green_spawn_on(hub, ponger, (void *)&done);
  if (!g) {
    perror("green_spawn_on");
    exit(1);
  }
  double t0 = bench_now();
  for (i = 0; i < count; i++) {
    if ((i & 0xfff) == 0 && bench_now() - t0 > limit) break;
    green_sem_post(&ping);
    green_sem_wait(&pong, -1);
  }
  double ns = (bench_now() - t0) * 1e9 / (double)i;
  done = -1;
  green_sem_post(&ping);
  green_join(g, NULL, -1);
  green_sem_destroy(&ping);
  green_sem_destroy(&pong);
  return ns;
}

int main(int argc, char **argv) {
  long rounds = 3;
  int opt;
  count = 1000000;
  limit = 5;
  while ((opt = getopt(argc, argv, "n:r:t:")) != -1) {
    switch (opt) {
    case 'n': count = bench_arg_long(optarg, "round trips"); break;
    case 'r': rounds = bench_arg_long(optarg, "rounds"); break;
    case 't': limit = bench_arg_double(optarg, "seconds"); break;
    default:
      fprintf(stderr, "usage: %s [-n round_trips] [-r rounds] [-t max_seconds]\n", argv[0]);
      return 2;
    }
  }
  green_hub_t *hubs[2];
  if (green_hubs_start(2, hubs) != 0) {
    perror("green_hubs_start");
    return 1;
  }
  double local[64], cross[64];
  if (rounds > 64) rounds = 64;
  long warm = count;
  count = warm / 10 + 1;
  ping_pong(hubs[0]);
  ping_pong(hubs[1]);
  count = warm;
  for (long r = 0; r < rounds; r++) {
    local[r] = ping_pong(hubs[0]);
    cross[r] = ping_pong(hubs[1]);
  }
  double l = bench_median(local, (int)rounds), c = bench_median(cross, (int)rounds);
  printf("sem ping-pong, one hub, per round trip    %8.1f ns (median of %ld)\n", l, rounds);
  printf("sem ping-pong, two hubs, per round trip   %8.1f ns\n", c);
  printf("RESULT hubs_local_ns=%.2f ns\n", l);
  printf("RESULT hubs_cross_ns=%.2f ns\n", c);
  green_hub_stop(hubs[1]);
  green_hub_stop(hubs[0]);
  return 0;
}
