/* SPDX-License-Identifier: MIT */
/*
 * pthread's synchronisation objects in green mode, kept in the program's own pthread_*_t
 * and sem_t storage (all-zero is the initialised state, as pthread's static initialisers
 * give): mutexes, conditions, semaphores and rwlocks are libgreen's (green_mutex_t and
 * friends, which fit inside pthread's); mutexes are its shared ones, which every thread
 * takes without a hub (an allocator's locks are everyone's), and conditions let threads
 * that cannot park sleep in the kernel; keys are greenlet-local storage; once, spinlocks (a
 * contended lock yields to the other green threads instead of spinning: the holder may be
 * parked) and barriers are here. In native mode every call goes to libc.
 *
 * Objects shared between processes (PTHREAD_PROCESS_SHARED, robust mutexes, sem_init with
 * pshared, sem_open) stay libc's: their addresses are kept in a small set, and every call on
 * them goes to libc (a wait there blocks the OS thread). A process-shared object initialised
 * by another process is not in the set and is taken for a green one.
 *
 * Mutex kinds: glibc's static PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP and friends write the
 * kind where green_mutex_t keeps its owner, so an owner of 1, 2 or 3 with no waiters is such
 * an initialiser, turned into a green mutex of that kind on first use. A normal mutex
 * relocked by its owner fails with EDEADLK (glibc would hang). When every green thread is
 * blocked for good, the main thread's wait fails with EDEADLK where OS threads would hang.
 */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/sync.h"
#include "../src/threadsafe.h"
#include "../src/wait.h"
#include "threads.h"

/* ---- the set of objects that stay libc's ------------------------------------------------ */

static const void **libc_objects; /* open addressing; NULL: empty slot; &tomb: removed */
static size_t libc_cap, libc_count;
static int libc_lock;
static const char tomb;

static void set_lock(void) {
  while (__atomic_exchange_n(&libc_lock, 1, __ATOMIC_ACQUIRE)) {
  }
}

static void set_unlock(void) { __atomic_store_n(&libc_lock, 0, __ATOMIC_RELEASE); }

static size_t slot_of(const void *p, size_t cap) { return ((uintptr_t)p >> 3) * 0x9e3779b97f4a7c15u % cap; }

/* Whether p is one of libc's objects: one load while there are none. */
static int is_libc(const void *p) {
  size_t i, n;
  int found = 0;
  if (!__atomic_load_n(&libc_count, __ATOMIC_ACQUIRE)) return 0;
  set_lock();
  for (i = slot_of(p, libc_cap), n = 0; n < libc_cap && libc_objects[i]; i = (i + 1) % libc_cap, n++)
    if (libc_objects[i] == p) {
      found = 1;
      break;
    }
  set_unlock();
  return found;
}

/* Room for one more in a table of twice the size, dropping tombs. The allocator runs
 * outside the set's lock: its own mutexes come back through the hooks, which look here.
 * ENOMEM when the room cannot be had: the caller undoes its libc object, which the hooks
 * would otherwise take for a green one. */
static int libc_add(const void *p) {
  const void **room = NULL, **old = NULL;
  size_t i, room_cap = 0;
  set_lock();
  while (2 * (libc_count + 1) > libc_cap) {
    size_t cap = libc_cap ? libc_cap * 2 : 64;
    if (room_cap == cap) {
      for (i = 0; i < libc_cap; i++)
        if (libc_objects[i] && libc_objects[i] != &tomb) {
          size_t j = slot_of(libc_objects[i], cap);
          while (room[j]) j = (j + 1) % cap;
          room[j] = libc_objects[i];
        }
      old = libc_objects;
      libc_objects = room;
      libc_cap = cap;
      room = NULL;
      break;
    }
    set_unlock();
    free(room);
    if (!(room = calloc(cap, sizeof *room))) return ENOMEM;
    room_cap = cap;
    set_lock();
  }
  for (i = slot_of(p, libc_cap); libc_objects[i] && libc_objects[i] != &tomb && libc_objects[i] != p;
       i = (i + 1) % libc_cap) {
  }
  if (libc_objects[i] != p) {
    libc_objects[i] = p;
    __atomic_add_fetch(&libc_count, 1, __ATOMIC_RELEASE);
  }
  set_unlock();
  free(room);
  free(old);
  return 0;
}

static void libc_remove(const void *p) {
  size_t i, n;
  if (!__atomic_load_n(&libc_count, __ATOMIC_ACQUIRE)) return;
  set_lock();
  for (i = slot_of(p, libc_cap), n = 0; n < libc_cap && libc_objects[i]; i = (i + 1) % libc_cap, n++)
    if (libc_objects[i] == p) {
      libc_objects[i] = &tomb;
      __atomic_sub_fetch(&libc_count, 1, __ATOMIC_RELEASE);
      break;
    }
  set_unlock();
}

/* Whether a call on object p is green: green mode and not one of libc's. */
static int green_object(const void *p) {
  green__real_ready();
  return !green__shim_config.native && !is_libc(p);
}

/* green_object, for a call that may park or wake: the thread's hub is made first, by the
 * shim with the hooks held off (libgreen would make it as the call's side effect). */
static int green_waitable(const void *p) {
  if (!green_object(p)) return 0;
  green__shim_hub_attach();
  return 1;
}

/* A green library call's outcome as a pthread error number, errno left alone. */
static int error_of(int r, int saved) {
  int e = r < 0 ? errno : 0;
  errno = saved;
  return e;
}

/* ---- keys: greenlet-local storage -------------------------------------------------------
 * A green key is green_local's number with KEY_TAG set, so it never looks like one of libc's
 * (below PTHREAD_KEYS_MAX): keys made before main() — by libraries starting up, such as
 * AddressSanitizer, which keeps its per-OS-thread state under one — stay libc's, and calls on
 * each key go where it was made, on every thread. */
#define KEY_TAG (1u << 30)

static int green_key(pthread_key_t key) { return (key & KEY_TAG) != 0; }

GREEN__SHIM_EXPORT int pthread_key_create(pthread_key_t *key, void (*destructor)(void *)) {
  green_local_t k;
  int saved = errno, r;
  green__real_ready();
  if (green__shim_config.native ||
      __atomic_load_n(&green__shim_phase, __ATOMIC_ACQUIRE) == GREEN__SHIM_BEFORE_MAIN)
    return green__real.pthread_key_create(key, destructor);
  if ((r = error_of(green_local_create(&k, destructor), saved)) == 0) *key = k | KEY_TAG;
  return r;
}

GREEN__SHIM_EXPORT int pthread_key_delete(pthread_key_t key) {
  int saved = errno;
  green__real_ready();
  if (!green_key(key)) return green__real.pthread_key_delete(key);
  return error_of(green_local_delete(key & ~KEY_TAG), saved);
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
  return error_of(green_local_set(key & ~KEY_TAG, value), saved);
}

/* ---- once ------------------------------------------------------------------------------- */

enum { ONCE_IN_PROGRESS = 1, ONCE_DONE = 2 }; /* glibc's values: a done control reads done */

/* Green threads parked until another one's init of their control (their wait_on) returns. */
static green__list_t once_waiters = {&once_waiters, &once_waiters};

/* Wait while another green thread runs once's init (it may park in it). A thread that cannot
 * park (in a signal handler) looks again every millisecond. */
static void once_wait(pthread_once_t *once) {
  while (__atomic_load_n(once, __ATOMIC_ACQUIRE) == ONCE_IN_PROGRESS) {
    struct green__hub *h = green__shim_hub();
    if (!h) {
      green_sleep(0.001);
      continue;
    }
    green__list_push_back(&once_waiters, &h->current->wait_link);
    if (green__park(h, GREEN_WAIT_FUTEX, once, INFINITY, 0) != 0)
      green_sleep(0.001); /* nothing else can run (EDEADLK): look again, never spin */
  }
}

static void once_wake(struct green__hub *h, pthread_once_t *once) {
  green__list_t *n, *next;
  for (n = once_waiters.next; n != &once_waiters; n = next) {
    green_t *g = green__container_of(n, green_t, wait_link);
    next = n->next;
    if (g->wait_on == once) green__wake(h, g, 0);
  }
}

GREEN__SHIM_EXPORT int pthread_once(pthread_once_t *once, void (*init)(void)) {
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_once(once, init);
  once_wait(once);
  if (__atomic_load_n(once, __ATOMIC_ACQUIRE) == ONCE_DONE) return 0;
  __atomic_store_n(once, ONCE_IN_PROGRESS, __ATOMIC_RELAXED);
  init();
  __atomic_store_n(once, ONCE_DONE, __ATOMIC_RELEASE);
  if (green__shim_tls.hub) once_wake(green__shim_tls.hub, once);
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
    if (green__park(h, GREEN_WAIT_CALL, "pthread_barrier_wait", INFINITY, 0) == -EDEADLK)
      green__real.pause(); /* as OS threads would */
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

/* ---- mutexes ----------------------------------------------------------------------------
 * Shared mutexes (src/mutex.c): every thread's calls take them, so a mutex shared by the
 * green threads and an OS thread the shim does not manage (an allocator's arena lock)
 * excludes both. No call needs a hub or the allocator: a free mutex is taken with one
 * atomic exchange; a green thread waits parked on the hub; any other caller (a thread with
 * no hub yet, a signal handler, the hub's own greenlet, the shim setting a hub up, an
 * unmanaged thread) sleeps in the kernel until the owner lets go. */

_Static_assert(offsetof(green_mutex_t, owner) == offsetof(pthread_mutex_t, __data.__kind),
               "glibc's static kind initialisers land in the owner field");

/* The caller's owner token: its running greenlet (before its hub exists, its main one),
 * marked foreign on a thread that never has the hub. */
static green_t *self_token(void) {
  green_t *g = green__hub_running();
  return green__shim_tls.managed ? g : (green_t *)((uintptr_t)g | GREEN__MUTEX_FOREIGN);
}

/* The hub a wait parks on, or NULL when the caller must sleep in the kernel. */
static struct green__hub *park_hub(void) {
  green__shim_tls_t *t = &green__shim_tls;
  struct green__hub *h = t->hub;
  return h && !(t->busy | t->sigdepth) && h->current != &h->hub ? h : NULL;
}

/* m as a green mutex, after turning a glibc static kind initialiser into the kind it names
 * (threads racing to do it write the same kind; one of them clears the owner word). */
static green_mutex_t *gmutex(pthread_mutex_t *pm) {
  green_mutex_t *m = (green_mutex_t *)(void *)pm;
  green_t *w = __atomic_load_n(&m->owner, __ATOMIC_ACQUIRE);
  uintptr_t kind = (uintptr_t)w;
  if (green__unlikely(kind - 1 < 3)) {
    __atomic_store_n(&m->kind, kind == PTHREAD_MUTEX_RECURSIVE_NP    ? GREEN_MUTEX_RECURSIVE
                               : kind == PTHREAD_MUTEX_ERRORCHECK_NP ? GREEN_MUTEX_ERRORCHECK
                                                                     : GREEN_MUTEX_NORMAL,
                     __ATOMIC_RELAXED);
    __atomic_compare_exchange_n(&m->owner, &w, NULL, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
  }
  return m;
}

/* A shared mutex call's -E... result as pthread returns it, errno as the call found it. */
static int mutex_result(int r, int saved) {
  errno = saved;
  return -r;
}

GREEN__SHIM_EXPORT int pthread_mutex_init(pthread_mutex_t *restrict pm,
                                          const pthread_mutexattr_t *restrict attr) {
  int type = PTHREAD_MUTEX_DEFAULT, pshared = PTHREAD_PROCESS_PRIVATE, robust = PTHREAD_MUTEX_STALLED;
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_mutex_init(pm, attr);
  if (attr && (pthread_mutexattr_gettype(attr, &type) || pthread_mutexattr_getpshared(attr, &pshared) ||
               pthread_mutexattr_getrobust(attr, &robust)))
    return EINVAL;
  libc_remove(pm);
  if (pshared == PTHREAD_PROCESS_SHARED || robust == PTHREAD_MUTEX_ROBUST) {
    int r = green__real.pthread_mutex_init(pm, attr);
    if (r == 0 && (r = libc_add(pm)) != 0) green__real.pthread_mutex_destroy(pm);
    return r;
  }
  memset(pm, 0, sizeof *pm);
  green_mutex_init((green_mutex_t *)(void *)pm,
                   type == PTHREAD_MUTEX_RECURSIVE ? GREEN_MUTEX_RECURSIVE
                   : type == PTHREAD_MUTEX_ERRORCHECK ? GREEN_MUTEX_ERRORCHECK : GREEN_MUTEX_NORMAL);
  return 0;
}

GREEN__SHIM_EXPORT int pthread_mutex_destroy(pthread_mutex_t *pm) {
  int saved = errno, r;
  if (!green_object(pm)) {
    if ((r = green__real.pthread_mutex_destroy(pm)) == 0) libc_remove(pm);
    return r;
  }
  return error_of(green_mutex_destroy(gmutex(pm)), saved);
}

/* GREEN_DEBUG: the mutex is held by another thread, so the lock waits. */
static green_mutex_t *debug_lock(green_mutex_t *m, const char *call) {
  if (green__shim_config.debug && __atomic_load_n(&m->owner, __ATOMIC_RELAXED) &&
      !green__mutex_owned(m, self_token()))
    green__shim_debug(call, -1);
  return m;
}

/* lock, timedlock, clocklock: a free mutex is taken without a look at the time, as glibc
 * does (POSIX: its validity "need not be checked if the mutex can be locked immediately");
 * only a wait checks it. */
static int lock(pthread_mutex_t *pm, green__until_t u, const char *call) {
  int saved = errno;
  green_mutex_t *m = debug_lock(gmutex(pm), call);
  return mutex_result(green__mutex_lock_shared(park_hub(), m, self_token(), u), saved);
}

GREEN__SHIM_EXPORT int pthread_mutex_lock(pthread_mutex_t *pm) {
  if (!green_object(pm)) return green__real.pthread_mutex_lock(pm);
  return lock(pm, green__until_timeout(-1), "pthread_mutex_lock");
}

GREEN__SHIM_EXPORT int pthread_mutex_trylock(pthread_mutex_t *pm) {
  if (!green_object(pm)) return green__real.pthread_mutex_trylock(pm);
  return -green__mutex_trylock_shared(gmutex(pm), self_token());
}

GREEN__SHIM_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *restrict pm, clockid_t clock,
                                               const struct timespec *restrict at) {
  if (!green_object(pm)) return green__real.pthread_mutex_clocklock(pm, clock, at);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  return lock(pm, green__until_abstime(clock, at), "pthread_mutex_clocklock");
}

GREEN__SHIM_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *restrict pm,
                                               const struct timespec *restrict at) {
  if (!green_object(pm)) return green__real.pthread_mutex_timedlock(pm, at);
  return lock(pm, green__until_abstime(CLOCK_REALTIME, at), "pthread_mutex_timedlock");
}

GREEN__SHIM_EXPORT int pthread_mutex_unlock(pthread_mutex_t *pm) {
  int saved = errno;
  if (!green_object(pm)) return green__real.pthread_mutex_unlock(pm);
  return mutex_result(green__mutex_unlock_shared(gmutex(pm), self_token()), saved);
}

/* ---- condition variables ----------------------------------------------------------------
 * libgreen's condition for the green threads, and beside it in pthread_cond_t a sequence
 * word for the OS threads that wait on it too (mutexes above say which threads cannot
 * park). */

typedef struct shim_cond {
  green_cond_t g;
  uint32_t seq;           /* bumped by a signal that finds sleepers; they sleep on it (a futex) */
  uint32_t sleepers;      /* OS threads in a wait */
  uint32_t green_waiters; /* green threads in a wait (the hub's thread counts them) */
  uint32_t foreign;       /* a thread outside the hub has used it: it may wake green waiters */
} shim_cond_t;

_Static_assert(sizeof(shim_cond_t) <= sizeof(pthread_cond_t), "a condition fits pthread's");

#define COND(pc) ((shim_cond_t *)(void *)(pc))

GREEN__SHIM_EXPORT int pthread_cond_init(pthread_cond_t *restrict pc,
                                         const pthread_condattr_t *restrict attr) {
  clockid_t clock = CLOCK_REALTIME;
  int pshared = PTHREAD_PROCESS_PRIVATE, saved = errno;
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_cond_init(pc, attr);
  if (attr && (pthread_condattr_getclock(attr, &clock) || pthread_condattr_getpshared(attr, &pshared)))
    return EINVAL;
  libc_remove(pc);
  if (pshared == PTHREAD_PROCESS_SHARED) {
    int r = green__real.pthread_cond_init(pc, attr);
    if (r == 0 && (r = libc_add(pc)) != 0) green__real.pthread_cond_destroy(pc);
    return r;
  }
  memset(pc, 0, sizeof *pc);
  return error_of(green_cond_init((green_cond_t *)(void *)pc, clock), saved);
}

GREEN__SHIM_EXPORT int pthread_cond_destroy(pthread_cond_t *pc) {
  int saved = errno, r;
  if (!green_object(pc)) {
    if ((r = green__real.pthread_cond_destroy(pc)) == 0) libc_remove(pc);
    return r;
  }
  if (__atomic_load_n(&COND(pc)->sleepers, __ATOMIC_ACQUIRE)) return EBUSY;
  return error_of(green_cond_destroy(&COND(pc)->g), saved);
}

/* OS threads waiting on a condition (those that cannot park: mutex.c's shared mutexes say
 * which) sleep in the kernel until `seq` changes. */
static void wake_sleepers(shim_cond_t *c, int n) {
  if (!__atomic_load_n(&c->sleepers, __ATOMIC_SEQ_CST)) return;
  __atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
  green__futex_wake(&c->seq, n);
}

/* Green waiters are woken on the hub's thread only (another thread cannot touch the hub). */
static int on_hub_thread(void) { return green__shim_tls.managed && green__shim_tls.hub; }

/* ---- waking green waiters from outside the hub -----------------------------------------
 * A thread outside the hub (a timer's callback) that signals a condition green threads wait
 * on posts the signal to the hub (threadsafe.c), which runs it on its own thread. The hub's
 * handle is made by the first green wait, with no reference of its own; a green wait on a
 * condition that such a thread has used holds one, so that the hub, finding every green
 * thread parked, waits for the signal instead of reporting a deadlock. */

static green_hub_t *hub_handle; /* NULL until the first green wait; again in a forked child */

typedef struct remote_call {
  green__remote_t remote;
  void (*fn)(void *obj, int arg);
  void *obj;
  int arg;
} remote_call_t;

static void run_call(green__remote_t *r) {
  remote_call_t *c = green__container_of(r, remote_call_t, remote);
  c->fn(c->obj, c->arg);
  free(c);
}

static void drop_call(green__remote_t *r) { free(green__container_of(r, remote_call_t, remote)); }

/* Have fn(obj, arg) run on the hub's thread if green threads wait on obj. */
static void post_to_hub(uint32_t *green_waiters, void (*fn)(void *, int), void *obj, int arg) {
  green_hub_t *hb = __atomic_load_n(&hub_handle, __ATOMIC_ACQUIRE);
  remote_call_t *c;
  if (!hb || !__atomic_load_n(green_waiters, __ATOMIC_SEQ_CST) || !(c = malloc(sizeof *c))) return;
  c->remote.run = run_call;
  c->remote.drop = drop_call;
  c->fn = fn;
  c->obj = obj;
  c->arg = arg;
  if (green__hub_post(hb, &c->remote) < 0) free(c);
}

static void cond_wake(void *c, int all) {
  if (all) green_cond_broadcast(&((shim_cond_t *)c)->g);
  else green_cond_signal(&((shim_cond_t *)c)->g);
}

static void signal_from_outside(shim_cond_t *c, int all) {
  __atomic_store_n(&c->foreign, 1, __ATOMIC_SEQ_CST);
  post_to_hub(&c->green_waiters, cond_wake, c, all);
}

/* Around a green wait on an object: count it in *green_waiters, and when threads outside
 * the hub use the object (`foreign`), hold a reference to the hub's handle (a wake-up may
 * still come from them). */
static green_hub_t *green_wait_begin(struct green__hub *h, uint32_t *green_waiters, int foreign) {
  green_hub_t *hb = NULL;
  int err;
  __atomic_add_fetch(green_waiters, 1, __ATOMIC_SEQ_CST);
  if (!__atomic_load_n(&hub_handle, __ATOMIC_ACQUIRE) && (hb = green__hub_ref(h, &err))) {
    __atomic_store_n(&hub_handle, hb, __ATOMIC_RELEASE);
    green__hub_unref(hb);
  }
  return foreign ? green__hub_ref(h, &err) : NULL;
}

static void green_wait_end(uint32_t *green_waiters, green_hub_t *held) {
  if (held) green__hub_unref(held);
  __atomic_sub_fetch(green_waiters, 1, __ATOMIC_SEQ_CST);
}

void green__shim_sync_after_fork(void) { hub_handle = NULL; }

GREEN__SHIM_EXPORT int pthread_cond_signal(pthread_cond_t *pc) {
  int saved = errno, r = 0;
  if (!green_waitable(pc)) return green__real.pthread_cond_signal(pc);
  wake_sleepers(COND(pc), 1); /* a green one may be woken too: spurious wake-ups are allowed */
  if (on_hub_thread()) r = green_cond_signal(&COND(pc)->g);
  else signal_from_outside(COND(pc), 0);
  return error_of(r, saved);
}

GREEN__SHIM_EXPORT int pthread_cond_broadcast(pthread_cond_t *pc) {
  int saved = errno, r = 0;
  if (!green_waitable(pc)) return green__real.pthread_cond_broadcast(pc);
  wake_sleepers(COND(pc), INT_MAX);
  if (on_hub_thread()) r = green_cond_broadcast(&COND(pc)->g);
  else signal_from_outside(COND(pc), 1);
  return error_of(r, saved);
}

/* A wait by a thread that cannot park: release m fully, sleep until a signal changes seq
 * (or `u` passes), take m back at the same depth. */
static int sleep_on(shim_cond_t *c, green_mutex_t *m, green__until_t u) {
  green_t *self = self_token();
  unsigned depth;
  uint32_t seq;
  int r;
  if (!green__mutex_owned(m, self)) return EPERM;
  if ((r = green__until_check(u))) return -r;
  __atomic_add_fetch(&c->sleepers, 1, __ATOMIC_SEQ_CST); /* before seq: no signal slips by */
  seq = __atomic_load_n(&c->seq, __ATOMIC_SEQ_CST);
  depth = m->count;
  m->count = 1;
  green__mutex_unlock_shared(m, self);
  r = green__futex_wait(&c->seq, seq, green__until_at(u));
  __atomic_sub_fetch(&c->sleepers, 1, __ATOMIC_SEQ_CST);
  green__mutex_lock_shared(NULL, m, self, green__until_timeout(-1));
  m->count = depth;
  return -r;
}

/* The three waits: green threads park on the hub (libgreen's condition), others sleep.
 * clock: timedwait's is (clockid_t)-1, the condition's own. */
static int cond_wait(pthread_cond_t *pc, pthread_mutex_t *pm, clockid_t clock,
                     const struct timespec *at, const char *call) {
  int saved = errno, r;
  green_cond_t *c = &COND(pc)->g;
  green_mutex_t *m = gmutex(pm);
  green__shim_thread_t *self;
  green_hub_t *held;
  struct green__hub *h = park_hub();
  if (!h) {
    if (!green__shim_tls.managed) __atomic_store_n(&COND(pc)->foreign, 1, __ATOMIC_SEQ_CST);
    if (clock == (clockid_t)-1) clock = c->clock;
    r = sleep_on(COND(pc), m, at ? green__until_abstime(clock, at) : green__until_timeout(-1));
    errno = saved;
    return r;
  }
  if (green__shim_config.debug) green__shim_debug(call, -1);
  self = green__shim_wait_begin(GREEN__INTR_NEVER);
  held = green_wait_begin(h, &COND(pc)->green_waiters,
                          __atomic_load_n(&COND(pc)->foreign, __ATOMIC_SEQ_CST));
  if (!at) r = green_cond_wait(c, m, -1);
  else if (clock == (clockid_t)-1) r = green__cond_timedwait(c, m, at);
  else r = green__cond_clockwait(c, m, clock, at);
  green_wait_end(&COND(pc)->green_waiters, held);
  return error_of(green__shim_wait_end(self, r), saved);
}

GREEN__SHIM_EXPORT int pthread_cond_wait(pthread_cond_t *restrict pc, pthread_mutex_t *restrict pm) {
  if (!green_waitable(pc) || is_libc(pm)) return green__real.pthread_cond_wait(pc, pm);
  return cond_wait(pc, pm, 0, NULL, "pthread_cond_wait");
}

GREEN__SHIM_EXPORT int pthread_cond_timedwait(pthread_cond_t *restrict pc,
                                              pthread_mutex_t *restrict pm,
                                              const struct timespec *restrict at) {
  if (!green_waitable(pc) || is_libc(pm)) return green__real.pthread_cond_timedwait(pc, pm, at);
  return cond_wait(pc, pm, (clockid_t)-1, at, "pthread_cond_timedwait");
}

GREEN__SHIM_EXPORT int pthread_cond_clockwait(pthread_cond_t *restrict pc,
                                              pthread_mutex_t *restrict pm, clockid_t clock,
                                              const struct timespec *restrict at) {
  if (!green_waitable(pc) || is_libc(pm)) return green__real.pthread_cond_clockwait(pc, pm, clock, at);
  return cond_wait(pc, pm, clock, at, "pthread_cond_clockwait");
}

/* ---- semaphores -------------------------------------------------------------------------
 * libgreen's semaphore for the green threads. A sem_post from outside the hub (a timer's
 * callback) counts in `outside`; the hub's thread adds those posts to the semaphore before
 * its next call on it, and at once when green threads wait (the post is sent to the hub, as
 * a condition's signal is). Waits outside the hub are not shared yet (README's Limits). */

typedef struct shim_sem {
  green_sem_t g;
  uint32_t outside;       /* posts from outside the hub not yet added, and OUTSIDE_USED */
  uint32_t green_waiters; /* green threads in a wait (the hub's thread counts them) */
} shim_sem_t;

#define OUTSIDE_USED 0x80000000u /* a thread outside the hub has posted */
#define SEM(s) ((shim_sem_t *)(void *)(s))

_Static_assert(sizeof(shim_sem_t) <= sizeof(sem_t), "a semaphore fits sem_t");

/* The green semaphore, after adding the posts made outside the hub (on its thread only). */
static green_sem_t *gsem(sem_t *ps) {
  shim_sem_t *s = SEM(ps);
  uint32_t n;
  if (green__likely(!(__atomic_load_n(&s->outside, __ATOMIC_RELAXED) & ~OUTSIDE_USED)) ||
      !on_hub_thread())
    return &s->g;
  n = __atomic_fetch_and(&s->outside, OUTSIDE_USED, __ATOMIC_ACQ_REL) & ~OUTSIDE_USED;
  while (n--) green_sem_post(&s->g);
  return &s->g;
}

static void take_outside_posts(void *s, int unused) {
  (void)unused;
  gsem(s);
}

GREEN__SHIM_EXPORT int sem_init(sem_t *s, int pshared, unsigned value) {
  int r;
  green__real_ready();
  if (green__shim_config.native) return green__real.sem_init(s, pshared, value);
  libc_remove(s);
  if (pshared) {
    if ((r = green__real.sem_init(s, pshared, value)) == 0 && libc_add(s) != 0) {
      green__real.sem_destroy(s);
      errno = ENOSPC; /* POSIX's "a resource required ... has been exhausted" */
      r = -1;
    }
    return r;
  }
  memset(s, 0, sizeof *s);
  return green_sem_init(&SEM(s)->g, value);
}

GREEN__SHIM_EXPORT int sem_destroy(sem_t *s) {
  int r;
  if (!green_object(s)) {
    if ((r = green__real.sem_destroy(s)) == 0) libc_remove(s);
    return r;
  }
  return green_sem_destroy(gsem(s));
}

/* sem_wait and friends: cancellation points that a signal handler interrupts (EINTR). at:
 * NULL for sem_wait. */
static int sem_wait_green(sem_t *s, clockid_t clock, const struct timespec *at, const char *call) {
  struct green__hub *h = green__shim_tls.hub;
  green_sem_t *g = gsem(s);
  green__shim_thread_t *self;
  green_hub_t *held;
  int v, r;
  if (green__shim_config.debug && green_sem_getvalue(g, &v) == 0 && v == 0)
    green__shim_debug(call, -1);
  self = green__shim_wait_begin(GREEN__INTR_ALWAYS);
  held = h ? green_wait_begin(h, &SEM(s)->green_waiters,
                              __atomic_load_n(&SEM(s)->outside, __ATOMIC_SEQ_CST) != 0)
           : NULL;
  r = at ? green__sem_timedwait(g, clock, at) : green_sem_wait(g, -1);
  if (h) green_wait_end(&SEM(s)->green_waiters, held);
  return green__shim_wait_end(self, r);
}

/* ---- libc's semaphores (named, process-shared) in green mode ---------------------------
 * A wait must not block the OS thread: the poster may be another green thread of it
 * (multiprocessing's locks are named semaphores, used between threads of one process). It
 * tries sem_trywait and parks between tries: a post made by a green thread of this hub wakes
 * it at once, and a back-off (1 ms, doubling up to 16 ms) catches posts from other processes
 * and OS threads. A wait outside a green thread stays libc's. */
struct sem_waiter {
  green__list_t link;
  green_t *g;
  const sem_t *s;
};

static __thread green__list_t sem_waiters;
static __thread struct green__hub *sem_waiters_hub; /* a fork child's hub starts a new list */

static green__list_t *waiters_of(struct green__hub *h) {
  if (sem_waiters_hub != h) {
    green__list_init(&sem_waiters);
    sem_waiters_hub = h;
  }
  return &sem_waiters;
}

static int libc_sem_wait(struct green__hub *h, sem_t *s, clockid_t clock,
                         const struct timespec *abs, const char *call) {
  struct sem_waiter w = {.g = h->current, .s = s};
  green__until_t until = green__until_abstime(clock, abs);
  double delay = 0.001, at = NAN, now;
  int saved = errno, r;
  for (;;) {
    if (green__real.sem_trywait(s) == 0) return green__shim_done(0, saved);
    if (errno != EAGAIN) return -1;
    if (isnan(at)) { /* the first wait: the deadline is read, and checked, only now */
      if (abs && green__until_check(until)) return green__fail(-EINVAL);
      at = abs ? green__until_at(until) : INFINITY;
    }
    if ((now = green_now()) >= at) return green__fail(-ETIMEDOUT);
    green__list_push_back(waiters_of(h), &w.link);
    r = green__shim_park(h, GREEN_WAIT_CALL, fmin(at, now + delay), 0, GREEN__INTR_ALWAYS, call);
    green__list_remove(&w.link);
    if (r < 0 && r != -ETIMEDOUT) return green__fail(r);
    delay = fmin(delay * 2, 0.016);
  }
}

/* A post by a green thread: its hub's waiters on s try again now. */
static void libc_sem_posted(const sem_t *s) {
  struct green__hub *h = green__shim_hub();
  green__list_t *n, *list;
  if (!h) return;
  list = waiters_of(h);
  for (n = list->next; n != list; n = n->next) {
    struct sem_waiter *w = green__container_of(n, struct sem_waiter, link);
    if (w->s == s) green__wake(h, w->g, 0);
  }
}

enum { SEM_WAIT, SEM_TIMEDWAIT, SEM_CLOCKWAIT };
static const char *const sem_calls[] = {"sem_wait", "sem_timedwait", "sem_clockwait"};

/* A wait on one of libc's semaphores: green where the caller is a green thread. */
static int libc_wait(int call, sem_t *s, clockid_t clock, const struct timespec *abs) {
  struct green__hub *h = green__shim_config.native ? NULL : green__shim_hub();
  if (h) return libc_sem_wait(h, s, clock, call == SEM_WAIT ? NULL : abs, sem_calls[call]);
  if (call == SEM_WAIT) return green__real.sem_wait(s);
  if (call == SEM_TIMEDWAIT) return green__real.sem_timedwait(s, abs);
  return green__real.sem_clockwait(s, clock, abs);
}

GREEN__SHIM_EXPORT int sem_wait(sem_t *s) {
  if (!green_waitable(s)) return libc_wait(SEM_WAIT, s, CLOCK_REALTIME, NULL);
  return sem_wait_green(s, CLOCK_REALTIME, NULL, "sem_wait");
}

GREEN__SHIM_EXPORT int sem_timedwait(sem_t *restrict s, const struct timespec *restrict at) {
  if (!green_waitable(s)) return libc_wait(SEM_TIMEDWAIT, s, CLOCK_REALTIME, at);
  return sem_wait_green(s, CLOCK_REALTIME, at, "sem_timedwait");
}

GREEN__SHIM_EXPORT int sem_clockwait(sem_t *restrict s, clockid_t clock,
                                     const struct timespec *restrict at) {
  if (!green_waitable(s)) return libc_wait(SEM_CLOCKWAIT, s, clock, at);
  return sem_wait_green(s, clock, at, "sem_clockwait");
}

GREEN__SHIM_EXPORT int sem_trywait(sem_t *s) {
  if (!green_waitable(s)) return green__real.sem_trywait(s);
  return green_sem_trywait(gsem(s));
}

GREEN__SHIM_EXPORT int sem_post(sem_t *s) {
  int r;
  if (!green_waitable(s)) {
    if ((r = green__real.sem_post(s)) == 0 && !green__shim_config.native) libc_sem_posted(s);
    return r;
  }
  if (on_hub_thread()) return green_sem_post(gsem(s));
  __atomic_fetch_or(&SEM(s)->outside, OUTSIDE_USED, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&SEM(s)->outside, 1, __ATOMIC_SEQ_CST);
  post_to_hub(&SEM(s)->green_waiters, take_outside_posts, s, 0);
  return 0;
}

GREEN__SHIM_EXPORT int sem_getvalue(sem_t *restrict s, int *restrict value) {
  if (!green_waitable(s)) return green__real.sem_getvalue(s, value);
  return green_sem_getvalue(gsem(s), value);
}

/* Named semaphores live in shared memory: libc's. */
GREEN__SHIM_EXPORT sem_t *sem_open(const char *name, int flags, ...) {
  va_list ap;
  mode_t mode = 0;
  unsigned value = 0;
  sem_t *s;
  if (flags & O_CREAT) {
    va_start(ap, flags);
    mode = (mode_t)va_arg(ap, int);
    value = va_arg(ap, unsigned);
    va_end(ap);
  }
  green__real_ready();
  if ((s = green__real.sem_open(name, flags, mode, value)) != SEM_FAILED && libc_add(s) != 0) {
    green__real.sem_close(s);
    if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) sem_unlink(name); /* made here */
    errno = ENOMEM;
    s = SEM_FAILED;
  }
  return s;
}

GREEN__SHIM_EXPORT int sem_close(sem_t *s) {
  green__real_ready();
  libc_remove(s);
  return green__real.sem_close(s);
}

/* ---- read-write locks ------------------------------------------------------------------- */

#define GRW(p) ((green_rwlock_t *)(void *)(p))

GREEN__SHIM_EXPORT int pthread_rwlock_init(pthread_rwlock_t *restrict rw,
                                           const pthread_rwlockattr_t *restrict attr) {
  int pshared = PTHREAD_PROCESS_PRIVATE, saved = errno;
  green__real_ready();
  if (green__shim_config.native) return green__real.pthread_rwlock_init(rw, attr);
  if (attr && pthread_rwlockattr_getpshared(attr, &pshared)) return EINVAL;
  libc_remove(rw);
  if (pshared == PTHREAD_PROCESS_SHARED) {
    int r = green__real.pthread_rwlock_init(rw, attr);
    if (r == 0 && (r = libc_add(rw)) != 0) green__real.pthread_rwlock_destroy(rw);
    return r;
  }
  memset(rw, 0, sizeof *rw);
  return error_of(green_rwlock_init(GRW(rw)), saved);
}

GREEN__SHIM_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw) {
  int saved = errno, r;
  if (!green_object(rw)) {
    if ((r = green__real.pthread_rwlock_destroy(rw)) == 0) libc_remove(rw);
    return r;
  }
  return error_of(green_rwlock_destroy(GRW(rw)), saved);
}

#define RWLOCK_CALL(name, params, args, green_call)                          \
  GREEN__SHIM_EXPORT int name params {                                     \
    int saved = errno;                                                     \
    if (!green_waitable(rw)) return green__real.name args;                   \
    return error_of(green_call, saved);                                    \
  }
RWLOCK_CALL(pthread_rwlock_rdlock, (pthread_rwlock_t * rw), (rw), green_rwlock_rdlock(GRW(rw), -1))
RWLOCK_CALL(pthread_rwlock_tryrdlock, (pthread_rwlock_t * rw), (rw), green_rwlock_tryrdlock(GRW(rw)))
RWLOCK_CALL(pthread_rwlock_timedrdlock, (pthread_rwlock_t *restrict rw, const struct timespec *restrict at),
            (rw, at), green__rwlock_timedrdlock(GRW(rw), CLOCK_REALTIME, at))
RWLOCK_CALL(pthread_rwlock_clockrdlock,
            (pthread_rwlock_t *restrict rw, clockid_t clock, const struct timespec *restrict at),
            (rw, clock, at), green__rwlock_timedrdlock(GRW(rw), clock, at))
RWLOCK_CALL(pthread_rwlock_wrlock, (pthread_rwlock_t * rw), (rw), green_rwlock_wrlock(GRW(rw), -1))
RWLOCK_CALL(pthread_rwlock_trywrlock, (pthread_rwlock_t * rw), (rw), green_rwlock_trywrlock(GRW(rw)))
RWLOCK_CALL(pthread_rwlock_timedwrlock, (pthread_rwlock_t *restrict rw, const struct timespec *restrict at),
            (rw, at), green__rwlock_timedwrlock(GRW(rw), CLOCK_REALTIME, at))
RWLOCK_CALL(pthread_rwlock_clockwrlock,
            (pthread_rwlock_t *restrict rw, clockid_t clock, const struct timespec *restrict at),
            (rw, clock, at), green__rwlock_timedwrlock(GRW(rw), clock, at))
RWLOCK_CALL(pthread_rwlock_unlock, (pthread_rwlock_t * rw), (rw), green_rwlock_unlock(GRW(rw)))
