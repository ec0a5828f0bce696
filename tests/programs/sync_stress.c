/* SPDX-License-Identifier: MIT */
/*
 * Threads hammering the pthread objects and a futex lock of their own, with counts checked
 * at the end. Under greenrun -j 2 the threads live on two hubs, so every wake-up may cross
 * from one hub to the other. A lost wake-up hangs the program (the harness's time limit),
 * a lost exclusion shows in the counts.
 *  - a bounded queue under a pthread mutex and two conditions: producers and consumers;
 *  - a bounded queue counted by two semaphores;
 *  - a counter under a futex lock (0 free, 1 held, 2 held with waiters) made with
 *    syscall(SYS_futex);
 *  - barrier rounds, each with its own pthread_once whose init makes the others wait.
 * Every thread waits at a gate until all are made, so the thread count is at its peak.
 * Usage: sync_stress [items per producer] (default 20000).
 */
#include <linux/futex.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "prog.h"

enum { PAIRS = 4, SLOTS = 8, WORKERS = 8, ROUNDS = 20 };

static long items = 20000;

/* Every thread starts once all are made, so the thread count is reported at its peak. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_opened = PTHREAD_COND_INITIALIZER;
static int gate_open;

static void wait_gate(void) {
  PROG_CHECK(pthread_mutex_lock(&gate_lock) == 0);
  while (!gate_open) PROG_CHECK(pthread_cond_wait(&gate_opened, &gate_lock) == 0);
  PROG_CHECK(pthread_mutex_unlock(&gate_lock) == 0);
}

static void open_gate(void) {
  PROG_CHECK(pthread_mutex_lock(&gate_lock) == 0);
  gate_open = 1;
  PROG_CHECK(pthread_cond_broadcast(&gate_opened) == 0);
  PROG_CHECK(pthread_mutex_unlock(&gate_lock) == 0);
}

/* ---- a bounded queue under a mutex and two conditions ---------------------------------- */

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static long queue[SLOTS], qhead, qlen, qsum, qcount;
static int producers_left = PAIRS;

static void *cond_producer(void *arg) {
  long base = (long)(intptr_t)arg * items;
  wait_gate();
  for (long i = 1; i <= items; i++) {
    PROG_CHECK(pthread_mutex_lock(&qlock) == 0);
    while (qlen == SLOTS) PROG_CHECK(pthread_cond_wait(&not_full, &qlock) == 0);
    queue[(qhead + qlen++) % SLOTS] = base + i;
    PROG_CHECK(pthread_cond_signal(&not_empty) == 0);
    PROG_CHECK(pthread_mutex_unlock(&qlock) == 0);
  }
  PROG_CHECK(pthread_mutex_lock(&qlock) == 0);
  if (--producers_left == 0) PROG_CHECK(pthread_cond_broadcast(&not_empty) == 0);
  PROG_CHECK(pthread_mutex_unlock(&qlock) == 0);
  return NULL;
}

static void *cond_consumer(void *arg) {
  (void)arg;
  wait_gate();
  for (;;) {
    PROG_CHECK(pthread_mutex_lock(&qlock) == 0);
    while (qlen == 0 && producers_left) PROG_CHECK(pthread_cond_wait(&not_empty, &qlock) == 0);
    if (qlen == 0) break;
    qsum += queue[qhead];
    qcount++;
    qhead = (qhead + 1) % SLOTS;
    qlen--;
    PROG_CHECK(pthread_cond_signal(&not_full) == 0);
    PROG_CHECK(pthread_mutex_unlock(&qlock) == 0);
  }
  PROG_CHECK(pthread_mutex_unlock(&qlock) == 0);
  return NULL;
}

/* ---- a bounded queue counted by semaphores ------------------------------------------------ */

static sem_t free_slots, used_slots;
static pthread_mutex_t slock = PTHREAD_MUTEX_INITIALIZER;
static long sring[SLOTS], shead, stail, ssum, scount;

static void *sem_producer(void *arg) {
  long base = (long)(intptr_t)arg * items;
  wait_gate();
  for (long i = 1; i <= items; i++) {
    PROG_CHECK(sem_wait(&free_slots) == 0);
    PROG_CHECK(pthread_mutex_lock(&slock) == 0);
    sring[stail++ % SLOTS] = base + i;
    PROG_CHECK(pthread_mutex_unlock(&slock) == 0);
    PROG_CHECK(sem_post(&used_slots) == 0);
  }
  return NULL;
}

static void *sem_consumer(void *arg) {
  (void)arg;
  wait_gate();
  for (long i = 0; i < items; i++) { /* as many as one producer makes */
    PROG_CHECK(sem_wait(&used_slots) == 0);
    PROG_CHECK(pthread_mutex_lock(&slock) == 0);
    ssum += sring[shead++ % SLOTS];
    scount++;
    PROG_CHECK(pthread_mutex_unlock(&slock) == 0);
    PROG_CHECK(sem_post(&free_slots) == 0);
  }
  return NULL;
}

/* ---- a futex lock ---------------------------------------------------------------------- */

static atomic_uint flock_word;
static long fcounter;

static void futex_lock(void) {
  unsigned c = 0;
  if (atomic_compare_exchange_strong(&flock_word, &c, 1)) return;
  if (c != 2) c = atomic_exchange(&flock_word, 2);
  while (c != 0) {
    syscall(SYS_futex, &flock_word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
    c = atomic_exchange(&flock_word, 2);
  }
}

static void futex_unlock(void) {
  if (atomic_fetch_sub(&flock_word, 1) != 1) {
    atomic_store(&flock_word, 0);
    syscall(SYS_futex, &flock_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  }
}

static void *futex_worker(void *arg) {
  (void)arg;
  wait_gate();
  for (long i = 0; i < items; i++) {
    futex_lock();
    long c = fcounter;
    if (i % 64 == 0) sched_yield(); /* others contend and park meanwhile */
    fcounter = c + 1;
    futex_unlock();
  }
  return NULL;
}

/* ---- barrier rounds, a once per round -------------------------------------------------- */

static pthread_barrier_t barrier;
static pthread_once_t onces[ROUNDS];
static atomic_long arrivals, once_runs, round_errors, serials;

static void once_init(void) {
  usleep(2000); /* the others reach the once meanwhile and wait */
  atomic_fetch_add(&once_runs, 1);
}

static void *barrier_worker(void *arg) {
  (void)arg;
  wait_gate();
  for (long r = 0; r < ROUNDS; r++) {
    PROG_CHECK(pthread_once(&onces[r], once_init) == 0);
    if (atomic_load(&once_runs) < r + 1) atomic_fetch_add(&round_errors, 1);
    atomic_fetch_add(&arrivals, 1);
    int b = pthread_barrier_wait(&barrier);
    PROG_CHECK(b == 0 || b == PTHREAD_BARRIER_SERIAL_THREAD);
    if (b == PTHREAD_BARRIER_SERIAL_THREAD) atomic_fetch_add(&serials, 1);
    if (atomic_load(&arrivals) < (r + 1) * WORKERS) atomic_fetch_add(&round_errors, 1);
    b = pthread_barrier_wait(&barrier); /* all have checked this round */
    PROG_CHECK(b == 0 || b == PTHREAD_BARRIER_SERIAL_THREAD);
  }
  return NULL;
}

/* ---- main ------------------------------------------------------------------------------- */

static void run(const char *what, void *(*fn)(void *), int n, pthread_t *t) {
  for (int i = 0; i < n; i++)
    if (pthread_create(&t[i], NULL, fn, (void *)(intptr_t)i) != 0) prog_die("%s: create", what);
}

static void join(pthread_t *t, int n) {
  for (int i = 0; i < n; i++) PROG_CHECK(pthread_join(t[i], NULL) == 0);
}

int main(int argc, char **argv) {
  pthread_t t[4 * PAIRS + WORKERS + WORKERS];
  long expect_sum;
  if (argc > 1) items = atol(argv[1]);
  expect_sum = 0;
  for (long p = 0; p < PAIRS; p++) expect_sum += p * items * items + items * (items + 1) / 2;
  PROG_CHECK(sem_init(&free_slots, 0, SLOTS) == 0 && sem_init(&used_slots, 0, 0) == 0);
  PROG_CHECK(pthread_barrier_init(&barrier, NULL, WORKERS) == 0);
  for (int r = 0; r < ROUNDS; r++) onces[r] = (pthread_once_t)PTHREAD_ONCE_INIT;

  run("cond producer", cond_producer, PAIRS, t);
  run("cond consumer", cond_consumer, PAIRS, t + PAIRS);
  run("sem producer", sem_producer, PAIRS, t + 2 * PAIRS);
  run("sem consumer", sem_consumer, PAIRS, t + 3 * PAIRS);
  run("futex worker", futex_worker, WORKERS, t + 4 * PAIRS);
  run("barrier worker", barrier_worker, WORKERS, t + 4 * PAIRS + WORKERS);
  prog_report_threads();
  open_gate();
  join(t, 4 * PAIRS + 2 * WORKERS);

  printf("cond queue: %ld items, sum %s\n", qcount, qsum == expect_sum ? "right" : "WRONG");
  printf("sem queue: %ld items, sum %s\n", scount, ssum == expect_sum ? "right" : "WRONG");
  printf("futex counter: %ld of %ld\n", fcounter, WORKERS * items);
  printf("barrier rounds: %d, serial threads %ld, once inits %ld, out of order %ld\n", ROUNDS,
         atomic_load(&serials), atomic_load(&once_runs), atomic_load(&round_errors));
  PROG_CHECK(sem_destroy(&free_slots) == 0 && sem_destroy(&used_slots) == 0);
  PROG_CHECK(pthread_barrier_destroy(&barrier) == 0);
  return 0;
}
