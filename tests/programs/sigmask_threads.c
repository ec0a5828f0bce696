/* SPDX-License-Identifier: MIT */
/*
 * Each thread has its own signal mask. The main thread blocks SIGUSR1 and SIGUSR2; thread A
 * inherits that, thread B unblocks SIGUSR1. A SIGUSR1 sent to the process while A and B
 * sleep goes to B, the only thread that does not block it (its sleep ends with EINTR); A's
 * sleep runs to its end; every thread reads back the mask it set. A SIGUSR2, which every
 * thread blocks, stays pending for the thread in sigwait.
 */
#include <signal.h>

#include "prog.h"

static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
  (void)sig;
  handled++;
}

/* "SIGUSR1 blocked, 2 blocked in all" for the calling thread's mask. */
static void print_mask(const char *who) {
  sigset_t m;
  int sig, n = 0;
  PROG_CHECK(pthread_sigmask(SIG_BLOCK, NULL, &m) == 0);
  for (sig = 1; sig < 32; sig++) n += sigismember(&m, sig) == 1;
  printf("%s: SIGUSR1 %s, %d blocked in all\n", who,
         sigismember(&m, SIGUSR1) ? "blocked" : "unblocked", n);
}

static void *thread_a(void *arg) {
  int r;
  (void)arg;
  print_mask("A at start");
  r = usleep(600000);
  printf("A's sleep: %d\n", r);
  print_mask("A at end");
  return NULL;
}

static void *thread_b(void *arg) {
  sigset_t s;
  int r;
  (void)arg;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  PROG_CHECK(pthread_sigmask(SIG_UNBLOCK, &s, NULL) == 0);
  r = usleep(3000000);
  printf("B's sleep: %d %s\n", r, r < 0 && errno == EINTR ? "EINTR" : "");
  print_mask("B at end");
  return NULL;
}

static void *waiter(void *arg) {
  sigset_t s;
  int sig = 0;
  (void)arg;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  PROG_CHECK(sigwait(&s, &sig) == 0);
  printf("sigwait: %s\n", sig == SIGUSR2 ? "SIGUSR2" : "other");
  return NULL;
}

int main(void) {
  struct sigaction sa;
  sigset_t s;
  pthread_t a, b, w;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  PROG_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGUSR2);
  PROG_CHECK(sigprocmask(SIG_BLOCK, &s, NULL) == 0);
  PROG_CHECK(pthread_create(&a, NULL, thread_a, NULL) == 0);
  usleep(50000);
  PROG_CHECK(pthread_create(&b, NULL, thread_b, NULL) == 0);
  PROG_CHECK(pthread_create(&w, NULL, waiter, NULL) == 0);
  usleep(100000);
  prog_report_threads();
  PROG_CHECK(kill(getpid(), SIGUSR1) == 0);
  PROG_CHECK(pthread_join(b, NULL) == 0);
  PROG_CHECK(pthread_join(a, NULL) == 0);
  printf("handler ran %d time(s)\n", (int)handled);
  PROG_CHECK(kill(getpid(), SIGUSR2) == 0);
  PROG_CHECK(pthread_join(w, NULL) == 0);
  print_mask("main at end");
  return 0;
}
