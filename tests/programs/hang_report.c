/* SPDX-License-Identifier: MIT */
/*
 * Calls no shim can see, made while another thread waits to run: under greenrun each one
 * blocks the only OS thread for 2.5 s, and the watchdog must say so (watchdog.sh checks its
 * report). Natively the other thread runs meanwhile. The blocking calls are made with the
 * syscall instruction itself, as a static binary or a language runtime would.
 *   futex   a timed FUTEX_WAIT on a word nobody changes
 *   read    a read of a pipe that a child process writes after 2.5 s
 *   spin    a loop that watches the clock (run with preemption off: GREEN_TIMESLICE_MS=0)
 *   mutex   a process-shared mutex (libc's, which the shim leaves alone) that a child
 *           process holds for 2.5 s: libc's own futex wait
 *   join    not a hang: a thread computes for 1.5 s while main waits to join it, and nobody
 *           else waits for the hub (the watchdog must stay quiet)
 *   once    one timed FUTEX_WAIT of 1 s, not retried: with the watchdog off, preemption
 *           alone must never interrupt it (its timer counts CPU time, which a blocked thread
 *           does not use), so it times out as natively, never EINTR
 */
#include <sys/mman.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "prog.h"

#define BLOCK_S 2.5

static atomic_int other_ran;

/* It waits for a timer first: under greenrun the blocked hub keeps it waiting (the
 * watchdog reports only a hub that keeps another green thread from running). */
static void *other(void *arg) {
  (void)arg;
  usleep(100000);
  atomic_store(&other_ran, 1);
  return NULL;
}

#if defined(__x86_64__)
static long raw_syscall4(long nr, long a, long b, long c, long d) {
  long r;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return r;
}
#elif defined(__aarch64__)
static long raw_syscall4(long nr, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = nr, x0 __asm__("x0") = a, x1 __asm__("x1") = b,
                x2 __asm__("x2") = c, x3 __asm__("x3") = d;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}
#endif

static void futex_wait(void) {
  static int word;
  struct timespec ts = {2, 500000000};
  long r;
  do r = raw_syscall4(SYS_futex, (long)&word, FUTEX_WAIT_PRIVATE, 0, (long)&ts);
  while (r == -EINTR); /* the watchdog's one signal may interrupt it, as any signal may */
  printf("futex wait: %s\n", r == -ETIMEDOUT ? "timed out" : "ended otherwise");
}

static void futex_once(void) {
  static int word;
  struct timespec ts = {1, 0};
  long r = raw_syscall4(SYS_futex, (long)&word, FUTEX_WAIT_PRIVATE, 0, (long)&ts);
  printf("one futex wait: %s\n", r == -ETIMEDOUT ? "timed out" : r == -EINTR ? "EINTR" : "other");
}

static void pipe_read(void) {
  int p[2];
  char c = 0;
  long r;
  pid_t child;
  PROG_CHECK(pipe(p) == 0);
  PROG_CHECK((child = fork()) >= 0);
  if (child == 0) {
    struct timespec ts = {2, 500000000};
    nanosleep(&ts, NULL);
    _exit(write(p[1], "x", 1) == 1 ? 0 : 1);
  }
  do r = raw_syscall4(SYS_read, p[0], (long)&c, 1, 0);
  while (r == -EINTR);
  PROG_CHECK(waitpid(child, NULL, 0) == child);
  printf("read %ld byte: %c\n", r, c);
}

static void shared_mutex(void) {
  pthread_mutexattr_t a;
  pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  int p[2];
  char c;
  pid_t child;
  PROG_CHECK(m != MAP_FAILED && pipe(p) == 0);
  PROG_CHECK(pthread_mutexattr_init(&a) == 0 && pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) == 0);
  PROG_CHECK(pthread_mutex_init(m, &a) == 0);
  PROG_CHECK((child = fork()) >= 0);
  if (child == 0) {
    struct timespec ts = {2, 500000000};
    pthread_mutex_lock(m);
    if (write(p[1], "x", 1) != 1) _exit(1);
    nanosleep(&ts, NULL);
    pthread_mutex_unlock(m);
    _exit(0);
  }
  PROG_CHECK(read(p[0], &c, 1) == 1); /* the child holds it */
  PROG_CHECK(pthread_mutex_lock(m) == 0);
  PROG_CHECK(pthread_mutex_unlock(m) == 0);
  PROG_CHECK(waitpid(child, NULL, 0) == child);
  printf("took the mutex once the child let it go\n");
}

static void spin(void) {
  double until = prog_now() + BLOCK_S;
  while (prog_now() < until) {
  }
  printf("spun for %.1f s\n", BLOCK_S);
}

static void *compute(void *arg) {
  double until = prog_now() + 1.5, x = 1;
  while (prog_now() < until)
    for (int i = 0; i < 1000; i++) x = x * 1.0000001 + 1e-9;
  return x > 0 ? NULL : arg;
}

static void join_computer(void) {
  pthread_t c;
  PROG_CHECK(pthread_create(&c, NULL, compute, NULL) == 0);
  PROG_CHECK(pthread_join(c, NULL) == 0);
  printf("joined the computation\n");
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  pthread_t t;
  setvbuf(stdout, NULL, _IOLBF, 0);
  PROG_CHECK(pthread_create(&t, NULL, other, NULL) == 0);
  prog_report_threads();
  if (strcmp(mode, "futex") == 0) futex_wait();
  else if (strcmp(mode, "read") == 0) pipe_read();
  else if (strcmp(mode, "spin") == 0) spin();
  else if (strcmp(mode, "mutex") == 0) shared_mutex();
  else if (strcmp(mode, "join") == 0) join_computer();
  else if (strcmp(mode, "once") == 0) futex_once();
  else prog_die("usage: hang_report futex|read|spin|mutex|join|once");
  PROG_CHECK(pthread_join(t, NULL) == 0);
  printf("the other thread ran: %s\n", atomic_load(&other_ran) ? "yes" : "no");
  return 0;
}
