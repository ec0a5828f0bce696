/* SPDX-License-Identifier: MIT */
/*
 * switch: ns per one-way switch. Bare register-swap ping-pongs between two contexts on two
 * malloc'd stacks (bare_swap_*.S), next to green_yield ping-pong between exactly two greenlets
 * while main waits in green_joinall, so nothing else is ready. Rounds alternate all variants
 * and the medians are reported; green_stats' switch counter tells how many context switches
 * each yield really cost (2 would mean the hub runs between the two greenlets).
 *
 * usage: bench_switch [-n yields_per_round] [-r rounds] [-t max_seconds_per_run]
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "bench.h"
#include "ctx.h" /* the library's internal switch, measured raw */
#include "green.h"

static double max_run_s = 5; /* every run stops by itself after this long */

/* ---- bare ping-pong --------------------------------------------------------------------
 * Where each context calls the swap from matters more than the swap itself: a context resumes
 * by returning from the swap it called, and the CPU's return predictor guesses right only when
 * the other context is suspended at the same call site. Two greenlets both in green_yield are
 * (every switch returns into the library's one switch call), so the fair reference runs both
 * contexts through one loop ("same site"); "two sites" is the naive ping-pong of two different
 * loops, where every return is mispredicted. */
#ifdef BENCH_HAVE_BARE_SWAP
void bare_swap(void **save_sp, void *load_sp);
void bare_swap_fpu(void **save_sp, void *load_sp);

enum { BARE_STACK = 64 * 1024 };
struct bare {
  void *sp; /* saved while suspended */
  struct bare *peer;
};
static struct bare ctx_a, ctx_b, *bare_cur;
static void *main_sp;
static long bare_left; /* one-way switches still to make */
static double bare_deadline;

/* Counts one switch; non-zero when the run is over (count reached or time up). */
static inline int bare_tick(void) {
  if ((--bare_left & 0xffff) == 0 && bench_now() > bare_deadline)
    bare_left = 0;
  return bare_left <= 0;
}

/* The two contexts' stacks, the same for every variant. */
static char run_stacks[2][BARE_STACK] __attribute__((aligned(64)));

/* ns per one-way switch over n switches: start() switches into the first context, which
 * switches back to main when bare_tick says the run is over. */
static double timed_run(long n, void (*start)(void)) {
  double t0, t1;
  bare_left = n;
  bare_deadline = bench_now() + max_run_s;
  t0 = bench_now();
  start();
  t1 = bench_now();
  return (t1 - t0) * 1e9 / (double)(n - bare_left);
}

/* Both contexts run this one loop. */
#define SAME_SITE_LOOP(swap)                                                                    \
  static void swap##_same_site(void) {                                                          \
    for (;;) {                                                                                  \
      struct bare *me = bare_cur, *peer = me->peer;                                             \
      if (bare_tick())                                                                          \
        swap(&me->sp, main_sp); /* never resumed */                                             \
      bare_cur = peer;                                                                          \
      swap(&me->sp, peer->sp);                                                                  \
    }                                                                                           \
  }
SAME_SITE_LOOP(bare_swap)
SAME_SITE_LOOP(bare_swap_fpu)

/* libgreen's own switch, green__ctx_switch, in the same loop. */
struct raw {
  green__ctx_t ctx;
  struct raw *peer;
};
static struct raw raw_a, raw_b, *raw_cur;
static green__ctx_t raw_main;

static void raw_same_site(void *arg) {
  (void)arg;
  for (;;) {
    struct raw *me = raw_cur, *peer = me->peer;
    if (bare_tick())
      green__ctx_switch(&me->ctx, &raw_main); /* never resumed */
    raw_cur = peer;
    green__ctx_switch(&me->ctx, &peer->ctx);
  }
}

static void start_raw(void) { green__ctx_switch(&raw_main, &raw_a.ctx); }

static double raw_run(long n) {
  raw_a.peer = &raw_b;
  raw_b.peer = &raw_a;
  green__ctx_make(&raw_a.ctx, run_stacks[0], BARE_STACK, raw_same_site, NULL);
  green__ctx_make(&raw_b.ctx, run_stacks[1], BARE_STACK, raw_same_site, NULL);
  raw_cur = &raw_a;
  return timed_run(n, start_raw);
}

/* Each context runs its own loop. */
static void bare_site_a(void) {
  for (;;) {
    if (bare_tick())
      bare_swap(&ctx_a.sp, main_sp);
    bare_swap(&ctx_a.sp, ctx_b.sp);
  }
}

static void bare_site_b(void) {
  for (;;) {
    if (bare_tick())
      bare_swap(&ctx_b.sp, main_sp);
    bare_swap(&ctx_b.sp, ctx_a.sp);
  }
}

/* A fresh context whose first swap "returns" into entry with an ABI-aligned stack; fpu adds
 * the FP control slot bare_swap_fpu pops (the current MXCSR and x87 CW; FPCR 0). */
static void *bare_context(void *stack, size_t size, void (*entry)(void), int fpu) {
  uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
  void **sp = (void **)top;
#if defined(__x86_64__)
  *--sp = NULL; /* entry's return address: rsp % 16 == 8 on entry, as after a call */
  *--sp = (void *)entry;
  for (int i = 0; i < 6; i++) /* rbp rbx r12 r13 r14 r15 */
    *--sp = NULL;
  if (fpu) { /* the current state: a different MXCSR would cost each load ~50 ns here */
    uint32_t mxcsr;
    uint16_t cw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    *--sp = (void *)(uintptr_t)(mxcsr | (uint64_t)cw << 32);
  }
#elif defined(__aarch64__)
  int slots = fpu ? 22 : 20; /* x19..x30, d8..d15 [, fpcr, pad] */
  sp -= slots;
  memset(sp, 0, (size_t)slots * sizeof *sp);
  sp[11] = (void *)entry; /* x30 */
#endif
  return sp;
}

static void (*bare_run_swap)(void **, void *);
static void start_bare(void) { bare_run_swap(&main_sp, ctx_a.sp); }

/* ns per one-way switch over n switches between two contexts that start in entry_a and
 * entry_b. */
static double bare_run(long n, void (*swap)(void **, void *), void (*entry_a)(void),
                       void (*entry_b)(void), int fpu) {
  ctx_a = (struct bare){bare_context(run_stacks[0], BARE_STACK, entry_a, fpu), &ctx_b};
  ctx_b = (struct bare){bare_context(run_stacks[1], BARE_STACK, entry_b, fpu), &ctx_a};
  bare_cur = &ctx_a;
  bare_run_swap = swap;
  return timed_run(n, start_bare);
}

enum { SAME_SITE, TWO_SITES, SAME_SITE_FPU, RAW_SAME_SITE, NBARE };
static const char *const bare_names[NBARE] = {
    "bare swap, same site", "bare swap, two sites", "bare swap + FP control, same site",
    "libgreen raw switch, same site"};
static const char *const bare_short[NBARE] = {"same site", "two sites", "+FP control",
                                              "| libgreen raw"};

static double bare_variant(int v, long n) {
  switch (v) {
  case SAME_SITE: return bare_run(n, bare_swap, bare_swap_same_site, bare_swap_same_site, 0);
  case TWO_SITES: return bare_run(n, bare_swap, bare_site_a, bare_site_b, 0);
  case RAW_SAME_SITE: return raw_run(n);
  default:
    return bare_run(n, bare_swap_fpu, bare_swap_fpu_same_site, bare_swap_fpu_same_site, 1);
  }
}
#else
enum { NBARE = 0 };
static const char *const bare_names[1] = {""}, *const bare_short[1] = {""};
static double bare_variant(int v, long n) {
  (void)v, (void)n;
  return 0;
}
#endif

/* ---- green_yield ping-pong ------------------------------------------------------------- */
static long yield_todo, yield_done;
static int yield_stop;
static double yield_deadline;

static void *yielder(void *arg) {
  (void)arg;
  for (long i = 0; i < yield_todo / 2 && !yield_stop; i++) {
    green_yield();
    yield_done++;
    if ((i & 0xffff) == 0 && bench_now() > yield_deadline)
      yield_stop = 1;
  }
  return NULL;
}

/* ns per green_yield of a two-greenlet ping-pong; *switch_ns gets ns per context switch
 * counted by green_stats, *per_yield the switches per yield. 0 on failure. */
static double yield_run(long n, double *switch_ns, double *per_yield) {
  green_stats_t s0, s1;
  green_t *g[2];
  yield_todo = n;
  yield_done = 0;
  yield_stop = 0;
  yield_deadline = bench_now() + max_run_s;
  g[0] = green_spawn(yielder, NULL);
  g[1] = g[0] ? green_spawn(yielder, NULL) : NULL;
  if (!g[1]) {
    perror("green_spawn");
    exit(1);
  }
  green_stats(&s0);
  double t0 = bench_now();
  if (green_joinall(g, 2, -1) != 0) {
    perror("green_joinall");
    exit(1);
  }
  double t1 = bench_now();
  green_stats(&s1);
  if (yield_done <= 0)
    return 0;
  double sw = (double)(s1.switches - s0.switches);
  *switch_ns = sw > 0 ? (t1 - t0) * 1e9 / sw : 0;
  *per_yield = sw / (double)yield_done;
  return (t1 - t0) * 1e9 / (double)yield_done;
}

int main(int argc, char **argv) {
  static const char *const result_names[] = {"switch_bare_ns", "switch_bare_two_sites_ns",
                                             "switch_bare_fpu_ns", "switch_raw_ns"};
  long n = 10000000;
  int rounds = 5, opt;
  while ((opt = getopt(argc, argv, "n:r:t:")) != -1) {
    switch (opt) {
    case 'n': n = bench_arg_long(optarg, "count"); break;
    case 'r': rounds = (int)bench_arg_long(optarg, "rounds"); break;
    case 't': max_run_s = bench_arg_double(optarg, "seconds"); break;
    default:
      fprintf(stderr, "usage: %s [-n yields] [-r rounds] [-t max_seconds]\n", argv[0]);
      return 2;
    }
  }
  double *bare[4], *yld = calloc((size_t)rounds, sizeof *yld);
  double *raw = calloc((size_t)rounds, sizeof *raw), *per = calloc((size_t)rounds, sizeof *per);
  for (int v = 0; v < 4; v++)
    if (!(bare[v] = calloc((size_t)rounds, sizeof *bare[v])))
      return 1;
  if (!yld || !raw || !per)
    return 1;
  double sw, py;
  for (int v = 0; v < NBARE; v++) /* warm up every path: stacks, pool, caches */
    bare_variant(v, n / 10);
  yield_run(n / 10, &sw, &py);
  printf("switch: %ld one-way switches per run, %d rounds, alternating\n", n, rounds);
  for (int r = 0; r < rounds; r++) {
    printf("  round %d: bare", r + 1);
    for (int v = 0; v < NBARE; v++)
      printf(" %s %.2f ns,", bare_short[v], bare[v][r] = bare_variant(v, n));
    yld[r] = yield_run(n, &raw[r], &per[r]);
    printf(" green_yield %.2f ns\n", yld[r]);
  }
  for (int v = 0; v < NBARE; v++) {
    double m = bench_median(bare[v], rounds);
    printf("%-34s %6.2f ns one-way (median)\n", bare_names[v], m);
    printf("RESULT %s=%.2f ns\n", result_names[v], m);
  }
  if (NBARE == 0)
    printf("bare swap: not built for this architecture\n");
  double my = bench_median(yld, rounds), mr = bench_median(raw, rounds);
  printf("%-34s %6.2f ns one-way (median), %.2f context switches per yield\n", "green_yield",
         my, bench_median(per, rounds));
  printf("%-34s %6.2f ns (elapsed / green_stats switches)\n", "green_yield per switch", mr);
  printf("targets: raw switch <= 1.2x the bare swap; green_yield handoff no slower than the "
         "bare ping-pong\n");
  printf("RESULT switch_yield_ns=%.2f ns\n", my);
  printf("RESULT switch_yield_per_switch_ns=%.2f ns\n", mr);
  printf("RESULT switch_per_yield=%.2f switches\n", bench_median(per, rounds));
  for (int v = 0; v < 4; v++)
    free(bare[v]);
  free(yld);
  free(raw);
  free(per);
  return 0;
}
