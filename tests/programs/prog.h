/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the preload test programs: plain POSIX programs that never include
 * green.h. They run natively and under greenrun (tests/programs/compare.sh), print a
 * transcript that must be the same both ways, and report the process's OS thread count at
 * their busiest moment on a "THREADS n" line, which the harness checks apart.
 */
#ifndef PROG_H
#define PROG_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* The kernel's count of this process's threads ("Threads:" in /proc/self/status). */
static inline int prog_os_threads(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  int n = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
  fclose(f);
  return n;
}

static inline void prog_report_threads(void) {
  printf("THREADS %d\n", prog_os_threads());
  fflush(stdout);
}

static inline double prog_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Print the failure and exit 1: the harness reports the output. */
__attribute__((noreturn, format(printf, 1, 2))) static inline void prog_die(const char *fmt, ...) {
  va_list ap;
  int e = errno;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (errno %d: %s)\n", e, strerror(e));
  exit(1);
}

#define PROG_CHECK(cond) \
  do { if (!(cond)) prog_die("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); } while (0)

/* A duration check that prints the same line both ways when it holds. */
static inline void prog_check_elapsed(const char *what, double took, double lo, double hi) {
  if (took >= lo && took < hi) printf("%s: within [%.2f, %.2f) s\n", what, lo, hi);
  else printf("%s: took %.3f s, outside [%.2f, %.2f) s\n", what, took, lo, hi);
}

/* Print "what: r" and, when r < 0, errno's text: r is computed before errno is read. */
static inline void prog_show(const char *what, long r) {
  if (r < 0) printf("%s: %ld %s\n", what, r, strerror(errno));
  else printf("%s: %ld\n", what, r);
}

/* "I am there", from one thread to another (a pipe: green under the shim). The waiting side
 * still sleeps a little after it, for the other to be inside its blocking call. */
typedef struct prog_flag {
  int p[2];
} prog_flag_t;

static inline void prog_flag_init(prog_flag_t *f) { PROG_CHECK(pipe(f->p) == 0); }
static inline void prog_flag_raise(prog_flag_t *f) { PROG_CHECK(write(f->p[1], "x", 1) == 1); }
static inline void prog_flag_wait(prog_flag_t *f) {
  char c;
  PROG_CHECK(read(f->p[0], &c, 1) == 1);
}

/* After `ms`, write `what` to fd, from a thread of its own (prog_start_later starts it; the
 * caller joins it). */
typedef struct prog_later {
  int fd, ms;
  const char *what;
} prog_later_t;

static inline void *prog_write_later(void *arg) {
  prog_later_t *l = arg;
  usleep((useconds_t)l->ms * 1000);
  if (write(l->fd, l->what, strlen(l->what)) < 0) prog_die("prog_write_later");
  return NULL;
}

static inline pthread_t prog_start_later(prog_later_t *l) {
  pthread_t t;
  PROG_CHECK(pthread_create(&t, NULL, prog_write_later, l) == 0);
  return t;
}

static inline void prog_raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

#endif
