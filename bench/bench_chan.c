/* SPDX-License-Identifier: MIT */
/*
 * chan: the cost of handing items between two greenlets, for the table next to Go and gevent.
 *   queue C: a producer greenlet puts n items on a green_queue of capacity C and a consumer
 *            greenlet gets them (ns per item; C = 1 parks on every item, C = 128 batches);
 *   chan:    ping-pong over two unbuffered channels (ns per round trip = two handoffs);
 *   select:  the same ping-pong, with the echoing side receiving through a select of two
 *            channels, one of them idle (ns per round trip);
 *   gen:     green_gen_send into a generator that yields back (ns per send+yield).
 * Rounds alternate the variants; medians are reported as RESULT lines. -c times each run by
 * the CPU time of the process (one OS thread) instead of the wall clock: on a busy machine
 * the time other processes hold the CPU then does not count.
 *
 * usage: bench_chan [-c] [-n items] [-r rounds] [-t max_seconds_per_run]
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "green.h"

static long n_items = 1000000;
static double max_run_s = 5;
static int cpu_clock; /* -c */

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The clock a run is timed by. */
static double run_clock(void) { return cpu_clock ? cpu_now() : bench_now(); }

typedef struct pair {
  green_queue_t *q;
  green_chan_t *c[3]; /* c[2]: the idle case of the select variant */
  long n; /* items actually moved: a run stops early at max_run_s */
} pair_t;

static void *producer(void *arg) {
  pair_t *p = arg;
  double end = bench_now() + max_run_s;
  long i;
  for (i = 0; i < n_items; i++) {
    if ((i & 0xffff) == 0 && bench_now() > end) break;
    if (green_queue_put(p->q, (void *)(intptr_t)(i + 1), -1) < 0) break;
  }
  green_queue_close(p->q);
  return NULL;
}

static void *consumer(void *arg) {
  pair_t *p = arg;
  void *item;
  while (green_queue_get(p->q, &item, -1) == 0) p->n++;
  return NULL;
}

static double run_queue(size_t cap) {
  pair_t p = {green_queue_new(cap), {NULL, NULL, NULL}, 0};
  green_t *g[2];
  double t0 = run_clock(), dt;
  g[0] = green_spawn(consumer, &p);
  g[1] = green_spawn(producer, &p);
  green_joinall(g, 2, -1);
  dt = run_clock() - t0;
  green_queue_free(p.q);
  return dt * 1e9 / (double)p.n;
}

static void *pong(void *arg) {
  pair_t *p = arg;
  void *v;
  while (green_chan_recv(p->c[0], &v, -1) == 0)
    if (green_chan_send(p->c[1], v, -1) < 0) break;
  return NULL;
}

static void *select_pong(void *arg) {
  pair_t *p = arg;
  green_select_case_t cases[2] = {{p->c[0], GREEN_SELECT_RECV, NULL, 0},
                                  {p->c[2], GREEN_SELECT_RECV, NULL, 0}};
  while (green_select(cases, 2, -1) == 0 && cases[0].err == 0)
    if (green_chan_send(p->c[1], cases[0].value, -1) < 0) break;
  return NULL;
}

static void *ping(void *arg) {
  pair_t *p = arg;
  double end = bench_now() + max_run_s;
  void *v;
  long i;
  for (i = 0; i < n_items; i++) {
    if ((i & 0xffff) == 0 && bench_now() > end) break;
    if (green_chan_send(p->c[0], (void *)(intptr_t)i, -1) < 0 ||
        green_chan_recv(p->c[1], &v, -1) < 0)
      break;
    p->n++;
  }
  green_chan_close(p->c[0]);
  return NULL;
}

/* Ping-pong with `echo` on the other side. */
static double run_chan(void *(*echo)(void *)) {
  pair_t p = {NULL, {green_chan_new(), green_chan_new(), green_chan_new()}, 0};
  green_t *g[2];
  double t0 = run_clock(), dt;
  int i;
  g[0] = green_spawn(echo, &p);
  g[1] = green_spawn(ping, &p);
  green_joinall(g, 2, -1);
  dt = run_clock() - t0;
  for (i = 0; i < 3; i++) green_chan_free(p.c[i]);
  return dt * 1e9 / (double)p.n;
}

static void *echo_gen(green_gen_t *gen, void *arg) {
  void *v = NULL;
  (void)arg;
  while (green_gen_yield(gen, v, &v) == 0) {
  }
  return NULL;
}

static double run_gen(void) {
  green_gen_t *gen = green_gen_new(echo_gen, NULL);
  double t0, end, dt;
  void *v;
  long i;
  green_gen_next(gen, &v);
  t0 = run_clock();
  end = bench_now() + max_run_s;
  for (i = 0; i < n_items; i++) {
    if ((i & 0xffff) == 0 && bench_now() > end) break;
    green_gen_send(gen, (void *)(intptr_t)(i + 1), &v);
  }
  dt = run_clock() - t0;
  green_gen_free(gen);
  return dt * 1e9 / (double)i;
}

int main(int argc, char **argv) {
  enum { VARIANTS = 5, MAX_ROUNDS = 64 };
  static const char *names[VARIANTS] = {"queue1_green_ns", "queue128_green_ns", "chan_green_ns",
                                        "gen_green_ns", "select_green_ns"};
  static const char *what[VARIANTS] = {"queue cap 1, put+get per item",
                                       "queue cap 128, put+get per item",
                                       "chan ping-pong per round trip",
                                       "generator send+yield",
                                       "select ping-pong per round trip"};
  double res[VARIANTS][MAX_ROUNDS];
  int rounds = 3, opt, r, v;
  while ((opt = getopt(argc, argv, "cn:r:t:")) != -1) {
    if (opt == 'c') cpu_clock = 1;
    else if (opt == 'n') n_items = bench_arg_long(optarg, "items");
    else if (opt == 'r') rounds = (int)bench_arg_long(optarg, "rounds");
    else if (opt == 't') max_run_s = bench_arg_double(optarg, "seconds");
    else {
      fprintf(stderr, "usage: %s [-c] [-n items] [-r rounds] [-t max_seconds_per_run]\n", argv[0]);
      return 2;
    }
  }
  if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
  run_queue(1), run_chan(pong), run_gen(); /* warm up: stacks, pages, caches */
  for (r = 0; r < rounds; r++) {
    res[0][r] = run_queue(1);
    res[1][r] = run_queue(128);
    res[2][r] = run_chan(pong);
    res[3][r] = run_gen();
    res[4][r] = run_chan(select_pong);
  }
  for (v = 0; v < VARIANTS; v++) {
    double m = bench_median(res[v], rounds);
    printf("libgreen %-32s %8.1f ns (median of %d)\n", what[v], m, rounds);
    printf("RESULT %s=%.2f ns\n", names[v], m);
  }
  return 0;
}
