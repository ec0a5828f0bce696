/* SPDX-License-Identifier: MIT */
/*
 * spawn_join: the library part of scripts/soak. Spawns and joins N greenlets (default
 * 1,000,000) in batches, in turn ones that return at once, ones that yield first, ones that
 * sleep a little, ones joined one by one with a result, and detached ones waited for with an
 * event, and measures its own fds, RSS and greenlets (green_stats) cold, warm (after a short
 * pass) and after. Exits 1 unless fds and greenlets are back to the warm baseline and the RSS
 * within the tolerance; 2 on a usage error.
 *
 *   spawn_join [-n SPAWNS] [-b BATCH] [-w WARM] [-R RSS_KIB]
 */
#include <dirent.h>
#include <green.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  long fds, rss_kib, greenlets;
} sample_t;

static long batch = 100, spawned, finished;
static green_event_t all_done; /* set by the last detached greenlet of a batch */

static long count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  long n = -1; /* the directory's own fd */
  if (!d) return -1;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  fclose(f);
  return kib;
}

static sample_t measure(void) {
  green_stats_t st;
  sample_t s = {count_fds(), rss_kib(), -1};
  if (green_stats(&st) == 0) s.greenlets = (long)st.greenlets;
  return s;
}

static void print_sample(const char *label, sample_t s) {
  printf("  %-8s fds %5ld  rss %7ld KiB  greenlets %5ld\n", label, s.fds, s.rss_kib, s.greenlets);
  fflush(stdout);
}

static void *quick(void *arg) { return arg; }

static void *yielding(void *arg) {
  green_yield();
  return arg;
}

static void *sleeping(void *arg) {
  green_sleep(0.0001);
  return arg;
}

static void *detached(void *arg) {
  (void)arg;
  if (++finished == batch) green_event_set(&all_done);
  return NULL;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* One batch of `batch` greenlets, of the pattern `round` picks. */
static void run_batch(long round, green_t **gs) {
  static void *(*const fns[])(void *) = {quick, yielding, sleeping, quick};
  int pattern = (int)(round % 5);
  void *result;
  long i;
  if (pattern == 4) {
    finished = 0;
    green_event_clear(&all_done);
  }
  for (i = 0; i < batch; i++) {
    if (!(gs[i] = green_spawn(pattern == 4 ? detached : fns[pattern], (void *)(intptr_t)i)))
      die("green_spawn");
    if (pattern == 4 && green_detach(gs[i]) != 0) die("green_detach");
  }
  spawned += batch;
  if (pattern == 4) {
    if (green_event_wait(&all_done, 10) != 0) die("green_event_wait");
  } else if (pattern == 3) {
    for (i = 0; i < batch; i++)
      if (green_join(gs[i], &result, 10) != 0 || result != (void *)(intptr_t)i) die("green_join");
  } else if (green_joinall(gs, (size_t)batch, 10) != 0) {
    die("green_joinall");
  }
}

static double run(long n, green_t **gs) {
  struct timespec a, b;
  long round;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (round = 0; round * batch < n; round++) run_batch(round, gs);
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
}

int main(int argc, char **argv) {
  long n = 1000000, warm = 20000, tolerance = 2048;
  sample_t base, after;
  green_t **gs;
  double secs;
  int o, flat;
  while ((o = getopt(argc, argv, "n:b:w:R:")) != -1) {
    if (o == 'n') n = atol(optarg);
    else if (o == 'b') batch = atol(optarg);
    else if (o == 'w') warm = atol(optarg);
    else if (o == 'R') tolerance = atol(optarg);
    else {
      fprintf(stderr, "usage: spawn_join [-n SPAWNS] [-b BATCH] [-w WARM] [-R RSS_KIB]\n");
      return 2;
    }
  }
  if (n < 1 || batch < 1 || warm < 0) return fprintf(stderr, "spawn_join: bad counts\n"), 2;
  if (!(gs = calloc((size_t)batch, sizeof *gs)) || green_event_init(&all_done) != 0) die("alloc");
  printf("soak: spawn_join (pid %d): %ld spawn/join in batches of %ld\n", (int)getpid(), n, batch);
  print_sample("cold", measure());
  run(warm, gs);
  print_sample("warm", base = measure());
  secs = run(n, gs);
  spawned -= warm;
  printf("  %-8s %ld in %.2f s (%.0f/s)\n", "spawns", spawned, secs, (double)spawned / secs);
  print_sample("after", after = measure());
  flat = after.fds == base.fds && after.greenlets == base.greenlets &&
         after.rss_kib - base.rss_kib <= tolerance;
  printf("  %s: fds %+ld, greenlets %+ld, rss %+ld KiB (", flat ? "flat" : "NOT FLAT",
         after.fds - base.fds, after.greenlets - base.greenlets, after.rss_kib - base.rss_kib);
  if (tolerance >= 1L << 30) printf("not checked)\n");
  else printf("tolerance %ld KiB)\n", tolerance);
  green_event_destroy(&all_done);
  free(gs);
  return flat ? 0 : 1;
}
