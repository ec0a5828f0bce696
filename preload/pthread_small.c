/* SPDX-License-Identifier: MIT */
/*
 * pthread's small calls in green mode: keys (greenlet-local storage), once, spinlocks and
 * barriers. In native mode every call goes to libc.
 *
 * A contended spinlock yields to the other green threads instead of spinning: the holder may
 * be parked.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "../src/sync.h"
#include "objects.h"
#include "threads.h"

/* ---- keys: greenlet-local storage -------------------------------------------------------
 * A green key is green_local's number with KEY_TAG set. So it never looks like one of libc's,
 * which are below PTHREAD_KEYS_MAX. Keys made before main() stay libc's. Libraries starting
 * up make such keys; AddressSanitizer keeps its per-OS-thread state under one. Calls on each
 * key go where it was made, on every thread. */
#define KEY_TAG (1u << 30)

static int green_key(pthread_key_t key) { return (key & KEY_TAG) != 0; }

GREEN__SHIM_EXPORT int pthread_key_create(pthread_key_t *key, void (*destructor)(void *)) {
  green_local_t k;
  int saved = errno, r;
  green__real_ready();
  if (green__shim_config.native ||
      __atomic_load_n(&green__shim_phase, __ATOMIC_ACQUIRE) == GREEN__SHIM_BEFORE_MAIN)
    return green__real.pthread_key_create(key, destructor);
  r = green__shim_pthread_error(green_local_create(&k, destructor), saved);
  if (r == 0) *key = k | KEY_TAG;
  return r;
}

GREEN__SHIM_EXPORT int pthread_key_delete(pthread_key_t key) {
  int saved = errno;
  green__real_ready();
  if (!green_key(key)) return green__real.pthread_key_delete(key);
  return green__shim_pthread_error(green_local_delete(key & ~KEY_TAG), saved);
}

GREEN__SHIM_EXPORT void *pthread_getspecific(pthread_key_t key) {
  green__real_ready();
  if (!green_key(key)) return green__real.pthread_getspecific(key);
  return green_local_get(key & ~KEY_TAG);
}

GREEN__SHIM_EXPORT int pthread_setspecific(pthread_key_t key, const void *value) {
  int saved = errno;
  green__real_ready();
  if (!green_key(key)) return green__real.pthread_setspecific(key, value);
  return green__shim_pthread_error(green_local_set(key & ~KEY_TAG, value), saved);
}

/* ---- once -------------------------------------------------------------------------------
 * A green thread that finds another one's init running parks until it returns. The waiters
 * of every control share one list, under a home word: they may live on any hub. The init's
 * end wakes all of them (each is handed its wake on its own hub); each looks at its own
 * control again. Controls in progress are rare and short. */

enum { ONCE_IN_PROGRESS = 1, ONCE_DONE = 2 }; /* glibc's values: a done control reads done */

static uint32_t once_home; /* guards once_waiters (share.h) */
static green__list_t once_waiters;

/* Park while once's init runs on another green thread. Nonzero when it could not park. */
static int once_park(struct green__hub *h, pthread_once_t *once) {
  int how = green__home_enter(&once_home, h);
  if (__atomic_load_n(once, __ATOMIC_ACQUIRE) != ONCE_IN_PROGRESS) { /* ended meanwhile */
    green__home_leave(&once_home, h, how);
    return 0;
  }
  h->current->wait_home = &once_home;
  green__waitq_push(&once_waiters, h->current);
  green__home_leave(&once_home, h, how);
  return green__shim_park(h, &(green__shim_wait_t){.kind = GREEN_WAIT_FUTEX, .what = once,
                                                    .at = INFINITY, .quiet = 1,
                                                    .cancel = GREEN__CANCEL_NONE});
}

/* Wait while another green thread runs once's init (it may park in it). A thread that cannot
 * park (in a signal handler) looks again every millisecond. */
static void once_wait(pthread_once_t *once) {
  while (__atomic_load_n(once, __ATOMIC_ACQUIRE) == ONCE_IN_PROGRESS) {
    struct green__hub *h = green__shim_hub();
    if (!h || once_park(h, once) != 0)
      green_sleep(0.001); /* EDEADLK: nothing else can run; look again, never spin */
  }
}

static void once_wake(struct green__hub *h) {
  green__taken_t woken = GREEN__TAKEN_INIT(woken);
  int how = green__home_enter(&once_home, h);
  green__waitq_take_all(&once_waiters, &woken);
  green__home_leave(&once_home, h, how);
  green__waitq_hand_all(h, &woken);
}

/* Make the caller the one to run once's init: 1, or 0 when it is done already. Threads of
 * several hubs may race for it. */
static int once_claim(pthread_once_t *once) {
  for (;;) {
    int seen;
    once_wait(once);
    seen = __atomic_load_n(once, __ATOMIC_ACQUIRE);
    if (seen == ONCE_DONE) return 0;
    if (seen != ONCE_IN_PROGRESS &&
        __atomic_compare_exchange_n(once, &seen, ONCE_IN_PROGRESS, 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_ACQUIRE))
      return 1;
  }
}

GREEN__SHIM_EXPORT int pthread_once(pthread_once_t *once, void (*init)(void)) {
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_once(once, init);
  if (!once_claim(once)) return 0;
  init();
  __atomic_store_n(once, ONCE_DONE, __ATOMIC_RELEASE);
  if (green__shim_tls.hub) once_wake(green__shim_tls.hub);
  return 0;
}

/* ---- spinlocks: 0 free, 1 held (glibc's own encoding differs by architecture) ---------- */

GREEN__SHIM_EXPORT int pthread_spin_init(pthread_spinlock_t *lock, int pshared) {
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_spin_init(lock, pshared);
  __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
  return 0;
}

GREEN__SHIM_EXPORT int pthread_spin_destroy(pthread_spinlock_t *lock) {
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_spin_destroy(lock);
  return 0;
}

GREEN__SHIM_EXPORT int pthread_spin_lock(pthread_spinlock_t *lock) {
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_spin_lock(lock);
  while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)) {
    if (green__shim_green_mode()) green_yield(); /* the holder may be a parked green thread */
  }
  return 0;
}

GREEN__SHIM_EXPORT int pthread_spin_trylock(pthread_spinlock_t *lock) {
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_spin_trylock(lock);
  return __atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE) ? EBUSY : 0;
}

GREEN__SHIM_EXPORT int pthread_spin_unlock(pthread_spinlock_t *lock) {
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_spin_unlock(lock);
  __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
  return 0;
}

/* ---- barriers -------------------------------------------------------------------------
 * Their threads may live on several hubs. One home word guards every green barrier: the
 * count, the round and the parked waiters. The last to arrive hands each waiter its wake on
 * its own hub. */

#define BARRIER_MAGIC 0x62617272u /* "barr": initialised by the shim; else libc's */

typedef struct barrier {
  green__list_t waiters; /* parked until the round they arrived in completes */
  unsigned count;
  unsigned arrived;
  unsigned round;
  uint32_t magic;
} barrier_t;

_Static_assert(sizeof(barrier_t) <= sizeof(pthread_barrier_t), "a barrier fits pthread's");

static uint32_t barrier_home; /* guards the fields of every green barrier but magic (share.h) */

GREEN__SHIM_EXPORT int pthread_barrier_init(pthread_barrier_t *restrict pb,
                                            const pthread_barrierattr_t *restrict attr,
                                            unsigned count) {
  barrier_t *b = (barrier_t *)(void *)pb;
  int pshared = PTHREAD_PROCESS_PRIVATE;
  green__real_ready();
  if (attr) pthread_barrierattr_getpshared(attr, &pshared);
  if (!green__shim_green_mode() || pshared == PTHREAD_PROCESS_SHARED) {
    int r = green__real.pthread_barrier_init(pb, attr, count);
    if (r == 0) b->magic = 0;
    return r;
  }
  if (count == 0) return EINVAL;
  green__list_init(&b->waiters);
  b->count = count;
  b->arrived = b->round = 0;
  b->magic = BARRIER_MAGIC;
  return 0;
}

/* The last one in: a new round, every waiter handed its wake. Leaves the barriers' home. */
static int barrier_complete(struct green__hub *h, barrier_t *b, int how) {
  green__taken_t woken = GREEN__TAKEN_INIT(woken);
  b->arrived = 0;
  b->round++;
  green__waitq_take_all(&b->waiters, &woken);
  green__home_leave(&barrier_home, h, how);
  green__waitq_hand_all(h, &woken);
  return PTHREAD_BARRIER_SERIAL_THREAD;
}

/* Park until the round the caller arrived in completes. Entered as `how`; leaves it. */
static int barrier_park(struct green__hub *h, barrier_t *b, int how) {
  unsigned round = b->round;
  while (b->round == round) {
    int r;
    h->current->wait_home = &barrier_home;
    green__waitq_push(&b->waiters, h->current);
    green__home_leave(&barrier_home, h, how);
    r = green__shim_park(h, &(green__shim_wait_t){.kind = GREEN_WAIT_CALL,
                                                  .call = "pthread_barrier_wait", .at = INFINITY,
                                                  .quiet = 1, .cancel = GREEN__CANCEL_NONE});
    if (r == -EDEADLK) green__real.pause(); /* as OS threads would */
    how = green__home_enter(&barrier_home, h);
  }
  green__home_leave(&barrier_home, h, how);
  return 0;
}

GREEN__SHIM_EXPORT int pthread_barrier_wait(pthread_barrier_t *pb) {
  barrier_t *b = (barrier_t *)(void *)pb;
  struct green__hub *h;
  int how;
  green__real_ready();
  if (b->magic != BARRIER_MAGIC || !(h = green__shim_hub_attach()))
    return green__real.pthread_barrier_wait(pb);
  how = green__home_enter(&barrier_home, h);
  if (++b->arrived == b->count) return barrier_complete(h, b, how);
  return barrier_park(h, b, how);
}

GREEN__SHIM_EXPORT int pthread_barrier_destroy(pthread_barrier_t *pb) {
  barrier_t *b = (barrier_t *)(void *)pb;
  struct green__hub *h;
  int busy, how;
  green__real_ready();
  if (b->magic != BARRIER_MAGIC) return green__real.pthread_barrier_destroy(pb);
  if ((h = green__shim_hub_attach())) {
    how = green__home_enter(&barrier_home, h);
    busy = b->arrived != 0;
    green__home_leave(&barrier_home, h, how);
  } else {
    busy = b->arrived != 0;
  }
  if (busy) return EBUSY;
  b->magic = 0;
  return 0;
}

/* The child of fork has one thread: no other thread holds a lock or waits. */
void green__shim_small_after_fork(void) {
  once_home = 0;
  barrier_home = 0;
  memset(&once_waiters, 0, sizeof once_waiters); /* as at start */
}
