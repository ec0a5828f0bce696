/* SPDX-License-Identifier: MIT */
/*
 * The other pthread objects between threads: recursive and error-checking mutexes (static
 * initialisers and attributes), rwlocks, a barrier, pthread_once, keys with destructors (and
 * their deletion), spinlocks, cancellation with cleanup handlers, pthread_exit, detached
 * threads, names.
 */
#include <pthread.h>
#include <stdint.h>

#include "prog.h"

static pthread_mutex_t rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t chk = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t barrier;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static pthread_spinlock_t spin;
static long counter, shared_value, once_runs, destructed, spin_total;

static void once_init(void) {
  usleep(20000); /* others arrive meanwhile and must wait */
  once_runs++;
}

static void destructor(void *v) { __atomic_add_fetch(&destructed, (long)(intptr_t)v, __ATOMIC_RELAXED); }

static void *worker(void *arg) {
  long id = (long)(intptr_t)arg;
  PROG_CHECK(pthread_once(&once, once_init) == 0);
  PROG_CHECK(pthread_setspecific(key, (void *)(intptr_t)(id + 1)) == 0);
  for (int i = 0; i < 100; i++) {
    PROG_CHECK(pthread_mutex_lock(&rec) == 0 && pthread_mutex_lock(&rec) == 0);
    long c = counter;
    if (i % 10 == 0) usleep(100); /* hold it across a park */
    counter = c + 1;
    PROG_CHECK(pthread_mutex_unlock(&rec) == 0 && pthread_mutex_unlock(&rec) == 0);
    PROG_CHECK(pthread_spin_lock(&spin) == 0);
    spin_total++;
    PROG_CHECK(pthread_spin_unlock(&spin) == 0);
  }
  PROG_CHECK(pthread_rwlock_rdlock(&rw) == 0); /* main holds the write lock a while */
  long seen = shared_value;
  PROG_CHECK(pthread_rwlock_unlock(&rw) == 0);
  PROG_CHECK(seen == 42);
  int r = pthread_barrier_wait(&barrier);
  PROG_CHECK(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD);
  PROG_CHECK(pthread_getspecific(key) == (void *)(intptr_t)(id + 1));
  return (void *)(intptr_t)(r == PTHREAD_BARRIER_SERIAL_THREAD);
}

static int cleaned;
static void cleanup(void *arg) { cleaned += (int)(intptr_t)arg; }

static void *cancelled(void *arg) {
  (void)arg;
  pthread_cleanup_push(cleanup, (void *)1);
  pthread_cleanup_push(cleanup, (void *)10);
  for (;;) sleep(10); /* a cancellation point */
  pthread_cleanup_pop(0);
  pthread_cleanup_pop(0);
  return NULL;
}

static void *exits(void *arg) {
  pthread_cleanup_push(cleanup, (void *)100);
  pthread_exit(arg);
  pthread_cleanup_pop(0);
  return NULL;
}

static void *detached(void *arg) {
  usleep(1000);
  __atomic_add_fetch((long *)arg, 1, __ATOMIC_RELAXED);
  return NULL;
}

int main(void) {
  enum { N = 8 };
  pthread_t t[N], c, e, d;
  pthread_attr_t attr;
  void *res;
  long serial = 0, done = 0;
  char name[16];
  PROG_CHECK(pthread_key_create(&key, destructor) == 0);
  PROG_CHECK(pthread_barrier_init(&barrier, NULL, N) == 0);
  PROG_CHECK(pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE) == 0);
  PROG_CHECK(pthread_rwlock_wrlock(&rw) == 0);
  for (long i = 0; i < N; i++) PROG_CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
  prog_report_threads();
  usleep(50000);
  shared_value = 42;
  PROG_CHECK(pthread_rwlock_unlock(&rw) == 0);
  for (int i = 0; i < N; i++) {
    PROG_CHECK(pthread_join(t[i], &res) == 0);
    serial += (long)(intptr_t)res;
  }
  printf("counter %ld, spin total %ld, once ran %ld time(s), barrier serial threads %ld, "
         "key destructors sum %ld\n", counter, spin_total, once_runs, serial, destructed);
  PROG_CHECK(pthread_mutex_lock(&chk) == 0);
  printf("errorcheck relock: %s\n", strerror(pthread_mutex_lock(&chk)));
  PROG_CHECK(pthread_mutex_unlock(&chk) == 0);
  printf("errorcheck unlock when not locked: %s\n", strerror(pthread_mutex_unlock(&chk)));
  PROG_CHECK(pthread_rwlock_rdlock(&rw) == 0);
  printf("rwlock trywrlock while read-locked: %s\n", strerror(pthread_rwlock_trywrlock(&rw)));
  PROG_CHECK(pthread_rwlock_unlock(&rw) == 0);

  PROG_CHECK(pthread_create(&c, NULL, cancelled, NULL) == 0);
  usleep(20000);
  PROG_CHECK(pthread_cancel(c) == 0);
  PROG_CHECK(pthread_join(c, &res) == 0);
  printf("cancelled: result %s, cleanup handlers ran: %d\n", res == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "other", cleaned);
  PROG_CHECK(pthread_create(&e, NULL, exits, (void *)7) == 0);
  PROG_CHECK(pthread_join(e, &res) == 0);
  printf("pthread_exit: result %ld, cleanup handlers ran: %d\n", (long)(intptr_t)res, cleaned);
  printf("join self: %s\n", strerror(pthread_join(pthread_self(), NULL)));
  printf("self equals self: %d\n", pthread_equal(pthread_self(), pthread_self()));

  PROG_CHECK(pthread_attr_init(&attr) == 0 && pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED) == 0);
  for (int i = 0; i < 10; i++) PROG_CHECK(pthread_create(&d, &attr, detached, &done) == 0);
  PROG_CHECK(pthread_setname_np(pthread_self(), "main-thread") == 0);
  PROG_CHECK(pthread_getname_np(pthread_self(), name, sizeof name) == 0);
  printf("name: %s\n", name);
  while (__atomic_load_n(&done, __ATOMIC_RELAXED) < 10) usleep(1000);
  printf("detached threads done: %ld\n", done);
  PROG_CHECK(pthread_barrier_destroy(&barrier) == 0);
  printf("key delete: %s\n", strerror(pthread_key_delete(key)));
  return 0;
}
