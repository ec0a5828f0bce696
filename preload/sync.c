/* SPDX-License-Identifier: MIT */
/*
 * pthread's mutexes, conditions and rwlocks and POSIX semaphores in green mode. In native
 * mode every call goes to libc.
 *
 * They are kept as libgreen's objects in the program's own pthread_*_t and sem_t storage.
 * green_mutex_t and friends fit inside pthread's. All-zero is the initialised state, as
 * pthread's static initialisers give. Mutexes are libgreen's shared ones. Every thread takes
 * them without a hub, since an allocator's locks are everyone's. Conditions let threads that
 * cannot park sleep in the kernel. Objects shared between processes stay libc's (objects.c).
 *
 * Mutex kinds: glibc's static PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP and friends write the
 * kind where green_mutex_t keeps its owner. So an owner of 1, 2 or 3 with no waiters is such
 * an initialiser. It becomes a green mutex of that kind on first use. A normal mutex
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
#include "objects.h"
#include "threads.h"

/* ---- objects that stay libc's (objects.h) ---------------------------------------------- */

enum { LIBC_MUTEX, LIBC_COND, LIBC_RWLOCK };

/* After libc's init of p returned r: p is noted as libc's. When there is no room to note it
 * (ENOMEM), p is destroyed again. */
static int keep_libc(int kind, void *p, int r) {
  if (r != 0 || (r = green__shim_libc_add(p)) == 0) return r;
  if (kind == LIBC_MUTEX) green__real.pthread_mutex_destroy(p);
  else if (kind == LIBC_COND) green__real.pthread_cond_destroy(p);
  else green__real.pthread_rwlock_destroy(p);
  return r;
}

/* ---- mutexes ----------------------------------------------------------------------------
 * Shared mutexes (src/mutex.c): every thread's calls take them. Say the green threads and an
 * OS thread the shim does not manage share a mutex (an allocator's arena lock). The mutex
 * excludes both. No call needs a hub or the allocator. A free mutex is taken with one atomic
 * exchange. A green thread waits parked on the hub. Any other caller sleeps in the kernel
 * until the owner lets go. Such callers are a thread with no hub yet and a signal handler.
 * So are the hub's own greenlet, the shim setting a hub up, and an unmanaged thread. */

_Static_assert(offsetof(green_mutex_t, owner) == offsetof(pthread_mutex_t, __data.__kind),
               "glibc's static kind initialisers land in the owner field");

/* The caller's owner token: its running greenlet. Before its hub exists, its main one. On a
 * thread that never has the hub, the token is marked foreign. */
static green_t *self_token(void) {
  green_t *g = green__hub_running();
  return green__shim_tls.managed ? g : (green_t *)((uintptr_t)g | GREEN__MUTEX_FOREIGN);
}

/* The hub a wait parks on, or NULL when the caller must sleep in the kernel. */
static struct green__hub *park_hub(void) { return green__shim_gate(GREEN__GATE_EXISTING); }

/* m as a green mutex, after turning a glibc static kind initialiser into the kind it names.
 * Threads racing to do it write the same kind; one of them clears the owner word. */
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
  green__shim_libc_remove(pm);
  if (pshared == PTHREAD_PROCESS_SHARED || robust == PTHREAD_MUTEX_ROBUST)
    return keep_libc(LIBC_MUTEX, pm, green__real.pthread_mutex_init(pm, attr));
  memset(pm, 0, sizeof *pm);
  green_mutex_init((green_mutex_t *)(void *)pm,
                   type == PTHREAD_MUTEX_RECURSIVE ? GREEN_MUTEX_RECURSIVE
                   : type == PTHREAD_MUTEX_ERRORCHECK ? GREEN_MUTEX_ERRORCHECK : GREEN_MUTEX_NORMAL);
  return 0;
}

GREEN__SHIM_EXPORT int pthread_mutex_destroy(pthread_mutex_t *pm) {
  int saved = errno;
  if (!green__shim_green_object(pm))
    return green__shim_libc_destroyed(pm, green__real.pthread_mutex_destroy(pm));
  return green__shim_pthread_error(green_mutex_destroy(gmutex(pm)), saved);
}

/* GREEN_DEBUG: the mutex is held by another thread, so the lock waits. */
static green_mutex_t *debug_lock(green_mutex_t *m, const char *call) {
  if (green__shim_config.debug && __atomic_load_n(&m->owner, __ATOMIC_RELAXED) &&
      !green__mutex_owned(m, self_token()))
    green__shim_debug(call, -1);
  return m;
}

/* lock, timedlock, clocklock: a free mutex is taken without a look at the time, as glibc
 * does. POSIX says its validity "need not be checked if the mutex can be locked immediately".
 * Only a wait checks it. */
static int lock(pthread_mutex_t *pm, green__until_t u, const char *call) {
  int saved = errno;
  green_mutex_t *m = debug_lock(gmutex(pm), call);
  return mutex_result(green__mutex_lock_shared(park_hub(), m, self_token(), u), saved);
}

GREEN__SHIM_EXPORT int pthread_mutex_lock(pthread_mutex_t *pm) {
  if (!green__shim_green_object(pm)) return green__real.pthread_mutex_lock(pm);
  return lock(pm, green__until_timeout(-1), "pthread_mutex_lock");
}

GREEN__SHIM_EXPORT int pthread_mutex_trylock(pthread_mutex_t *pm) {
  if (!green__shim_green_object(pm)) return green__real.pthread_mutex_trylock(pm);
  return -green__mutex_trylock_shared(gmutex(pm), self_token());
}

GREEN__SHIM_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *restrict pm, clockid_t clock,
                                               const struct timespec *restrict at) {
  if (!green__shim_green_object(pm)) return green__real.pthread_mutex_clocklock(pm, clock, at);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  return lock(pm, green__until_abstime(clock, at), "pthread_mutex_clocklock");
}

GREEN__SHIM_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *restrict pm,
                                               const struct timespec *restrict at) {
  if (!green__shim_green_object(pm)) return green__real.pthread_mutex_timedlock(pm, at);
  return lock(pm, green__until_abstime(CLOCK_REALTIME, at), "pthread_mutex_timedlock");
}

GREEN__SHIM_EXPORT int pthread_mutex_unlock(pthread_mutex_t *pm) {
  int saved = errno;
  if (!green__shim_green_object(pm)) return green__real.pthread_mutex_unlock(pm);
  return mutex_result(green__mutex_unlock_shared(gmutex(pm), self_token()), saved);
}

/* ---- condition variables ----------------------------------------------------------------
 * libgreen's condition for the green threads. Beside it in pthread_cond_t, a sequence word
 * for the OS threads that wait on it too. Mutexes above say which threads cannot park. */

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
  green__shim_libc_remove(pc);
  if (pshared == PTHREAD_PROCESS_SHARED)
    return keep_libc(LIBC_COND, pc, green__real.pthread_cond_init(pc, attr));
  memset(pc, 0, sizeof *pc);
  return green__shim_pthread_error(green_cond_init((green_cond_t *)(void *)pc, clock), saved);
}

GREEN__SHIM_EXPORT int pthread_cond_destroy(pthread_cond_t *pc) {
  int saved = errno;
  if (!green__shim_green_object(pc))
    return green__shim_libc_destroyed(pc, green__real.pthread_cond_destroy(pc));
  if (__atomic_load_n(&COND(pc)->sleepers, __ATOMIC_ACQUIRE)) return EBUSY;
  return green__shim_pthread_error(green_cond_destroy(&COND(pc)->g), saved);
}

/* OS threads waiting on a condition sleep in the kernel until `seq` changes. These are the
 * threads that cannot park; mutex.c's shared mutexes say which. */
static void wake_sleepers(shim_cond_t *c, int n) {
  if (!__atomic_load_n(&c->sleepers, __ATOMIC_SEQ_CST)) return;
  __atomic_add_fetch(&c->seq, 1, __ATOMIC_SEQ_CST);
  green__futex_wake(&c->seq, n);
}

/* Green waiters are woken on a hub's thread only (another thread cannot touch a hub). */
static int on_hub_thread(void) { return green__shim_tls.managed && green__shim_tls.hub; }

/* ---- waking green waiters from outside the hubs -----------------------------------------
 * A thread outside the hubs (a timer's callback) may signal a condition green threads wait
 * on. It posts the signal to a hub (threadsafe.c), which runs it on its own thread. Any hub
 * will do: a condition's or a semaphore's waiters may live on several hubs, and a hub's
 * signal wakes each on its own (share.h). The post goes to the hub of the latest green wait,
 * found by number, so a hub that has ended is never posted to. A green wait on a condition
 * that such a thread has used holds a reference to its hub. So when the hub finds every
 * green thread parked, it waits for the signal instead of reporting a deadlock. */

static unsigned wait_hub; /* the number of the latest green wait's hub; 0 before the first */

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

/* Have fn(obj, arg) run on a hub's thread if green threads wait on obj. */
static void post_to_hub(uint32_t *green_waiters, void (*fn)(void *, int), void *obj, int arg) {
  green_hub_t *hb;
  remote_call_t *c;
  if (!__atomic_load_n(green_waiters, __ATOMIC_SEQ_CST)) return;
  if (!(hb = green__hub_ref_number(__atomic_load_n(&wait_hub, __ATOMIC_ACQUIRE)))) return;
  if ((c = malloc(sizeof *c))) {
    c->remote.run = run_call;
    c->remote.drop = drop_call;
    c->fn = fn;
    c->obj = obj;
    c->arg = arg;
    if (green__hub_post(hb, &c->remote) < 0) free(c);
  }
  green__hub_unref(hb);
}

static void cond_wake(void *c, int all) {
  if (all) green_cond_broadcast(&((shim_cond_t *)c)->g);
  else green_cond_signal(&((shim_cond_t *)c)->g);
}

static void signal_from_outside(shim_cond_t *c, int all) {
  __atomic_store_n(&c->foreign, 1, __ATOMIC_SEQ_CST);
  post_to_hub(&c->green_waiters, cond_wake, c, all);
}

/* Around a green wait on an object: count it in *green_waiters. When threads outside the hubs
 * use the object (`foreign`), hold a reference to the hub's handle. A wake-up may still come
 * from them. */
static green_hub_t *green_wait_begin(struct green__hub *h, uint32_t *green_waiters, int foreign) {
  int err;
  __atomic_add_fetch(green_waiters, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&wait_hub, __ATOMIC_RELAXED) != h->number)
    __atomic_store_n(&wait_hub, h->number, __ATOMIC_RELEASE);
  return foreign ? green__hub_ref(h, &err) : NULL;
}

static void green_wait_end(uint32_t *green_waiters, green_hub_t *held) {
  if (held) green__hub_unref(held);
  __atomic_sub_fetch(green_waiters, 1, __ATOMIC_SEQ_CST);
}

void green__shim_sync_after_fork(void) { wait_hub = 0; }

GREEN__SHIM_EXPORT int pthread_cond_signal(pthread_cond_t *pc) {
  int saved = errno, r = 0;
  if (!green__shim_green_waitable(pc)) return green__real.pthread_cond_signal(pc);
  wake_sleepers(COND(pc), 1); /* a green one may be woken too: spurious wake-ups are allowed */
  if (on_hub_thread()) r = green_cond_signal(&COND(pc)->g);
  else signal_from_outside(COND(pc), 0);
  return green__shim_pthread_error(r, saved);
}

GREEN__SHIM_EXPORT int pthread_cond_broadcast(pthread_cond_t *pc) {
  int saved = errno, r = 0;
  if (!green__shim_green_waitable(pc)) return green__real.pthread_cond_broadcast(pc);
  wake_sleepers(COND(pc), INT_MAX);
  if (on_hub_thread()) r = green_cond_broadcast(&COND(pc)->g);
  else signal_from_outside(COND(pc), 1);
  return green__shim_pthread_error(r, saved);
}

/* A wait by a thread that cannot park. Release m fully. Sleep until a signal changes seq, or
 * `u` passes. Take m back at the same depth. */
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
  return green__shim_pthread_error(green__shim_wait_end(self, r), saved);
}

/* Whether a wait on pc with pm is green: neither is libc's. */
static int green_wait(pthread_cond_t *pc, pthread_mutex_t *pm) {
  return green__shim_green_waitable(pc) && !green__shim_libc_has(pm);
}

GREEN__SHIM_EXPORT int pthread_cond_wait(pthread_cond_t *restrict pc, pthread_mutex_t *restrict pm) {
  if (!green_wait(pc, pm)) return green__real.pthread_cond_wait(pc, pm);
  return cond_wait(pc, pm, 0, NULL, "pthread_cond_wait");
}

GREEN__SHIM_EXPORT int pthread_cond_timedwait(pthread_cond_t *restrict pc,
                                              pthread_mutex_t *restrict pm,
                                              const struct timespec *restrict at) {
  if (!green_wait(pc, pm)) return green__real.pthread_cond_timedwait(pc, pm, at);
  return cond_wait(pc, pm, (clockid_t)-1, at, "pthread_cond_timedwait");
}

GREEN__SHIM_EXPORT int pthread_cond_clockwait(pthread_cond_t *restrict pc,
                                              pthread_mutex_t *restrict pm, clockid_t clock,
                                              const struct timespec *restrict at) {
  if (!green_wait(pc, pm)) return green__real.pthread_cond_clockwait(pc, pm, clock, at);
  return cond_wait(pc, pm, clock, at, "pthread_cond_clockwait");
}

/* ---- semaphores -------------------------------------------------------------------------
 * libgreen's semaphore for the green threads. A sem_post from outside the hub (a timer's
 * callback) counts in `outside`. The hub's thread adds those posts to the semaphore before
 * its next call on it. When green threads wait, it adds them at once: the post is sent to the
 * hub, as a condition's signal is. Waits outside the hub are not shared yet (README's
 * Limits). */

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
  green__shim_libc_remove(s);
  if (pshared) {
    if ((r = green__real.sem_init(s, pshared, value)) == 0 && green__shim_libc_add(s) != 0) {
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
  if (!green__shim_green_object(s))
    return green__shim_libc_destroyed(s, green__real.sem_destroy(s));
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
 * A wait must not block the OS thread: the poster may be another green thread of it.
 * multiprocessing's locks are named semaphores, used between threads of one process. A wait
 * tries sem_trywait and parks between tries. A post made by a green thread of this hub wakes
 * it at once. A back-off (1 ms, doubling up to 16 ms) catches posts from other processes and
 * OS threads. A wait outside a green thread stays libc's. */
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
    r = green__shim_park(h, &(green__shim_wait_t){.kind = GREEN_WAIT_CALL, .call = call,
                                                  .at = fmin(at, now + delay),
                                                  .intr = GREEN__INTR_ALWAYS});
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
  struct green__hub *h = green__shim_gate(GREEN__GATE_GREEN);
  if (h) return libc_sem_wait(h, s, clock, call == SEM_WAIT ? NULL : abs, sem_calls[call]);
  if (call == SEM_WAIT) return green__real.sem_wait(s);
  if (call == SEM_TIMEDWAIT) return green__real.sem_timedwait(s, abs);
  return green__real.sem_clockwait(s, clock, abs);
}

GREEN__SHIM_EXPORT int sem_wait(sem_t *s) {
  if (!green__shim_green_waitable(s)) return libc_wait(SEM_WAIT, s, CLOCK_REALTIME, NULL);
  return sem_wait_green(s, CLOCK_REALTIME, NULL, "sem_wait");
}

GREEN__SHIM_EXPORT int sem_timedwait(sem_t *restrict s, const struct timespec *restrict at) {
  if (!green__shim_green_waitable(s)) return libc_wait(SEM_TIMEDWAIT, s, CLOCK_REALTIME, at);
  return sem_wait_green(s, CLOCK_REALTIME, at, "sem_timedwait");
}

GREEN__SHIM_EXPORT int sem_clockwait(sem_t *restrict s, clockid_t clock,
                                     const struct timespec *restrict at) {
  if (!green__shim_green_waitable(s)) return libc_wait(SEM_CLOCKWAIT, s, clock, at);
  return sem_wait_green(s, clock, at, "sem_clockwait");
}

GREEN__SHIM_EXPORT int sem_trywait(sem_t *s) {
  if (!green__shim_green_waitable(s)) return green__real.sem_trywait(s);
  return green_sem_trywait(gsem(s));
}

GREEN__SHIM_EXPORT int sem_post(sem_t *s) {
  int r;
  if (!green__shim_green_waitable(s)) {
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
  if (!green__shim_green_waitable(s)) return green__real.sem_getvalue(s, value);
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
  if ((s = green__real.sem_open(name, flags, mode, value)) != SEM_FAILED &&
      green__shim_libc_add(s) != 0) {
    green__real.sem_close(s);
    if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) sem_unlink(name); /* made here */
    errno = ENOMEM;
    s = SEM_FAILED;
  }
  return s;
}

GREEN__SHIM_EXPORT int sem_close(sem_t *s) {
  green__real_ready();
  green__shim_libc_remove(s);
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
  green__shim_libc_remove(rw);
  if (pshared == PTHREAD_PROCESS_SHARED)
    return keep_libc(LIBC_RWLOCK, rw, green__real.pthread_rwlock_init(rw, attr));
  memset(rw, 0, sizeof *rw);
  return green__shim_pthread_error(green_rwlock_init(GRW(rw)), saved);
}

GREEN__SHIM_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw) {
  int saved = errno;
  if (!green__shim_green_object(rw))
    return green__shim_libc_destroyed(rw, green__real.pthread_rwlock_destroy(rw));
  return green__shim_pthread_error(green_rwlock_destroy(GRW(rw)), saved);
}

#define RWLOCK_CALL(name, params, args, green_call)                    \
  GREEN__SHIM_EXPORT int name params {                                 \
    int saved = errno;                                                 \
    if (!green__shim_green_waitable(rw)) return green__real.name args; \
    return green__shim_pthread_error(green_call, saved);               \
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
