/* SPDX-License-Identifier: MIT */
/*
 * Where new threads go when the live ones are unevenly busy (greenrun -j 2, issue 15).
 * Both modes first leave idle threads unevenly spread: 2 * IDLE threads park in read(), and
 * then every other one (the second, the fourth...) is let go. Placed by live count, the
 * threads left all sit on one hub; placed by ready count, anywhere.
 *   pair [IDLE]          then two busy threads compute: they run on different OS threads, as
 *                        natively. Placed by live count, both go to the hub with no idle
 *                        thread left.
 *   phase IDLE BUSY N    then one thread computes N chunks alone, then BUSY threads made by
 *                        the main thread compute as much each. TOOK: the second phase's wall
 *                        time over the first's (BUSY / 2 when spread over 2 hubs, BUSY on one).
 * And, with no idle threads:
 *   spawn N BATCH        N threads made and joined, BATCH at a time; TOOK is the microseconds
 *                        per thread.
 */
#include <pthread.h>
#include <stdint.h>

#include "prog.h"

enum { IDLE_MAX = 200, BUSY_MAX = 64 };

typedef struct idler {
  pthread_t id;
  int fds[2];
} idler_t;

static idler_t idlers[2 * IDLE_MAX];

static void *idle_in_read(void *arg) {
  idler_t *me = arg;
  char c;
  PROG_CHECK(read(me->fds[0], &c, 1) == 1);
  return NULL;
}

static void idle_start(int i) {
  PROG_CHECK(pipe(idlers[i].fds) == 0);
  PROG_CHECK(pthread_create(&idlers[i].id, NULL, idle_in_read, &idlers[i]) == 0);
}

static void idle_end(int i) {
  PROG_CHECK(write(idlers[i].fds[1], "x", 1) == 1);
  PROG_CHECK(pthread_join(idlers[i].id, NULL) == 0);
  close(idlers[i].fds[0]);
  close(idlers[i].fds[1]);
}

/* 2 * n idle threads, of which every other one is let go again: n stay parked. */
static void leave_idlers(int n) {
  for (int i = 0; i < 2 * n; i++) idle_start(i);
  usleep(50000); /* all parked */
  for (int i = 1; i < 2 * n; i += 2) idle_end(i);
  printf("%d idle threads parked in read\n", n);
}

static void end_idlers(int n) {
  for (int i = 0; i < 2 * n; i += 2) idle_end(i);
}

/* The OS thread the caller runs on, as the kernel names it (gettid() is per green thread). */
static void os_thread(char *path, size_t size) {
  ssize_t n = readlink("/proc/thread-self", path, size - 1);
  PROG_CHECK(n > 0);
  path[n] = '\0';
}

/* CPU work: n chunks of 10,000 steps (about 10-20 us each); the result keeps the compiler from
 * dropping it. */
static uint64_t compute(long n) {
  uint64_t x = 1;
  for (; n > 0; n--)
    for (int i = 0; i < 10000; i++) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x;
}

/* ---- pair ---- */

typedef struct busy {
  char os[64];
  uint64_t sum;
} busy_t;

static void *busy_pair(void *arg) {
  busy_t *me = arg;
  os_thread(me->os, sizeof me->os);
  me->sum = compute(10000);
  return NULL;
}

static void pair(int idle) {
  pthread_t t[2];
  busy_t busy[2];
  leave_idlers(idle);
  for (int i = 0; i < 2; i++) PROG_CHECK(pthread_create(&t[i], NULL, busy_pair, &busy[i]) == 0);
  prog_report_threads();
  for (int i = 0; i < 2; i++) PROG_CHECK(pthread_join(t[i], NULL) == 0);
  printf("the busy pair ran on %s OS threads\n",
         strcmp(busy[0].os, busy[1].os) == 0 ? "the same" : "different");
  end_idlers(idle);
}

/* ---- phase ---- */

typedef struct work {
  long chunks;
  char os[64]; /* the OS thread it ran on */
} work_t;

static void *busy_for(void *arg) {
  work_t *w = arg;
  os_thread(w->os, sizeof w->os);
  return (void *)(uintptr_t)compute(w->chunks);
}

/* The wall time of n threads made at once that compute `chunks` each; *spread: how many OS
 * threads they ran on. */
static double busy_phase(int n, long chunks, int *spread) {
  pthread_t t[BUSY_MAX];
  work_t w[BUSY_MAX];
  double start = prog_now();
  for (int i = 0; i < n; i++) {
    w[i].chunks = chunks;
    PROG_CHECK(pthread_create(&t[i], NULL, busy_for, &w[i]) == 0);
  }
  prog_report_threads();
  for (int i = 0; i < n; i++) PROG_CHECK(pthread_join(t[i], NULL) == 0);
  *spread = 0;
  for (int i = 0; i < n; i++) {
    int j = 0;
    while (j < i && strcmp(w[j].os, w[i].os) != 0) j++;
    *spread += j == i;
  }
  return prog_now() - start;
}

/* TOOK: the busy threads' wall time over one thread's doing the same work alone. */
static void phase(int idle, int busy, long chunks) {
  double alone, all;
  int spread;
  leave_idlers(idle);
  alone = busy_phase(1, chunks, &spread);
  all = busy_phase(busy, chunks, &spread);
  printf("TOOK %.3f\n", all / alone);
  printf("%d busy threads done, on %d OS threads\n", busy, spread);
  end_idlers(idle);
}

/* ---- spawn ---- */

static void *returns(void *arg) { return arg; }

static void spawn(int n, int batch) {
  pthread_t t[BUSY_MAX];
  double start = prog_now();
  for (int done = 0; done < n; done += batch) {
    for (int i = 0; i < batch; i++) PROG_CHECK(pthread_create(&t[i], NULL, returns, NULL) == 0);
    for (int i = 0; i < batch; i++) PROG_CHECK(pthread_join(t[i], NULL) == 0);
  }
  printf("TOOK %.2f\n", (prog_now() - start) * 1e6 / n);
  printf("%d threads made and joined\n", n);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "pair";
  int n = argc > 2 ? atoi(argv[2]) : 4;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(mode, "spawn") == 0 && argc == 4) {
    int batch = atoi(argv[3]);
    if (batch < 1 || batch > BUSY_MAX || n < 1 || n % batch)
      prog_die("spawn N BATCH: BATCH 1 to %d, dividing N", BUSY_MAX);
    spawn(n, batch);
    return 0;
  }
  if (n < 1 || n > IDLE_MAX) prog_die("IDLE: 1 to %d", IDLE_MAX);
  if (strcmp(mode, "pair") == 0 && argc <= 3) {
    pair(n);
  } else if (strcmp(mode, "phase") == 0 && argc == 5) {
    int busy = atoi(argv[3]);
    if (busy < 1 || busy > BUSY_MAX) prog_die("BUSY: 1 to %d", BUSY_MAX);
    phase(n, busy, atol(argv[4]));
  } else {
    prog_die("usage: placement pair [IDLE] | phase IDLE BUSY CHUNKS | spawn N BATCH");
  }
  return 0;
}
