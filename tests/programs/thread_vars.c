/* SPDX-License-Identifier: MIT */
/*
 * Each thread has its own thread-local variables. Eight threads start with a variable's
 * initial value (the main thread changed its own first), set their own values, and check them
 * after every round of a barrier, a sleep and a condition wait, while the others write theirs.
 * Each registers a thread_local destructor (as C++ does) that must run once, in that thread,
 * with that thread's value, before pthread_join returns.
 */
#include "prog.h"

enum { THREADS = 8, ROUNDS = 50 };

static __thread int value = 42;
static __thread char name[24];
static __thread unsigned long long filler[64]; /* a zero-initialised block beside the others */

static pthread_barrier_t all_set, barrier; /* all_set: main too, to count the threads */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn;
static int dtor_seen[THREADS], dtor_runs[THREADS], started_with[THREADS], started_zero[THREADS];

extern int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso);
extern void *__dso_handle;

static void at_thread_exit(void *obj) {
  int i = *(int *)obj - 100;
  PROG_CHECK(obj == &value && i >= 0 && i < THREADS);
  pthread_mutex_lock(&lock);
  dtor_seen[i] = value;
  dtor_runs[i]++;
  pthread_mutex_unlock(&lock);
}

static void check_mine(int i, int round) {
  char want[24];
  size_t k;
  snprintf(want, sizeof want, "thread-%d", i);
  if (value != 100 + i || strcmp(name, want) != 0)
    prog_die("thread %d, round %d: value %d, name \"%s\"", i, round, value, name);
  for (k = 0; k < 64; k++)
    if (filler[k] != (unsigned long long)i * 1000 + k) prog_die("thread %d: filler %zu", i, k);
}

/* Threads take turns in order: each wait parks while another thread runs. */
static void wait_turn(int i) {
  pthread_mutex_lock(&lock);
  while (turn % THREADS != i) pthread_cond_wait(&turn_changed, &lock);
  turn++;
  pthread_cond_broadcast(&turn_changed);
  pthread_mutex_unlock(&lock);
}

static void *worker(void *arg) {
  int i = (int)(long)arg, round;
  size_t k;
  started_with[i] = value;
  started_zero[i] = 1;
  for (k = 0; k < 64; k++) started_zero[i] &= filler[k] == 0;
  value = 100 + i;
  snprintf(name, sizeof name, "thread-%d", i);
  for (k = 0; k < 64; k++) filler[k] = (unsigned long long)i * 1000 + k;
  PROG_CHECK(__cxa_thread_atexit_impl(at_thread_exit, &value, &__dso_handle) == 0);
  pthread_barrier_wait(&all_set);
  pthread_barrier_wait(&all_set); /* main has counted the threads */
  for (round = 0; round < ROUNDS; round++) {
    pthread_barrier_wait(&barrier);
    check_mine(i, round);
    usleep(100);
    check_mine(i, round);
    wait_turn(i);
    check_mine(i, round);
  }
  return NULL;
}

int main(void) {
  pthread_t t[THREADS];
  int i;
  value = 7; /* the main thread's own: no other thread starts with it */
  snprintf(name, sizeof name, "main");
  PROG_CHECK(pthread_barrier_init(&all_set, NULL, THREADS + 1) == 0);
  PROG_CHECK(pthread_barrier_init(&barrier, NULL, THREADS) == 0);
  for (i = 0; i < THREADS; i++)
    PROG_CHECK(pthread_create(&t[i], NULL, worker, (void *)(long)i) == 0);
  pthread_barrier_wait(&all_set);
  prog_report_threads();
  pthread_barrier_wait(&all_set);
  for (i = 0; i < THREADS; i++) {
    PROG_CHECK(pthread_join(t[i], NULL) == 0);
    pthread_mutex_lock(&lock);
    printf("thread %d: started with %d%s, kept its values for %d rounds; its destructor ran "
           "%d time(s) and saw %d\n",
           i, started_with[i], started_zero[i] ? " and zeros" : "", ROUNDS, dtor_runs[i],
           dtor_seen[i]);
    pthread_mutex_unlock(&lock);
  }
  printf("main: value %d, name %s\n", value, name);
  return 0;
}
