/* SPDX-License-Identifier: MIT */
/*
 * One mutex shared by the program's threads and threads it never created: glibc runs each
 * expiry of a SIGEV_THREAD timer on an OS thread of its own (made without the pthread_create
 * the shim hooks), so under greenrun the workers are green threads and the callbacks stay OS
 * threads. Every increment of one counter is a read, a pause and a write under the mutex;
 * some holders sleep with it held (a green holder parks, an OS holder blocks its own
 * thread), so each side waits for the other. The counter must come out exact. Some
 * callbacks also wait on a condition for a token that a green thread posts and signals, and
 * a green thread waits on a condition that the callbacks signal, with no time limit, as
 * main does then on a semaphore they post. Both
 * sides allocate, so a preloaded allocator's locks are shared the same way.
 */
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>

#include "prog.h"

enum { WORKERS = 4, ROUNDS = 2000, BATCH = 50, MIN_CALLBACKS = 20 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile long counter;    /* under lock */
static long worker_adds, timer_adds; /* under lock */
static int callbacks_started, callbacks_running, callbacks_done; /* atomic */
static pthread_cond_t token_posted = PTHREAD_COND_INITIALIZER;
static long tokens, tokens_taken, token_timeouts; /* under lock */
static pthread_cond_t ticked = PTHREAD_COND_INITIALIZER;
static long ticks; /* under lock: callbacks so far */
static sem_t posted; /* a post per callback */
static pthread_barrier_t start;

static int loaded(int *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

static void increment(void) {
  long v = counter;
  for (volatile int i = 0; i < 20; i++) {
  }
  counter = v + 1;
}

/* Wait (as an OS thread) for a token a green thread posts. The workers run for seconds
 * before main posts them, longer on a busy machine: only a lost wake-up waits 60 s. */
static void take_token(void) {
  struct timespec at;
  clock_gettime(CLOCK_REALTIME, &at);
  at.tv_sec += 60;
  while (tokens == 0) {
    int r = pthread_cond_timedwait(&token_posted, &lock, &at);
    PROG_CHECK(r == 0 || r == ETIMEDOUT);
    if (r == ETIMEDOUT) {
      token_timeouts++;
      return;
    }
  }
  tokens--;
  tokens_taken++;
}

static void on_expiry(union sigval sv) {
  int n = __atomic_fetch_add(&callbacks_started, 1, __ATOMIC_ACQ_REL);
  (void)sv;
  __atomic_add_fetch(&callbacks_running, 1, __ATOMIC_ACQ_REL);
  free(malloc(64 + (size_t)loaded(&callbacks_done) % 4096));
  PROG_CHECK(pthread_mutex_lock(&lock) == 0);
  for (int i = 0; i < BATCH; i++) increment();
  timer_adds += BATCH;
  ticks++;
  PROG_CHECK(pthread_cond_signal(&ticked) == 0);
  PROG_CHECK(sem_post(&posted) == 0);
  if (n % 4 == 0) usleep(500); /* the green threads wanting the mutex must wait for this one */
  if (n % 8 == 1) take_token();
  PROG_CHECK(pthread_mutex_unlock(&lock) == 0);
  __atomic_add_fetch(&callbacks_done, 1, __ATOMIC_ACQ_REL);
  __atomic_sub_fetch(&callbacks_running, 1, __ATOMIC_ACQ_REL);
}

static void *worker(void *arg) {
  (void)arg;
  pthread_barrier_wait(&start);
  while (loaded(&callbacks_done) < 3) usleep(1000); /* the callbacks have started */
  for (int r = 0; r < ROUNDS; r++) {
    void *p = malloc(32 + (size_t)r % 2048);
    PROG_CHECK(p != NULL && pthread_mutex_lock(&lock) == 0);
    long v = counter;
    if (r % 100 == 0) usleep(200); /* holding it: a callback waits in its own OS thread */
    else if (r % 10 == 0) sched_yield();
    counter = v + 1;
    worker_adds++;
    if (r % 200 == 0) {
      tokens++;
      PROG_CHECK(pthread_cond_signal(&token_posted) == 0);
    }
    PROG_CHECK(pthread_mutex_unlock(&lock) == 0);
    free(p);
  }
  return NULL;
}

/* Wait, as a green thread, for callbacks to signal: only they do. */
static void *tick_waiter(void *arg) {
  (void)arg;
  pthread_barrier_wait(&start);
  PROG_CHECK(pthread_mutex_lock(&lock) == 0);
  while (ticks < MIN_CALLBACKS) PROG_CHECK(pthread_cond_wait(&ticked, &lock) == 0);
  PROG_CHECK(pthread_mutex_unlock(&lock) == 0);
  return NULL;
}

static timer_t start_timer(void) {
  struct sigevent ev = {0};
  struct itimerspec every = {{0, 300000}, {0, 300000}};
  timer_t t;
  ev.sigev_notify = SIGEV_THREAD;
  ev.sigev_notify_function = on_expiry;
  PROG_CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0);
  PROG_CHECK(timer_settime(t, 0, &every, NULL) == 0);
  return t;
}

/* After timer_delete, callbacks already under way finish; wait until none has run for a
 * while. */
static void drain_callbacks(void) {
  double until = prog_now() + 10;
  int seen = -1;
  while (prog_now() < until) {
    int done = loaded(&callbacks_done);
    if (done == seen && loaded(&callbacks_running) == 0) return;
    seen = done;
    usleep(50000);
  }
  prog_die("the timer callbacks did not stop");
}

int main(void) {
  pthread_t ts[WORKERS], waiter;
  double until;
  timer_t t;
  PROG_CHECK(pthread_barrier_init(&start, NULL, WORKERS + 2) == 0);
  PROG_CHECK(sem_init(&posted, 0, 0) == 0);
  for (int i = 0; i < WORKERS; i++) PROG_CHECK(pthread_create(&ts[i], NULL, worker, NULL) == 0);
  PROG_CHECK(pthread_create(&waiter, NULL, tick_waiter, NULL) == 0);
  pthread_barrier_wait(&start);
  prog_report_threads(); /* before the timer's own threads exist */
  t = start_timer();
  for (int i = 0; i < WORKERS; i++) PROG_CHECK(pthread_join(ts[i], NULL) == 0);
  PROG_CHECK(pthread_mutex_lock(&lock) == 0);
  tokens += 1000; /* enough for every callback from here on */
  PROG_CHECK(pthread_cond_broadcast(&token_posted) == 0);
  PROG_CHECK(pthread_mutex_unlock(&lock) == 0);
  PROG_CHECK(pthread_join(waiter, NULL) == 0); /* woken by the callbacks' signals */
  PROG_CHECK(pthread_mutex_lock(&lock) == 0);
  /* Every other thread here has ended: only a callback can wake this one. */
  for (long until_ticks = ticks + 5; ticks < until_ticks;)
    PROG_CHECK(pthread_cond_wait(&ticked, &lock) == 0);
  PROG_CHECK(pthread_mutex_unlock(&lock) == 0);
  while (sem_trywait(&posted) == 0) {
  }
  PROG_CHECK(errno == EAGAIN);
  for (int i = 0; i < 3; i++) PROG_CHECK(sem_wait(&posted) == 0); /* only callbacks post */
  for (until = prog_now() + 10; loaded(&callbacks_done) < MIN_CALLBACKS && prog_now() < until;)
    usleep(1000);
  PROG_CHECK(timer_delete(t) == 0);
  PROG_CHECK(pthread_mutex_lock(&lock) == 0);
  tokens += 1000000; /* the callbacks still under way take one and end */
  PROG_CHECK(pthread_cond_broadcast(&token_posted) == 0);
  PROG_CHECK(pthread_mutex_unlock(&lock) == 0);
  drain_callbacks();
  PROG_CHECK(pthread_mutex_lock(&lock) == 0);
  printf("worker increments: %ld\n", worker_adds);
  printf("timer callbacks: %s\n",
         loaded(&callbacks_done) >= MIN_CALLBACKS ? "at least 20" : "too few");
  printf("counter exact: %s\n", counter == worker_adds + timer_adds ? "yes" : "no");
  printf("tokens taken by callbacks: %s, waits timed out: %ld\n",
         tokens_taken > 0 ? "some" : "none", token_timeouts);
  if (counter != worker_adds + timer_adds)
    fprintf(stderr, "counter %ld, increments %ld\n", counter, worker_adds + timer_adds);
  PROG_CHECK(pthread_mutex_unlock(&lock) == 0);
  return 0;
}
