/*
 * pthread's synchronisation objects in green mode, kept in the program's own pthread_*_t
 * storage (all-zero is the initialised state, as pthread's static initialisers give):
 * keys (greenlet-local storage), once, spinlocks (a contended lock yields to the other green
 * threads instead of spinning: the holder may be parked) and barriers. In native mode every
 * call goes to libc.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>

#include "../src/wait.h"
#include "threads.h"

static int green_mode(void) { return !green__shim_config.native && green__shim_tls.managed; }

/* ---- keys: greenlet-local storage (keys are process-wide, so on every thread) ----------- */

GREEN__SHIM_EXPORT int pthread_key_create(pthread_key_t *key, void (*destructor)(void *)) {
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_key_create(key, destructor);
  return green_local_create(key, destructor) == 0 ? 0 : errno;
}

GREEN__SHIM_EXPORT int pthread_key_delete(pthread_key_t key) {
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_key_delete(key);
  return green_local_delete(key) == 0 ? 0 : errno;
}

GREEN__SHIM_EXPORT void *pthread_getspecific(pthread_key_t key) {
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_getspecific(key);
  return green_local_get(key);
}

GREEN__SHIM_EXPORT int pthread_setspecific(pthread_key_t key, const void *value) {
  int saved = errno, r;
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_setspecific(key, value);
  if (green_local_set(key, value) == 0) return 0;
  r = errno; /* pthread functions return the error and leave errno alone */
  errno = saved;
  return r;
}

/* ---- once ------------------------------------------------------------------------------- */

enum { ONCE_IN_PROGRESS = 1, ONCE_DONE = 2 }; /* glibc's values: a done control reads done */

GREEN__SHIM_EXPORT int pthread_once(pthread_once_t *once, void (*init)(void)) {
  int state;
  green__real_ready();
  if (!green_mode()) return green__real.pthread_once(once, init);
  for (;;) {
    state = __atomic_load_n(once, __ATOMIC_ACQUIRE);
    if (state == ONCE_DONE) return 0;
    if (state == 0) break;
    green_sleep(0.001); /* another green thread runs init and is parked in it */
  }
  __atomic_store_n(once, ONCE_IN_PROGRESS, __ATOMIC_RELAXED);
  init();
  __atomic_store_n(once, ONCE_DONE, __ATOMIC_RELEASE);
  return 0;
}

/* ---- spinlocks -------------------------------------------------------------------------- */

GREEN__SHIM_EXPORT int pthread_spin_lock(pthread_spinlock_t *lock) {
  green__real_ready();
  if (!green_mode()) return green__real.pthread_spin_lock(lock);
  while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)) green_yield();
  return 0;
}

/* ---- barriers --------------------------------------------------------------------------- */

#define BARRIER_MAGIC 0x62617272u /* "barr": initialised by the shim; else libc's */

typedef struct barrier {
  green__list_t waiters; /* parked until the round they arrived in completes */
  unsigned count;
  unsigned arrived;
  unsigned round;
  uint32_t magic;
} barrier_t;

_Static_assert(sizeof(barrier_t) <= sizeof(pthread_barrier_t), "a barrier fits pthread's");

GREEN__SHIM_EXPORT int pthread_barrier_init(pthread_barrier_t *restrict pb,
                                            const pthread_barrierattr_t *restrict attr,
                                            unsigned count) {
  barrier_t *b = (barrier_t *)(void *)pb;
  int pshared = PTHREAD_PROCESS_PRIVATE;
  green__real_ready();
  if (attr) pthread_barrierattr_getpshared(attr, &pshared);
  if (!green_mode() || pshared == PTHREAD_PROCESS_SHARED) {
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

GREEN__SHIM_EXPORT int pthread_barrier_wait(pthread_barrier_t *pb) {
  barrier_t *b = (barrier_t *)(void *)pb;
  struct green__hub *h;
  unsigned round;
  green__list_t *n;
  green__real_ready();
  if (b->magic != BARRIER_MAGIC || !(h = green__shim_hub_attach()))
    return green__real.pthread_barrier_wait(pb);
  if (++b->arrived == b->count) {
    b->arrived = 0;
    b->round++;
    while ((n = green__list_pop_front(&b->waiters)))
      green__wake(h, green__container_of(n, green_t, wait_link), 0);
    return PTHREAD_BARRIER_SERIAL_THREAD;
  }
  round = b->round;
  while (b->round == round) {
    green__list_push_back(&b->waiters, &h->current->wait_link);
    if (green__park(h, INFINITY, 0) == -EDEADLK) green__real.pause(); /* as OS threads would */
  }
  return 0;
}

GREEN__SHIM_EXPORT int pthread_barrier_destroy(pthread_barrier_t *pb) {
  barrier_t *b = (barrier_t *)(void *)pb;
  green__real_ready();
  if (b->magic != BARRIER_MAGIC) return green__real.pthread_barrier_destroy(pb);
  if (b->arrived) return EBUSY;
  b->magic = 0;
  return 0;
}
