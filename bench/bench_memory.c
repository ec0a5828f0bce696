/* SPDX-License-Identifier: MIT */
/*
 * memory: resident memory per idle greenlet, and what a million of them cost (issue 16).
 * Spawns n greenlets that each count themselves and park: in a read on the read end of one
 * empty pipe (-k read, the default), or in green_sleep (-k sleep). Once all are parked, main
 * sleeps -s seconds: past GREEN_HIBERNATE_MS, hibernation has copied their stacks out. Then it
 * samples VmRSS and reports (rss_after - rss_before) / n. It times spawn+join in batches of
 * 1,000 beside the parked greenlets. It wakes each parked greenlet once (green_kill all, then
 * green_joinall; with hibernation on, each stack is copied back first). Last, it times a
 * spawn+join of n greenlets in one batch, each returning at once.
 *
 * -H sets GREEN_HIBERNATE_MS before the first hub starts (0 turns hibernation off). RESULT keys
 * end in _<kind>_hib_on or _hib_off, so runs with hibernation on and off report side by side.
 * A libgreen without hibernation reports _hib_off whatever GREEN_HIBERNATE_MS says.
 *
 * usage: bench_memory [-n greenlets] [-k read|sleep] [-H hibernate_ms] [-s park_seconds]
 *                     [-t max_seconds]
 */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "green.h"

static long started;
static int park_read = 1; /* -k read: park in green_read; -k sleep: in green_sleep */
static int pipe_rd = -1;  /* the read end every greenlet parks on; nothing is ever written */
static double sleep_s;    /* -k sleep: longer than the run, so only green_kill ends it */

static void *idle(void *arg) {
  char c;
  started++;
  if (park_read) green_read(pipe_rd, &c, 1); /* ends with ECANCELED when killed */
  else green_sleep(sleep_s);
  return arg;
}

static void *quick(void *arg) { return arg; }

/* Whether this run hibernates: the library knows how, and GREEN_HIBERNATE_MS is not 0. */
static int hibernation_on(void) {
#ifdef GREEN_STATS_HIBERNATION
  const char *s = getenv("GREEN_HIBERNATE_MS");
  return !s || !*s || strtod(s, NULL) != 0;
#else
  return 0;
#endif
}

static const char *hibernation_said(void) {
#ifdef GREEN_STATS_HIBERNATION
  return hibernation_on() ? "hibernation on" : "hibernation off";
#else
  return "this libgreen has no hibernation";
#endif
}

static green_stats_t print_stats(const char *when) {
  green_stats_t st;
  if (green_stats(&st) != 0) {
    perror("green_stats");
    memset(&st, 0, sizeof st);
    return st;
  }
  printf("  stats %s: greenlets %zu ready %zu blocked %zu fds %zu; stacks in use %zu pooled "
         "%zu guarded %zu unguarded %zu\n",
         when, st.greenlets, st.ready, st.blocked, st.fds, st.stacks_in_use, st.stacks_pooled,
         st.stacks_guarded, st.stacks_unguarded);
#ifdef GREEN_STATS_HIBERNATION
  printf("    hibernated %zu stacks in %zu heap bytes; %llu hibernations, %llu restores\n",
         st.stacks_hibernated, st.hibernated_bytes, st.hibernations, st.restores);
#endif
  return st;
}

/* Spawn up to n greenlets running fn into gs; stops early at the deadline. The count, or -1. */
static long spawn_all(green_t **gs, long n, void *(*fn)(void *), double deadline) {
  for (long i = 0; i < n; i++) {
    if ((i & 4095) == 0 && bench_now() > deadline) {
      printf("  WARNING: the time limit passed after %ld spawns\n", i);
      return i;
    }
    if (!(gs[i] = green_spawn(fn, NULL))) {
      fprintf(stderr, "green_spawn #%ld: %s\n", i, strerror(errno));
      return -1;
    }
  }
  return n;
}

/* Park main for up to s seconds, never past the deadline. */
static void park_main(double s, double deadline) {
  double left = deadline - bench_now();
  if (left > 0) green_sleep(s < left ? s : left);
}

/* Wake each of the n greenlets once (kill, then join them all). Seconds taken, or -1. */
/* CPU seconds the process has used. */
static double process_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double wake_all(green_t **gs, long n, double deadline) {
  double t0 = bench_now(), left;
  for (long i = 0; i < n; i++)
    if (green_kill(gs[i]) != 0) fprintf(stderr, "green_kill #%ld: %s\n", i, strerror(errno));
  left = deadline - bench_now();
  if (green_joinall(gs, (size_t)n, left > 1 ? left : 1) != 0) {
    perror("green_joinall");
    return -1;
  }
  return bench_now() - t0;
}

/* Spawn n greenlets that return at once, then join them all. ns per greenlet, or -1. */
static double spawn_join(green_t **gs, long n, double deadline) {
  double t0 = bench_now(), left;
  long m = spawn_all(gs, n, quick, deadline);
  if (m <= 0) return -1;
  left = deadline - bench_now();
  if (green_joinall(gs, (size_t)m, left > 1 ? left : 1) != 0) {
    perror("green_joinall");
    return -1;
  }
  return (bench_now() - t0) * 1e9 / (double)m;
}

/* Spawn+join in batches of BATCH, rounds times, beside the parked greenlets: bench_spawn's
 * measure, to see whether they slow it. ns per greenlet, or -1. */
#define BATCH 1000
static double spawn_join_batched(long rounds, double deadline) {
  green_t *gs[BATCH];
  double t0 = bench_now();
  long r;
  for (r = 0; r < rounds && bench_now() < deadline; r++)
    if (spawn_join(gs, BATCH, deadline + 30) < 0) return -1;
  return r ? (bench_now() - t0) * 1e9 / (double)(r * BATCH) : -1;
}

static void usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s [-n greenlets] [-k read|sleep] [-H hibernate_ms] [-s park_seconds] "
          "[-t max_seconds]\n",
          argv0);
  exit(2);
}

int main(int argc, char **argv) {
  long n = 100000;
  double park_s = 5, max_s = 120;
  const char *hib_ms = NULL;
  int opt, fds[2];
  while ((opt = getopt(argc, argv, "n:k:H:s:t:")) != -1) {
    switch (opt) {
    case 'n': n = bench_arg_long(optarg, "count"); break;
    case 'k':
      if (strcmp(optarg, "read") != 0 && strcmp(optarg, "sleep") != 0) usage(argv[0]);
      park_read = strcmp(optarg, "read") == 0;
      break;
    case 'H':
      if (strspn(optarg, "0123456789") != strlen(optarg) || !*optarg) usage(argv[0]);
      hib_ms = optarg;
      break;
    case 's': park_s = bench_arg_double(optarg, "seconds"); break;
    case 't': max_s = bench_arg_double(optarg, "seconds"); break;
    default: usage(argv[0]);
    }
  }
  if (hib_ms && setenv("GREEN_HIBERNATE_MS", hib_ms, 1) != 0) return 1; /* before the hub */
  const char *kind = park_read ? "read" : "sleep";
  const char *hib = hibernation_on() ? "hib_on" : "hib_off";
  sleep_s = park_s + max_s + 60;
  if (pipe(fds) != 0) {
    perror("pipe");
    return 1;
  }
  pipe_rd = fds[0];
  green_t **gs = malloc((size_t)n * sizeof *gs);
  if (!gs) return 1;
  memset(gs, 0, (size_t)n * sizeof *gs);   /* commit the handle array before the baseline */
  green_t *warm = green_spawn(idle, NULL); /* start the hub, and its fd entry, unmeasured */
  green_sleep(0);
  if (!warm || green_kill(warm) != 0 || green_join(warm, NULL, -1) != 0) {
    perror("warm-up greenlet");
    return 1;
  }

  started = 0;
  double deadline = bench_now() + max_s;
  long before = bench_rss_kib();
  double t0 = bench_now();
  long spawned = spawn_all(gs, n, idle, deadline);
  if (spawned < 0) return 1;
  while (started < spawned && bench_now() < deadline)
    green_sleep(0); /* the spawned greenlets run before main's turn comes back */
  double t1 = bench_now();
  long parked_rss = bench_rss_kib();
  double cpu0 = process_cpu();
  park_main(park_s, deadline);
  double parked_cpu = process_cpu() - cpu0; /* the sweeps: hibernation's copy-out */
  long after = bench_rss_kib();
  const char *env = getenv("GREEN_HIBERNATE_MS");
  printf("memory: %ld of %ld greenlets parked in %s after %.2f s; then %.1f s parked "
         "(GREEN_HIBERNATE_MS %s: %s)\n",
         started, n, park_read ? "green_read on one pipe" : "green_sleep", t1 - t0,
         bench_now() - t1, env ? env : "unset", hibernation_said());
  printf("  VmRSS before %ld KiB, all parked %ld KiB, %.1f s later %ld KiB\n", before, parked_rss,
         park_s, after);
  green_stats_t st = print_stats("while parked");
  double per = (double)(after - before) / (double)n;
  double per_parked = (double)(parked_rss - before) / (double)n;
  double spawn_ns = (t1 - t0) * 1e9 / (double)n;
  printf("RSS per idle greenlet: %.2f KiB (%.2f KiB as they parked; target <= 1 KiB "
         "hibernated)\n",
         per, per_parked);
  printf("  spawn until parked: %.1f ns per greenlet\n", spawn_ns);
  printf("  CPU while parked (hibernation's copy-out and release): %.1f ns per greenlet\n",
         parked_cpu * 1e9 / (double)n);
  if (started < n) printf("  WARNING: only %ld greenlets ran before the time limit\n", started);

  double batched_ns = spawn_join_batched(200, deadline);
  printf("  spawn+join in batches of %d beside them: %.1f ns per greenlet\n", BATCH, batched_ns);

  double woke = wake_all(gs, spawned, deadline);
  if (woke < 0) return 1;
  double wake_ns = woke * 1e9 / (double)spawned;
  printf("  woke each once (kill + join): %.2f s, %.1f ns per greenlet; VmRSS now %ld KiB\n", woke,
         wake_ns, bench_rss_kib());
  print_stats("after join");
  green_sleep(0.05); /* the hub idles, and trims its stack pool */
  printf("  after the hub idled: VmRSS %ld KiB\n", bench_rss_kib());
  double sj_ns = spawn_join(gs, n, deadline + 30);
  printf("  spawn+join of %ld greenlets in one batch: %.1f ns per greenlet\n", n, sj_ns);

  printf("RESULT memory_stacks_guarded=%zu stacks\n", st.stacks_guarded);
  printf("RESULT memory_stacks_unguarded=%zu stacks\n", st.stacks_unguarded);
  printf("RESULT memory_started=%ld greenlets\n", started);
  printf("RESULT memory_kib_per_greenlet_%s_%s=%.2f KiB\n", kind, hib, per);
  printf("RESULT memory_spawn_ns_per_greenlet_%s_%s=%.1f ns\n", kind, hib, spawn_ns);
  printf("RESULT memory_wake_ns_per_greenlet_%s_%s=%.1f ns\n", kind, hib, wake_ns);
  printf("RESULT memory_parked_cpu_ns_per_greenlet_%s_%s=%.1f ns\n", kind, hib,
         parked_cpu * 1e9 / (double)n);
  if (sj_ns > 0)
    printf("RESULT memory_spawn_join_ns_per_greenlet_%s_%s=%.1f ns\n", kind, hib, sj_ns);
  if (batched_ns > 0)
    printf("RESULT memory_spawn_join_batched_ns_per_greenlet_%s_%s=%.1f ns\n", kind, hib,
           batched_ns);
#ifdef GREEN_STATS_HIBERNATION
  printf("RESULT memory_hibernated_%s_%s=%zu stacks\n", kind, hib, st.stacks_hibernated);
  printf("RESULT memory_hibernated_bytes_per_greenlet_%s_%s=%.1f bytes\n", kind, hib,
         st.stacks_hibernated ? (double)st.hibernated_bytes / (double)st.stacks_hibernated : 0.0);
#endif
  free(gs);
  green_close(fds[0]);
  close(fds[1]);
  return started == n ? 0 : 1;
}
