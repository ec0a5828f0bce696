/* SPDX-License-Identifier: MIT */
/*
 * A thread whose stack overflows, or that dereferences NULL. Fails natively too (SIGSEGV):
 * overflow.sh checks how each run ends and what greenrun reports.
 *
 * usage: overflow_thread overflow | handler-overflow | handler-null
 *   overflow          a thread named "deep-worker" recurses without end
 *   handler-overflow  the same, after main installed a SIGSEGV handler of its own (without an
 *                     alternate stack, so natively it cannot run: the overflow kills)
 *   handler-null      main installs that handler, then a thread dereferences NULL: the handler
 *                     says so and exits with 7, natively and under greenrun
 */
#include <limits.h>
#include <signal.h>

#include "prog.h"

static volatile long depth_limit = LONG_MAX; /* keeps the compiler from seeing no end */

/* Each frame writes the whole of its 200 bytes, as real frames write theirs. */
__attribute__((noinline)) static long recurse_deeply(long depth) {
  volatile char pad[200];
  size_t i;
  for (i = 0; i < sizeof pad; i++) pad[i] = (char)(depth | 1);
  if (depth >= depth_limit) return 0;
  return recurse_deeply(depth + 1) + pad[depth % (long)sizeof pad];
}

static void *deep_worker(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "deep-worker");
  printf("deep-worker starts\n");
  fflush(stdout);
  return (void *)(recurse_deeply(0) + 1); /* + 1: not a tail call */
}

static void *null_worker(void *arg) {
  pthread_setname_np(pthread_self(), "null-worker");
  return (void *)(intptr_t)*(volatile int *)arg;
}

static void own_handler(int sig) {
  static const char says[] = "the program's handler caught SIGSEGV\n";
  (void)sig;
  if (write(1, says, sizeof says - 1) < 0) _exit(8);
  _exit(7);
}

static void install_own_handler(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = own_handler;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
}

int main(int argc, char **argv) {
  const char *mode = argc == 2 ? argv[1] : "";
  pthread_t t;
  void *(*fn)(void *) = deep_worker;
  struct timespec nap = {0, 1000000};
  if (strcmp(mode, "handler-null") == 0) fn = null_worker;
  else if (strcmp(mode, "overflow") != 0 && strcmp(mode, "handler-overflow") != 0) return 2;
  nanosleep(&nap, NULL); /* under greenrun: main's hub exists before the handler comes */
  if (strncmp(mode, "handler-", 8) == 0) install_own_handler();
  if (pthread_create(&t, NULL, fn, NULL) != 0) return 3;
  pthread_join(t, NULL);
  printf("the thread ended\n");
  return 0;
}
