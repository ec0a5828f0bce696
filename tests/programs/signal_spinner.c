/* SPDX-License-Identifier: MIT */
/*
 * A signal aimed at a thread that never makes a call: it loops on a flag its handler sets.
 * Four rounds, each a new thread, so that on two hubs (greenrun -j 2, placement rr) threads
 * are born on a hub whose earlier thread has ended. The handler must run within 5 s each
 * time, as it does natively. A hub whose OS thread kept the mask it had with no green
 * thread (every signal blocked) left the signal pending and the thread spinning.
 */
#include <signal.h>

#include "prog.h"

enum { ROUNDS = 4 };

static volatile sig_atomic_t handled;

static void on_signal(int sig) {
  (void)sig;
  handled = 1;
}

typedef struct spinner {
  prog_flag_t started;
  int saw; /* the handler ran before the bound */
} spinner_t;

static void *spin(void *arg) {
  spinner_t *s = arg;
  double end = prog_now() + 5.0;
  long n = 0;
  prog_flag_raise(&s->started);
  while (!handled)
    if ((++n & 0xfffff) == 0 && prog_now() > end) break;
  s->saw = handled;
  return NULL;
}

static void round_once(int i) {
  spinner_t s = {.saw = 0};
  pthread_t t;
  prog_flag_init(&s.started);
  handled = 0;
  PROG_CHECK(pthread_create(&t, NULL, spin, &s) == 0);
  prog_flag_wait(&s.started);
  if (i == 0) prog_report_threads(); /* the spinner spins until its signal */
  PROG_CHECK(pthread_kill(t, SIGUSR1) == 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  printf("round %d: the spinning thread %s its signal\n", i, s.saw ? "handled" : "never got");
  close(s.started.p[0]);
  close(s.started.p[1]);
}

int main(void) {
  struct sigaction sa;
  int i;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  PROG_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  for (i = 0; i < ROUNDS; i++) round_once(i);
  return 0;
}
