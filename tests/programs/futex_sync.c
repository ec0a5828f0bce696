/* SPDX-License-Identifier: MIT */
/*
 * A futex mutex and condition variable as Rust's std builds them, in C with
 * syscall(SYS_futex): threads incrementing a counter under the mutex (yielding inside it, so
 * that others contend and wait), a producer and consumers on the condition, timed waits that
 * time out (relative FUTEX_WAIT, absolute FUTEX_WAIT_BITSET on both clocks), a value
 * mismatch (EAGAIN), wake counts and bitsets, CMP_REQUEUE and WAKE_OP with waiters parked,
 * and the signal rules (a timed wait ends with EINTR even with SA_RESTART, an untimed one
 * is restarted). Under the unfixed shim the first contended wait blocks the only OS thread.
 */
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <threads.h>

#include "prog.h"

static long futex(atomic_uint *addr, int op, uint32_t val, const struct timespec *ts,
                  atomic_uint *addr2, uint32_t val3) {
  return syscall(SYS_futex, addr, op, val, ts, addr2, val3);
}

/* FUTEX_WAIT_PRIVATE: 0, or the errno. */
static int wait_on(atomic_uint *addr, uint32_t val, const struct timespec *rel) {
  return futex(addr, FUTEX_WAIT_PRIVATE, val, rel, NULL, 0) == 0 ? 0 : errno;
}

static long wake(atomic_uint *addr, int n) { return futex(addr, FUTEX_WAKE_PRIVATE, (uint32_t)n, NULL, NULL, 0); }

/* ---- Rust's futex mutex: 0 unlocked, 1 locked, 2 locked with waiters ------------------- */

typedef struct { atomic_uint state; } mutex_t;

static void mutex_lock(mutex_t *m) {
  unsigned zero = 0;
  if (atomic_compare_exchange_strong(&m->state, &zero, 1)) return;
  while (atomic_exchange(&m->state, 2) != 0) wait_on(&m->state, 2, NULL);
}

static void mutex_unlock(mutex_t *m) {
  if (atomic_exchange(&m->state, 0) == 2) wake(&m->state, 1);
}

/* ---- Rust's futex condvar: a counter that every notify bumps --------------------------- */

typedef struct { atomic_uint seq; } cond_t;

/* 0, or ETIMEDOUT. */
static int cond_wait(cond_t *c, mutex_t *m, const struct timespec *rel) {
  unsigned seq = atomic_load(&c->seq);
  int r;
  mutex_unlock(m);
  r = wait_on(&c->seq, seq, rel);
  mutex_lock(m);
  return r == ETIMEDOUT ? ETIMEDOUT : 0;
}

static void cond_notify_one(cond_t *c) { atomic_fetch_add(&c->seq, 1); wake(&c->seq, 1); }
static void cond_notify_all(cond_t *c) { atomic_fetch_add(&c->seq, 1); wake(&c->seq, INT_MAX); }

/* ---- counter ---------------------------------------------------------------------------- */

enum { COUNTERS = 8, ROUNDS = 20000 };
static mutex_t lock;
static long counter;
static atomic_int go;

static void *count(void *arg) {
  int i;
  (void)arg;
  while (!atomic_load(&go)) usleep(1000); /* all alive when main counts OS threads */
  for (i = 0; i < ROUNDS; i++) {
    mutex_lock(&lock);
    counter++;
    if (i % 64 == 0) sched_yield(); /* let the others find it locked */
    mutex_unlock(&lock);
  }
  return NULL;
}

static void counter_test(void) {
  pthread_t t[COUNTERS];
  int i;
  for (i = 0; i < COUNTERS; i++) PROG_CHECK(pthread_create(&t[i], NULL, count, NULL) == 0);
  prog_report_threads();
  atomic_store(&go, 1);
  for (i = 0; i < COUNTERS; i++) pthread_join(t[i], NULL);
  printf("mutex: counter %ld (expected %d)\n", counter, COUNTERS * ROUNDS);
}

/* ---- producer and consumers ------------------------------------------------------------- */

enum { ITEMS = 20000, SLOTS = 4, CONSUMERS = 3 };
static mutex_t qlock;
static cond_t not_empty, not_full;
static int queue[SLOTS], head, len, done;
static long consumed_sum, consumed_n;

static void *produce(void *arg) {
  int i;
  (void)arg;
  for (i = 1; i <= ITEMS; i++) {
    mutex_lock(&qlock);
    while (len == SLOTS) cond_wait(&not_full, &qlock, NULL);
    queue[(head + len++) % SLOTS] = i;
    cond_notify_one(&not_empty);
    mutex_unlock(&qlock);
  }
  mutex_lock(&qlock);
  done = 1;
  cond_notify_all(&not_empty);
  mutex_unlock(&qlock);
  return NULL;
}

static void *consume(void *arg) {
  (void)arg;
  mutex_lock(&qlock);
  for (;;) {
    while (len == 0 && !done) cond_wait(&not_empty, &qlock, NULL);
    if (len == 0) break;
    consumed_sum += queue[head];
    consumed_n++;
    head = (head + 1) % SLOTS;
    len--;
    cond_notify_one(&not_full);
  }
  mutex_unlock(&qlock);
  return NULL;
}

static void prodcons_test(void) {
  pthread_t p, c[CONSUMERS];
  int i;
  for (i = 0; i < CONSUMERS; i++) PROG_CHECK(pthread_create(&c[i], NULL, consume, NULL) == 0);
  PROG_CHECK(pthread_create(&p, NULL, produce, NULL) == 0);
  pthread_join(p, NULL);
  for (i = 0; i < CONSUMERS; i++) pthread_join(c[i], NULL);
  printf("condvar: %ld items, sum %ld (expected %d, %ld)\n", consumed_n, consumed_sum, ITEMS,
         (long)ITEMS * (ITEMS + 1) / 2);
}

/* ---- timeouts and mismatches ------------------------------------------------------------ */

static void timeout_test(void) {
  struct timespec rel = {0, 100 * 1000000L}, abs;
  atomic_uint word = 7;
  mutex_t m = {0};
  cond_t c = {0};
  double t0 = prog_now();
  mutex_lock(&m);
  printf("cond timed wait: %s\n", cond_wait(&c, &m, &rel) == ETIMEDOUT ? "ETIMEDOUT" : "woken");
  mutex_unlock(&m);
  prog_check_elapsed("cond timed wait", prog_now() - t0, 0.095, 1.0);
  printf("FUTEX_WAIT 6 on 7: %s\n", wait_on(&word, 6, NULL) == EAGAIN ? "EAGAIN" : "?");
  printf("FUTEX_WAIT_BITSET 0: %s\n",
         futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 7, NULL, NULL, 0) == -1 && errno == EINVAL ? "EINVAL" : "?");
  rel.tv_nsec = 1000000000L;
  printf("bad timeout: %s\n", wait_on(&word, 7, &rel) == EINVAL ? "EINVAL" : "?");
  for (int rt = 0; rt < 2; rt++) {
    clock_gettime(rt ? CLOCK_REALTIME : CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 80 * 1000000L;
    if (abs.tv_nsec >= 1000000000L) abs.tv_sec++, abs.tv_nsec -= 1000000000L;
    t0 = prog_now();
    long r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE | (rt ? FUTEX_CLOCK_REALTIME : 0), 7, &abs, NULL,
                   FUTEX_BITSET_MATCH_ANY);
    printf("absolute wait (%s): %s\n", rt ? "realtime" : "monotonic",
           r == -1 && errno == ETIMEDOUT ? "ETIMEDOUT" : "?");
    prog_check_elapsed("absolute wait", prog_now() - t0, 0.075, 1.0);
  }
}

/* ---- wake counts, bitsets, requeue, wake_op --------------------------------------------- */

static atomic_uint word_a, word_b, arrived, woke_mask;

typedef struct { atomic_uint *addr; uint32_t bitset; int id; } waiter_arg_t;

static void *waiter(void *arg) {
  waiter_arg_t *w = arg;
  atomic_fetch_add(&arrived, 1);
  while (futex(w->addr, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, w->bitset) != 0 && errno == EINTR) {
  }
  atomic_fetch_or(&woke_mask, 1u << w->id);
  return NULL;
}

/* Start n waiters on addr (bitsets[i]) and let them settle in their wait. */
static void start_waiters(pthread_t *t, waiter_arg_t *w, int n) {
  int i;
  atomic_store(&arrived, 0);
  atomic_store(&woke_mask, 0);
  for (i = 0; i < n; i++) PROG_CHECK(pthread_create(&t[i], NULL, waiter, &w[i]) == 0);
  while (atomic_load(&arrived) < (unsigned)n) usleep(1000);
  usleep(100000);
}

/* The mask of woken waiters once `n` have woken (or after 2 s). */
static unsigned woken_once(int n) {
  for (int i = 0; i < 2000 && __builtin_popcount(atomic_load(&woke_mask)) < n; i++) usleep(1000);
  return atomic_load(&woke_mask);
}

static void join_all(pthread_t *t, int n) {
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
}

static void wake_test(void) {
  pthread_t t[3];
  waiter_arg_t w[3] = {{&word_a, ~0u, 0}, {&word_a, ~0u, 1}, {&word_a, ~0u, 2}};
  long r;
  start_waiters(t, w, 3);
  r = wake(&word_a, 2);
  printf("wake 2 of 3: %ld, %d woken\n", r, __builtin_popcount(woken_once(2)));
  r = wake(&word_a, 10);
  printf("wake the rest: %ld\n", r);
  join_all(t, 3);
  printf("wake nobody: %ld\n", wake(&word_a, 1));

  w[0] = (waiter_arg_t){&word_a, 1, 0};
  w[1] = (waiter_arg_t){&word_a, 2, 1};
  start_waiters(t, w, 2);
  r = futex(&word_a, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 2);
  printf("wake bitset 2: %ld, woken mask %u\n", r, woken_once(1));
  r = futex(&word_a, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 1);
  join_all(t, 2);
  printf("wake bitset 1: %ld, woken mask %u\n", r, atomic_load(&woke_mask));

  for (int i = 0; i < 3; i++) w[i] = (waiter_arg_t){&word_a, ~0u, i};
  start_waiters(t, w, 3);
  r = futex(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)(long)INT_MAX, &word_b, 1);
  printf("cmp_requeue with a stale value: %s\n", r == -1 && errno == EAGAIN ? "EAGAIN" : "?");
  r = futex(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)(long)INT_MAX, &word_b, 0);
  printf("cmp_requeue: %ld, then %d woken\n", r, __builtin_popcount(woken_once(1)));
  printf("wake on a after requeue: %ld\n", wake(&word_a, 10));
  printf("wake on b after requeue: %ld\n", wake(&word_b, 10));
  join_all(t, 3);

  w[0] = (waiter_arg_t){&word_a, ~0u, 0};
  w[1] = (waiter_arg_t){&word_b, ~0u, 1};
  start_waiters(t, w, 2);
  r = futex(&word_a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &word_b,
            FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 0));
  join_all(t, 2);
  printf("wake_op: %ld woken, b = %u, mask %u\n", r, atomic_load(&word_b), atomic_load(&woke_mask));
  r = futex(&word_a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &word_b,
            FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0));
  printf("wake_op, nobody waiting: %ld, b = %u\n", r, atomic_load(&word_b));
}

/* ---- signals ---------------------------------------------------------------------------- */

static atomic_uint word_s, handled;
static pthread_t main_thread;

static void on_usr1(int sig) { (void)sig; atomic_fetch_add(&handled, 1); }

static void *signal_later(void *arg) {
  usleep(50000);
  pthread_kill(main_thread, SIGUSR1);
  if (arg) { /* the untimed wait: end it for good after the signal */
    usleep(100000);
    atomic_store(&word_s, 1);
    wake(&word_s, 1);
  }
  return NULL;
}

static void signal_test(void) {
  struct sigaction sa;
  struct timespec rel = {5, 0};
  pthread_t t;
  int r;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  main_thread = pthread_self();
  PROG_CHECK(pthread_create(&t, NULL, signal_later, NULL) == 0);
  r = wait_on(&word_s, 0, &rel);
  pthread_join(t, NULL);
  printf("timed wait, SA_RESTART handler: %s, handled %u\n", r == EINTR ? "EINTR" : "?", atomic_load(&handled));
  PROG_CHECK(pthread_create(&t, NULL, signal_later, (void *)1) == 0);
  while ((r = wait_on(&word_s, 0, NULL)) == 0 && atomic_load(&word_s) == 0) {
  }
  pthread_join(t, NULL);
  printf("untimed wait, SA_RESTART handler: %s, handled %u\n", r == 0 ? "woken" : "?", atomic_load(&handled));
}

/* ---- waiters and wakers outside the green threads -------------------------------------- */

static atomic_uint word_f, word_g;

/* A C11 thread stays an OS thread under the shim: its wake must reach a green waiter, and a
 * green thread's wake its own wait in the kernel. */
static int os_thread(void *arg) {
  (void)arg;
  usleep(50000);
  atomic_store(&word_f, 1);
  wake(&word_f, 1);
  while (atomic_load(&word_g) == 0) wait_on(&word_g, 0, NULL);
  return 0;
}

static void foreign_test(void) {
  atomic_uint *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  thrd_t t;
  pid_t pid;
  int st, r;
  PROG_CHECK(thrd_create(&t, os_thread, NULL) == thrd_success);
  while ((r = wait_on(&word_f, 0, NULL)) == 0 && atomic_load(&word_f) == 0) {
  }
  printf("woken by an OS thread: %s\n", r == 0 || r == EAGAIN ? "yes" : "?");
  usleep(50000); /* let it wait in the kernel */
  atomic_store(&word_g, 1);
  wake(&word_g, 1);
  thrd_join(t, NULL);
  printf("an OS thread woken\n");
  PROG_CHECK(shared != MAP_FAILED);
  if ((pid = fork()) == 0) {
    usleep(50000);
    atomic_store(shared, 1);
    syscall(SYS_futex, shared, FUTEX_WAKE, 1, NULL, NULL, 0);
    _exit(0);
  }
  while (atomic_load(shared) == 0) syscall(SYS_futex, shared, FUTEX_WAIT, 0, NULL, NULL, 0);
  waitpid(pid, &st, 0);
  printf("shared futex woken by another process: %u\n", atomic_load(shared));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  counter_test();
  prodcons_test();
  timeout_test();
  wake_test();
  signal_test();
  foreign_test();
  return 0;
}
