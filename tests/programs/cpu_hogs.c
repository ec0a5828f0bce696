/* SPDX-License-Identifier: MIT */
/*
 * Threads that keep the CPU without ever calling a blocking function. Natively the kernel
 * preempts them; under greenrun the shim must (its time slice and timer signal), or each case
 * hangs on one OS thread.
 *   spin     a thread spins on an atomic flag that main sets after a sleep, and main spins on
 *            a flag that a thread created after the spinner sets;
 *   ticker   a thread sleeps 10 ms 50 times beside a thread that computes for 0.6 s: while
 *            the ticker is overdue, the computation uses under 3 time slices (30 ms) of CPU
 *            time. (CPU time, not wall time: on a loaded machine a slice of CPU takes
 *            longer. The worst wall-clock lateness is printed on the TOOK line.);
 *   nopark   a thread loops on a poll() of an always-readable pipe (it never parks: Node's
 *            main thread posting to an eventfd) until a worker, ready all along, has run.
 *   filelock a thread writes a line a character at a time between flockfile and funlockfile,
 *            computing between characters, while another writes lines to the same FILE:
 *            every line comes out whole (a holder of a FILE lock is never preempted).
 */
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>

#include "prog.h"

static atomic_int flag, flag2;

static void *spinner(void *arg) {
  (void)arg;
  while (!atomic_load(&flag)) {
  }
  return NULL;
}

static void *setter(void *arg) {
  (void)arg;
  atomic_store(&flag2, 1);
  return NULL;
}

static void spin(void) {
  pthread_t a, b;
  PROG_CHECK(pthread_create(&a, NULL, spinner, NULL) == 0);
  prog_report_threads();
  usleep(50000); /* the spinner runs meanwhile; main's timer must still fire */
  atomic_store(&flag, 1);
  PROG_CHECK(pthread_join(a, NULL) == 0);
  printf("spinner saw main's store\n");
  PROG_CHECK(pthread_create(&b, NULL, setter, NULL) == 0);
  while (!atomic_load(&flag2)) {
  }
  PROG_CHECK(pthread_join(b, NULL) == 0);
  printf("main saw the new thread's store\n");
}

static void *compute(void *arg) {
  double until = prog_now() + 0.6, x = 1;
  (void)arg;
  while (prog_now() < until)
    for (int i = 0; i < 1000; i++) x = x * 1.0000001 + 1e-9;
  return x > 0 ? NULL : arg;
}

static double worst_lateness, worst_overrun;

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Each sleep's wall-clock lateness, and the process's CPU time during it beyond the sleep's
 * own 10 ms: what the computation used while the ticker was overdue. */
static void *ticker(void *arg) {
  (void)arg;
  for (int i = 0; i < 50; i++) {
    struct timespec ts = {0, 10000000};
    double t0 = prog_now(), c0 = cpu_now(), late, overrun;
    nanosleep(&ts, NULL);
    late = prog_now() - t0 - 0.010;
    overrun = cpu_now() - c0 - 0.010;
    if (late > worst_lateness) worst_lateness = late;
    if (overrun > worst_overrun) worst_overrun = overrun;
  }
  return NULL;
}

static void tick(void) {
  pthread_t c, t;
  PROG_CHECK(pthread_create(&t, NULL, ticker, NULL) == 0);
  PROG_CHECK(pthread_create(&c, NULL, compute, NULL) == 0);
  prog_report_threads();
  PROG_CHECK(pthread_join(c, NULL) == 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  printf("TOOK %.4f\n", worst_lateness);
  printf("while the ticker was overdue the computation used %s 3 time slices of CPU\n",
         worst_overrun < 0.030 ? "under" : "over");
}

static int pipefd[2];
static atomic_int worker_ran, released;

/* It stays until main has counted the threads (spinning: preempted under the shim). */
static void *worker(void *arg) {
  (void)arg;
  atomic_store(&worker_ran, 1);
  while (!atomic_load(&released)) {
  }
  return NULL;
}

static void nopark(void) {
  struct pollfd p;
  pthread_t w;
  PROG_CHECK(pipe(pipefd) == 0 && write(pipefd[1], "x", 1) == 1);
  p.fd = pipefd[0];
  p.events = POLLIN;
  PROG_CHECK(pthread_create(&w, NULL, worker, NULL) == 0);
  while (!atomic_load(&worker_ran)) {
    PROG_CHECK(poll(&p, 1, 0) == 1);
  }
  prog_report_threads();
  atomic_store(&released, 1);
  PROG_CHECK(pthread_join(w, NULL) == 0);
  printf("the worker ran while main kept polling a ready pipe\n");
}

static FILE *shared;
static atomic_int writer_done;

static void *line_writer(void *arg) {
  (void)arg;
  flockfile(shared);
  for (int i = 0; i < 100; i++) {
    double until = prog_now() + 0.0005, x = 1;
    putc_unlocked('A', shared);
    while (prog_now() < until)
      for (int j = 0; j < 1000; j++) x = x * 1.0000001 + 1e-9;
    if (x < 0) putc_unlocked('?', shared);
  }
  putc_unlocked('\n', shared);
  funlockfile(shared);
  atomic_store(&writer_done, 1);
  return NULL;
}

static void filelock(void) {
  char path[] = "/tmp/cpu_hogs.XXXXXX", line[256];
  int fd = mkstemp(path), whole = 1, lines = 0;
  pthread_t w;
  PROG_CHECK(fd >= 0 && (shared = fdopen(fd, "w+")) != NULL);
  unlink(path);
  PROG_CHECK(pthread_create(&w, NULL, line_writer, NULL) == 0);
  prog_report_threads();
  while (!atomic_load(&writer_done)) {
    fprintf(shared, "BBBB\n");
    sched_yield();
  }
  PROG_CHECK(pthread_join(w, NULL) == 0);
  rewind(shared);
  while (fgets(line, sizeof line, shared)) {
    size_t n = strlen(line);
    lines++;
    whole &= strcmp(line, "BBBB\n") == 0 || (n == 101 && strspn(line, "A") == 100);
  }
  fclose(shared);
  printf("every line written under flockfile came out whole: %s\n", whole && lines > 1 ? "yes" : "no");
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(mode, "spin") == 0) spin();
  else if (strcmp(mode, "ticker") == 0) tick();
  else if (strcmp(mode, "nopark") == 0) nopark();
  else if (strcmp(mode, "filelock") == 0) filelock();
  else prog_die("usage: cpu_hogs spin|ticker|nopark|filelock");
  return 0;
}
