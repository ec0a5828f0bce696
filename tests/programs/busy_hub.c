/* SPDX-License-Identifier: MIT */
/*
 * A thread made while the thread it would share an OS thread with computes. Under greenrun
 * -j 2 with round-robin placement, the computing thread is alone on the second hub, and the
 * last thread is born there by a message to that hub. The computing thread never makes a
 * call that parks: only the hub's tick can let the message in. The new thread tells the
 * computing one to stop. Natively it starts at once; it must start within 1 s here too.
 */
#include <stdint.h>

#include "prog.h"

static int stop; /* atomic */

static void *idle(void *arg) {
  usleep(300000);
  return arg;
}

static void *compute(void *arg) {
  double until = prog_now() + 10;
  (void)arg;
  unsigned long spins = 0;
  while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE) && prog_now() < until) spins++;
  return (void *)(uintptr_t)(spins > 0 && prog_now() < until);
}

static void *stopper(void *arg) {
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  return arg;
}

int main(void) {
  pthread_t t[4];
  void *told;
  double made;
  PROG_CHECK(pthread_create(&t[0], NULL, idle, NULL) == 0);    /* the first hub */
  PROG_CHECK(pthread_create(&t[1], NULL, compute, NULL) == 0); /* the second */
  usleep(50000);                                              /* it computes by now */
  PROG_CHECK(pthread_create(&t[2], NULL, idle, NULL) == 0);    /* the first hub */
  prog_report_threads();
  made = prog_now();
  PROG_CHECK(pthread_create(&t[3], NULL, stopper, NULL) == 0); /* the second, by a message */
  PROG_CHECK(pthread_join(t[3], NULL) == 0);
  prog_check_elapsed("the thread made beside a computing one started", prog_now() - made, 0, 1);
  PROG_CHECK(pthread_join(t[1], &told) == 0);
  printf("the computing thread stopped when told: %s\n", told ? "yes" : "no");
  PROG_CHECK(pthread_join(t[0], NULL) == 0 && pthread_join(t[2], NULL) == 0);
  return 0;
}
