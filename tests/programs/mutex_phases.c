/* SPDX-License-Identifier: MIT */
/*
 * Mutexes at the edges of a program's life: locked in a constructor (before main) and
 * unlocked in main after threads exist, locked in main before its first pthread_create and
 * unlocked after it, relocked in a signal handler that interrupts the owner, and used from an
 * atexit handler while another thread holds one. Each call's answer is printed, and errno
 * must be left alone.
 */
#include <signal.h>

#include "prog.h"

static pthread_mutex_t early = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t early_rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t before_create = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t in_handler = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t held_at_exit = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER;
static int ctor_lock, ctor_rec1, ctor_rec2;
static volatile sig_atomic_t handler_relock = -1, handler_plain = -1;
static pthread_barrier_t holding;

__attribute__((constructor)) static void before_main(void) {
  free(malloc(100)); /* a preloaded allocator starts up here */
  ctor_lock = pthread_mutex_lock(&early);
  ctor_rec1 = pthread_mutex_lock(&early_rec);
  ctor_rec2 = pthread_mutex_lock(&early_rec);
}

static void on_signal(int sig) {
  (void)sig;
  handler_relock = pthread_mutex_lock(&in_handler); /* its owner is the code interrupted */
  if (handler_relock == 0) pthread_mutex_unlock(&in_handler);
  handler_plain = pthread_mutex_lock(&plain);
  if (handler_plain == 0) pthread_mutex_unlock(&plain);
}

static void *tries(void *arg) {
  (void)arg;
  printf("another thread: trylock of the constructor's mutex: %d (EBUSY %d)\n",
         pthread_mutex_trylock(&early), EBUSY);
  return NULL;
}

static void *holder(void *arg) {
  (void)arg;
  PROG_CHECK(pthread_mutex_lock(&held_at_exit) == 0);
  pthread_barrier_wait(&holding);
  for (;;) pause(); /* holds it until the process ends */
}

static void at_exit(void) {
  free(malloc(200));
  printf("atexit: trylock of a mutex another thread holds: %d\n",
         pthread_mutex_trylock(&held_at_exit));
  int locked = pthread_mutex_lock(&plain);
  printf("atexit: lock and unlock of a free one: %d %d\n", locked, pthread_mutex_unlock(&plain));
  fflush(stdout);
}

int main(void) {
  pthread_t t, h;
  printf("constructor: lock %d, recursive lock twice %d %d\n", ctor_lock, ctor_rec1, ctor_rec2);
  printf("main: lock before the first thread: %d\n", pthread_mutex_lock(&before_create));
  PROG_CHECK(pthread_create(&t, NULL, tries, NULL) == 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  errno = 1234;
  printf("main: unlock after it: %d\n", pthread_mutex_unlock(&before_create));
  int r[4];
  r[0] = pthread_mutex_unlock(&early);
  r[1] = pthread_mutex_unlock(&early_rec);
  r[2] = pthread_mutex_unlock(&early_rec);
  r[3] = pthread_mutex_unlock(&early_rec);
  printf("main: unlock the constructor's: %d, recursive %d %d, once more %d (EPERM %d)\n", r[0],
         r[1], r[2], r[3], EPERM);
  printf("errno left alone: %s\n", errno == 1234 ? "yes" : "no");

  PROG_CHECK(signal(SIGUSR1, on_signal) != SIG_ERR);
  PROG_CHECK(pthread_mutex_lock(&in_handler) == 0);
  PROG_CHECK(raise(SIGUSR1) == 0);
  PROG_CHECK(pthread_mutex_unlock(&in_handler) == 0);
  printf("signal handler: relock of the interrupted owner's recursive mutex %d, a free one %d\n",
         (int)handler_relock, (int)handler_plain);

  PROG_CHECK(pthread_barrier_init(&holding, NULL, 2) == 0);
  PROG_CHECK(pthread_create(&h, NULL, holder, NULL) == 0);
  pthread_barrier_wait(&holding);
  prog_report_threads();
  PROG_CHECK(atexit(at_exit) == 0);
  exit(0);
}
