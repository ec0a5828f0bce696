/* SPDX-License-Identifier: MIT */
/*
 * Signals aimed at one thread among several, which greenrun -j N spreads over hubs.
 *
 * `signal_hubs kill`: four threads wait in read() on pipes of their own. The main thread
 * sends SIGUSR1 (a handler without SA_RESTART) to the third with pthread_kill. Only its read
 * ends with EINTR; the others then read the byte main writes them.
 *
 * `signal_hubs process`: the main thread and two of four waiting threads block SIGUSR2; the
 * other two do not. Each of two SIGUSR2 sent to the process interrupts the read of a thread
 * that does not block it, never one that does. Each signal is handled once.
 */
#include <signal.h>

#include "prog.h"

enum { NTHREADS = 4 };

typedef struct waiter {
  int id;
  int block;         /* blocks the signal while it waits */
  int fds[2];        /* it reads fds[0] */
  int ready[2];      /* it writes a byte here once it is about to read */
  ssize_t got;
  int err;
} waiter_t;

static volatile sig_atomic_t handled;

static void on_signal(int sig) {
  (void)sig;
  handled++;
}

static void install(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a read it interrupts ends with EINTR */
  PROG_CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void set_blocked(int sig, int block) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  PROG_CHECK(pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL) == 0);
}

static int wait_sig; /* the signal the waiters block or not */

static void *wait_read(void *arg) {
  waiter_t *w = arg;
  char c;
  set_blocked(wait_sig, w->block);
  PROG_CHECK(write(w->ready[1], "r", 1) == 1);
  w->got = read(w->fds[0], &c, 1);
  w->err = w->got < 0 ? errno : 0;
  return NULL;
}

static void start(waiter_t *w, pthread_t *t, int ready[2]) {
  char c;
  for (int i = 0; i < NTHREADS; i++) {
    w[i].id = i;
    w[i].ready[1] = ready[1];
    PROG_CHECK(pipe(w[i].fds) == 0);
    PROG_CHECK(pthread_create(&t[i], NULL, wait_read, &w[i]) == 0);
  }
  for (int i = 0; i < NTHREADS; i++) PROG_CHECK(read(ready[0], &c, 1) == 1);
  usleep(200000); /* every thread is in its read by then */
  prog_report_threads();
}

static void print_result(const waiter_t *w) {
  printf("thread %d: %s\n", w->id,
         w->got == 1 ? "read its byte" : w->err == EINTR ? "EINTR" : "other");
}

/* Release the threads whose read is still waiting, join all, print in order. */
static void finish(waiter_t *w, pthread_t *t, const int *interrupted) {
  for (int i = 0; i < NTHREADS; i++) {
    if (!interrupted[i]) PROG_CHECK(write(w[i].fds[1], "x", 1) == 1);
    PROG_CHECK(pthread_join(t[i], NULL) == 0);
    print_result(&w[i]);
    close(w[i].fds[0]);
    close(w[i].fds[1]);
  }
}

static void run_kill(int ready[2]) {
  waiter_t w[NTHREADS] = {{0}};
  pthread_t t[NTHREADS];
  int interrupted[NTHREADS] = {0, 0, 1, 0};
  wait_sig = SIGUSR1;
  install(SIGUSR1);
  start(w, t, ready);
  PROG_CHECK(pthread_kill(t[2], SIGUSR1) == 0);
  PROG_CHECK(pthread_kill(t[1], 0) == 0); /* only asks whether it exists */
  finish(w, t, interrupted);
  printf("handled %d\n", (int)handled);
}

/* Wait until the handler has run n times (10 s at most). */
static void await_handled(int n) {
  for (int i = 0; i < 1000 && handled < n; i++) usleep(10000);
}

static void run_process(int ready[2]) {
  waiter_t w[NTHREADS] = {{0}};
  pthread_t t[NTHREADS];
  int interrupted[NTHREADS] = {0};
  wait_sig = SIGUSR2;
  install(SIGUSR2);
  set_blocked(SIGUSR2, 1); /* main's; the threads set theirs */
  w[0].block = 1;
  w[1].block = 0;
  w[2].block = 1;
  w[3].block = 0;
  start(w, t, ready);
  /* Two signals: each interrupts one of the two threads that let it in. */
  PROG_CHECK(kill(getpid(), SIGUSR2) == 0);
  await_handled(1);
  usleep(100000);
  PROG_CHECK(kill(getpid(), SIGUSR2) == 0);
  await_handled(2);
  usleep(100000);
  interrupted[1] = interrupted[3] = 1;
  finish(w, t, interrupted);
  printf("handled %d\n", (int)handled);
}

int main(int argc, char **argv) {
  int ready[2];
  if (argc < 2) prog_die("usage: signal_hubs kill|process");
  PROG_CHECK(pipe(ready) == 0);
  if (strcmp(argv[1], "kill") == 0) run_kill(ready);
  else if (strcmp(argv[1], "process") == 0) run_process(ready);
  else prog_die("unknown mode %s", argv[1]);
  return 0;
}
