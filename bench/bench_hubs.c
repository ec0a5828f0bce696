/* SPDX-License-Identifier: MIT */
/*
 * Hand-off latency between hubs: two greenlets ping-pong over a pair of unbuffered
 * green_chan_t, then over a pair of green_sem_t, each giving to the other's and taking from
 * its own. Across hubs (one greenlet on each of two hubs, two OS threads) next to the same on
 * one hub. ns per round trip (two hand-offs), median of rounds. bench/chan.go -procs 2 is
 * Go's unbuffered channel ping-pong with GOMAXPROCS=2.
 *
 * usage: bench_hubs [-n round_trips] [-r rounds] [-t max_seconds_per_run]
 */
#include <unistd.h>

#include "bench.h"
#include "green.h"

enum { PING, PONG };

static int use_chan;
static green_chan_t *chans[2];
static green_sem_t sems[2];
static long count;
static double limit;

static void give(int k) {
  if (use_chan) green_chan_send(chans[k], NULL, -1);
  else green_sem_post(&sems[k]);
}

static int take(int k) {
  void *v;
  return use_chan ? green_chan_recv(chans[k], &v, -1) : green_sem_wait(&sems[k], -1);
}

static void *ponger(void *arg) {
  long *done = arg;
  while (take(PING) == 0 && *done >= 0) give(PONG);
  return NULL;
}

/* ns per round trip between the caller and a greenlet on `hub`. */
static double ping_pong(green_hub_t *hub) {
  volatile long done = 0;
  long i;
  int k;
  for (k = 0; k < 2; k++) {
    green_sem_init(&sems[k], 0);
    if (!(chans[k] = green_chan_new())) {
      perror("green_chan_new");
      exit(1);
    }
  }
  green_t *g = green_spawn_on(hub, ponger, (void *)&done);
  if (!g) {
    perror("green_spawn_on");
    exit(1);
  }
  double t0 = bench_now();
  for (i = 0; i < count; i++) {
    if ((i & 0xfff) == 0 && bench_now() - t0 > limit) break;
    give(PING);
    take(PONG);
  }
  double ns = (bench_now() - t0) * 1e9 / (double)i;
  done = -1;
  give(PING);
  green_join(g, NULL, -1);
  for (k = 0; k < 2; k++) {
    green_sem_destroy(&sems[k]);
    green_chan_free(chans[k]);
  }
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
  if (rounds > 64) rounds = 64;
  long warm = count;
  for (use_chan = 1; use_chan >= 0; use_chan--) {
    const char *what = use_chan ? "chan" : "sem";
    double local[64], cross[64];
    count = warm / 10 + 1;
    ping_pong(hubs[0]);
    ping_pong(hubs[1]);
    count = warm;
    for (long r = 0; r < rounds; r++) {
      local[r] = ping_pong(hubs[0]);
      cross[r] = ping_pong(hubs[1]);
    }
    double l = bench_median(local, (int)rounds), c = bench_median(cross, (int)rounds);
    printf("%s ping-pong, one hub, per round trip   %8.1f ns (median of %ld)\n", what, l, rounds);
    printf("%s ping-pong, two hubs, per round trip  %8.1f ns\n", what, c);
    printf("RESULT hubs_%s_local_ns=%.2f ns\n", what, l);
    printf("RESULT hubs_%s_cross_ns=%.2f ns\n", what, c);
  }
  green_hub_stop(hubs[1]);
  green_hub_stop(hubs[0]);
  return 0;
}
