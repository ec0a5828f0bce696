/* SPDX-License-Identifier: MIT */
/*
 * Producers and consumers over a bounded queue, two ways:
 *   prodcons cond   a pthread mutex and two condition variables (one timed on
 *                   CLOCK_MONOTONIC, one on CLOCK_REALTIME)
 *   prodcons sem    POSIX semaphores counting free and full slots, a mutex for the queue
 * Each consumer's sum and count are printed; then the error answers of the calls.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>

#include "prog.h"

enum { PRODUCERS = 4, CONSUMERS = 4, ITEMS = 5000, SLOTS = 16 };

static long queue[SLOTS];
static int head, tail, count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty;
static sem_t free_slots, full_slots;
static int use_sem;
static pthread_barrier_t start; /* every thread exists before any works: main counts them */

static void abs_in(clockid_t clock, double s, struct timespec *ts) {
  clock_gettime(clock, ts);
  ts->tv_sec += (time_t)s;
  ts->tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
  if (ts->tv_nsec >= 1000000000L) ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}

static void put(long v) {
  struct timespec ts;
  if (use_sem) PROG_CHECK(sem_wait(&free_slots) == 0);
  PROG_CHECK(pthread_mutex_lock(&lock) == 0);
  while (!use_sem && count == SLOTS) {
    abs_in(CLOCK_REALTIME, 5, &ts);
    int r = pthread_cond_timedwait(&not_full, &lock, &ts);
    PROG_CHECK(r == 0);
  }
  queue[tail] = v;
  tail = (tail + 1) % SLOTS;
  count++;
  if (!use_sem) PROG_CHECK(pthread_cond_signal(&not_empty) == 0);
  PROG_CHECK(pthread_mutex_unlock(&lock) == 0);
  if (use_sem) PROG_CHECK(sem_post(&full_slots) == 0);
}

static long take(void) {
  struct timespec ts;
  long v;
  if (use_sem) PROG_CHECK(sem_wait(&full_slots) == 0);
  PROG_CHECK(pthread_mutex_lock(&lock) == 0);
  while (!use_sem && count == 0) {
    abs_in(CLOCK_MONOTONIC, 5, &ts);
    PROG_CHECK(pthread_cond_timedwait(&not_empty, &lock, &ts) == 0);
  }
  v = queue[head];
  head = (head + 1) % SLOTS;
  count--;
  if (!use_sem) PROG_CHECK(pthread_cond_signal(&not_full) == 0);
  PROG_CHECK(pthread_mutex_unlock(&lock) == 0);
  if (use_sem) PROG_CHECK(sem_post(&free_slots) == 0);
  return v;
}

static void *producer(void *arg) {
  long id = (long)(intptr_t)arg;
  pthread_barrier_wait(&start);
  for (long i = 0; i < ITEMS; i++) put(id * ITEMS + i);
  return NULL;
}

typedef struct tally {
  long n, sum;
} tally_t;

static void *consumer(void *arg) {
  tally_t *t = arg;
  long v;
  pthread_barrier_wait(&start);
  while ((v = take()) >= 0) {
    t->n++;
    t->sum += v;
  }
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t p[PRODUCERS], c[CONSUMERS];
  tally_t t[CONSUMERS] = {{0, 0}};
  pthread_condattr_t ca;
  struct timespec ts;
  long n = 0, sum = 0;
  int v;
  use_sem = argc > 1 && strcmp(argv[1], "sem") == 0;
  PROG_CHECK(pthread_condattr_init(&ca) == 0 && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0);
  PROG_CHECK(pthread_cond_init(&not_empty, &ca) == 0);
  PROG_CHECK(sem_init(&free_slots, 0, SLOTS) == 0 && sem_init(&full_slots, 0, 0) == 0);
  PROG_CHECK(pthread_barrier_init(&start, NULL, PRODUCERS + CONSUMERS + 1) == 0);
  /* consumers first: they wait on an empty queue */
  for (int i = 0; i < CONSUMERS; i++) PROG_CHECK(pthread_create(&c[i], NULL, consumer, &t[i]) == 0);
  for (int i = 0; i < PRODUCERS; i++)
    PROG_CHECK(pthread_create(&p[i], NULL, producer, (void *)(intptr_t)i) == 0);
  prog_report_threads();
  pthread_barrier_wait(&start);
  for (int i = 0; i < PRODUCERS; i++) PROG_CHECK(pthread_join(p[i], NULL) == 0);
  for (int i = 0; i < CONSUMERS; i++) put(-1); /* one stop mark each */
  for (int i = 0; i < CONSUMERS; i++) {
    PROG_CHECK(pthread_join(c[i], NULL) == 0);
    n += t[i].n;
    sum += t[i].sum;
  }
  printf("%s: %ld items consumed, sum %ld (expected %ld)\n",
         use_sem ? "semaphores" : "condition variables", n, sum,
         (long)PRODUCERS * ITEMS * (PRODUCERS * ITEMS - 1) / 2);

  /* the answers of the calls that fail */
  PROG_CHECK(pthread_mutex_lock(&lock) == 0);
  abs_in(CLOCK_MONOTONIC, 0.1, &ts);
  double t0 = prog_now();
  printf("cond timedwait, nobody signals: %s\n", strerror(pthread_cond_timedwait(&not_empty, &lock, &ts)));
  prog_check_elapsed("cond timeout", prog_now() - t0, 0.08, 1.0);
  printf("mutex trylock while held: %s\n", strerror(pthread_mutex_trylock(&lock)));
  PROG_CHECK(pthread_mutex_unlock(&lock) == 0);
  sem_getvalue(&full_slots, &v);
  printf("full slots left: %d\n", v);
  errno = 0;
  v = sem_trywait(&full_slots);
  printf("sem_trywait on 0: %d, %s\n", v, strerror(errno));
  abs_in(CLOCK_REALTIME, 0.1, &ts);
  errno = 0;
  v = sem_timedwait(&full_slots, &ts);
  printf("sem_timedwait on 0: %d, %s\n", v, strerror(errno));
  abs_in(CLOCK_MONOTONIC, 0.1, &ts);
  errno = 0;
  v = sem_clockwait(&full_slots, CLOCK_MONOTONIC, &ts);
  printf("sem_clockwait on 0: %d, %s\n", v, strerror(errno));
  PROG_CHECK(sem_destroy(&free_slots) == 0 && sem_destroy(&full_slots) == 0);
  PROG_CHECK(pthread_cond_destroy(&not_empty) == 0 && pthread_cond_destroy(&not_full) == 0);
  PROG_CHECK(pthread_mutex_destroy(&lock) == 0);
  return 0;
}
