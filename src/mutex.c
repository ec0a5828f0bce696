/* SPDX-License-Identifier: MIT */
/*
 * Mutexes. Invariant: while anyone waits, the mutex has an owner. Unlock hands it straight to
 * the oldest waiter (owner set, woken with 0). Whoever runs next cannot take it instead. So the
 * wake order is the lock order. A greenlet that unlocks and locks again in a loop queues behind
 * the waiters (Go's starvation mode, always on).
 *
 * The owner is a greenlet. Greenlets of any hub use the library's mutex through its home
 * word (share.h). While one hub uses it, its fast path has no atomic operation.
 *
 * Shared mutexes (a layer on top's pthread mutexes) are the same object. Both the hub's
 * greenlets and OS threads that have no hub use them. An allocator's locks, for one, are taken
 * by every thread of the process. The owner word changes only atomically. It carries three
 * flags in the low bits of the owner's address:
 *  - FOREIGN: the owner is an OS thread outside the hubs. It cannot wake a greenlet. So a
 *    greenlet that finds it spins a little, then polls every POLL_S seconds. Greenlets queue
 *    (and are handed the mutex) only behind a greenlet owner, of any hub. The queue is empty
 *    while a foreign thread owns the mutex, and a foreign unlock never touches it.
 *  - QUEUED: greenlets may wait in the queue. A greenlet sets it before it queues, under the
 *    queue's lock: the home word, SHARED from the first waiter on. So an unlock whose swap
 *    finds the bare owner (one CAS) knows nobody waits. Otherwise it takes the lock and hands
 *    the mutex to the oldest waiter, of whatever hub (green__hand).
 *  - SLEEPERS: an OS thread that cannot park sleeps on the word's low 32 bits (a futex). It
 *    cannot park when it has no hub, is in a signal handler, or runs the hub's own greenlet.
 *    The unlock that finds the flag wakes one sleeper (glibc's lowlevellock protocol). That
 *    sleeper flags the word again before it sleeps again. It takes the mutex flagged, since
 *    others may still sleep. A hand-off to a greenlet clears the flag and wakes one sleeper
 *    too, so none is forgotten.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>

#include "posix.h"
#include "sync.h"

#ifdef __LP64__ /* a layer on top may embed one in pthread_mutex_t (40 bytes on x86-64) */
_Static_assert(sizeof(green_mutex_t) <= 40, "green_mutex_t must fit in pthread_mutex_t");
#endif
_Static_assert(_Alignof(green_t) >= 8, "an owner's address leaves three bits for flags");

#define FOREIGN GREEN__MUTEX_FOREIGN
#define SLEEPERS GREEN__MUTEX_SLEEPERS
#define QUEUED GREEN__MUTEX_QUEUED
#define SHIM 0x100 /* in kind: a shared mutex whose queue has been used (is_shared) */
#define SPINS 200      /* tries before a greenlet polls a foreign owner */
#define POLL_S 0.001   /* then it looks again this often */

int green_mutex_init(green_mutex_t *m, int kind) {
  if (!m || kind < GREEN_MUTEX_NORMAL || kind > GREEN_MUTEX_ERRORCHECK)
    return green__fail(-EINVAL);
  *m = (green_mutex_t)GREEN_MUTEX_INITIALIZER;
  m->kind = kind;
  return 0;
}

/* Checked and reset inside m's home: an unlock on another hub is either before or after. The
 * owner word changes atomically (shared mutexes). */
int green_mutex_destroy(green_mutex_t *m) {
  int how, busy;
  if (!m) return green__fail(-EINVAL);
  if ((how = green__home_enter_destroy(&m->home)) < 0) return green__fail(how);
  busy = __atomic_load_n(&m->owner, __ATOMIC_ACQUIRE) || !green__waitq_empty(&m->waiters);
  if (!busy) {
    m->waiters = (green__list_t){NULL, NULL};
    __atomic_store_n(&m->owner, NULL, __ATOMIC_RELAXED);
    m->count = 0;
    __atomic_store_n(&m->kind, GREEN_MUTEX_NORMAL, __ATOMIC_RELAXED);
  }
  green__home_leave_destroy(&m->home, how, !busy);
  return busy ? green__fail(-EBUSY) : 0;
}

/* The kind, without the SHIM mark (a waiter may add it at any time). */
static int kind_of(const green_mutex_t *m) {
  return __atomic_load_n(&m->kind, __ATOMIC_RELAXED) & ~SHIM;
}

/* A lock by the owner: one level deeper for a recursive mutex, `busy` for the others. */
static int relock(green_mutex_t *m, int busy) {
  if (kind_of(m) != GREEN_MUTEX_RECURSIVE) return busy;
  if (m->count == UINT_MAX) return -EAGAIN;
  m->count++;
  return 0;
}

/* ---- the library's mutex: greenlets of any hub ----------------------------------------- */

static void take(green_mutex_t *m, green_t *g) {
  m->owner = g;
  m->count = 1;
}

/* The calling thread's hub, made if need be; NULL without one (errno ENOMEM). */
static struct green__hub *hub(void) {
  struct green__hub *h = green__hub_tls;
  return green__likely(h != NULL) ? h : green__hub_get();
}

static int lock(green_mutex_t *m, green__until_t u) {
  struct green__hub *h = hub();
  green_t *g;
  int r = 0, how;
  if (!h) return -ENOMEM;
  how = green__home_enter(&m->home, h);
  g = h->current;
  if (green__likely(!m->owner)) take(m, g);
  else if (m->owner == g) r = relock(m, -EDEADLK);
  else return green__waitq_park(h, GREEN_WAIT_MUTEX, m, &m->waiters, green__until_at(u), &m->home, how); /* 0: we are the owner */
  green__home_leave(&m->home, h, how);
  return r;
}

static int lock_until(green_mutex_t *m, green__until_t u) {
  int r;
  if (!m) return green__fail(-EINVAL);
  if ((r = green__until_check(u)) || (r = lock(m, u))) return green__fail(r);
  return 0;
}

int green_mutex_lock(green_mutex_t *m, double timeout) {
  return lock_until(m, green__until_timeout(timeout));
}

int green__mutex_timedlock(green_mutex_t *m, clockid_t clock, const struct timespec *abstime) {
  return lock_until(m, green__until_abstime(clock, abstime));
}

int green_mutex_trylock(green_mutex_t *m) {
  struct green__hub *h = hub();
  int r = 0, how;
  if (!h) return -1;
  if (!m) return green__fail(-EINVAL);
  how = green__home_enter(&m->home, h);
  if (!m->owner) take(m, h->current);
  else r = m->owner == h->current ? relock(m, -EBUSY) : -EBUSY;
  green__home_leave(&m->home, h, how);
  return r ? green__fail(r) : 0;
}

/* The owner gives m, entered as `how`, up: to the oldest waiter, who owns it before it
 * runs, or to nobody. Leaves m. */
static void give_up(struct green__hub *h, green_mutex_t *m, int how) {
  green_t *next = green__waitq_pop(&m->waiters);
  m->owner = next;
  if (next) m->count = 1;
  green__home_leave(&m->home, h, how);
  if (next) green__hand(h, next, 0);
}

int green_mutex_unlock(green_mutex_t *m) {
  struct green__hub *h = hub();
  int how;
  if (!h) return -1;
  if (!m) return green__fail(-EINVAL);
  how = green__home_enter(&m->home, h);
  if (m->owner != h->current) {
    green__home_leave(&m->home, h, how);
    return green__fail(-EPERM);
  }
  if (--m->count == 0) give_up(h, m, how);
  else green__home_leave(&m->home, h, how);
  return 0;
}

/* ---- shared mutexes: greenlets of any hub and OS threads -------------------------------- */

static green_t *with(green_t *w, uintptr_t flag) { return (green_t *)((uintptr_t)w | flag); }
static int has(green_t *w, uintptr_t flag) { return ((uintptr_t)w & flag) != 0; }
static green_t *owner_of(green_t *w) { return (green_t *)((uintptr_t)w & ~(SLEEPERS | QUEUED)); }

/* Whether m is a shared mutex: never queued on (home 0), or marked by its first waiter. The
 * caller owns m, so a library mutex has a home. */
static int is_shared(const green_mutex_t *m) {
  return !__atomic_load_n(&m->home, __ATOMIC_RELAXED) ||
         (__atomic_load_n(&m->kind, __ATOMIC_RELAXED) & SHIM);
}

/* Replace the word *expected by desired; *expected gets what it was on failure. */
static int swap_if(green_mutex_t *m, green_t **expected, green_t *desired) {
  return __atomic_compare_exchange_n(&m->owner, expected, desired, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE);
}

static uint32_t *futex_word(green_mutex_t *m) { /* the half that holds the flags */
  return (uint32_t *)(void *)&m->owner +
         (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ && sizeof(void *) == 8);
}

/* Lock the waiter queue: the home word, SHARED from the first waiter on, never biased. h may
 * be NULL (an owner with no hub hands m over): a SHARED word needs none. */
static int queue_enter(struct green__hub *h, green_mutex_t *m) {
  uint32_t unused = 0;
  __atomic_compare_exchange_n(&m->home, &unused, GREEN__HOME_SHARED, 0, __ATOMIC_RELAXED,
                              __ATOMIC_RELAXED);
  return green__home_enter_slow(&m->home, h);
}

/* Wait as an OS thread: flag the word, sleep until it changes, try again. Once it has
 * slept, it takes the mutex flagged: others may still sleep, and its unlock wakes one. */
static int lock_os(green_mutex_t *m, green_t *self, double at) {
  green_t *mine = self;
  for (;;) {
    green_t *w = NULL;
    if (swap_if(m, &w, mine)) return 0;
    if (!has(w, SLEEPERS) && !swap_if(m, &w, with(w, SLEEPERS))) continue;
    if (green__futex_wait(futex_word(m), (uint32_t)(uintptr_t)with(w, SLEEPERS), at))
      return -ETIMEDOUT;
    mine = with(self, SLEEPERS);
  }
}

/* Queue behind a greenlet owner of any hub: flag the word QUEUED, so that its unlock takes
 * the slow path, and park. 0 once handed m. 1 when m turned out free or foreign-owned: try
 * again. */
static int queue(struct green__hub *h, green_mutex_t *m, double at) {
  int how = queue_enter(h, m);
  green_t *w = __atomic_load_n(&m->owner, __ATOMIC_ACQUIRE);
  __atomic_fetch_or(&m->kind, SHIM, __ATOMIC_RELAXED);
  while (w && !has(w, FOREIGN) && !has(w, QUEUED) && !swap_if(m, &w, with(w, QUEUED))) {
  }
  if (!w || has(w, FOREIGN)) {
    green__home_leave(&m->home, h, how);
    return 1;
  }
  return green__waitq_park(h, GREEN_WAIT_MUTEX, m, &m->waiters, at, &m->home, how);
}

/* Wait as a greenlet of h: queue behind a greenlet owner, poll a foreign one. */
static int lock_green(struct green__hub *h, green_mutex_t *m, green_t *self, double at) {
  int spins = 0;
  for (;;) {
    green_t *w = NULL;
    double poll;
    int r;
    if (swap_if(m, &w, self)) return 0;
    if (!has(w, FOREIGN)) {
      if ((r = queue(h, m, at)) <= 0) return r; /* 0: handed over */
      continue;
    }
    if (spins++ < SPINS) {
      green__cpu_relax();
      continue;
    }
    poll = green_now() + POLL_S;
    if ((r = green__park(h, GREEN_WAIT_MUTEX, m, poll < at ? poll : at, 0)) != GREEN__TIMER) return r;
    if (poll >= at) return -ETIMEDOUT;
  }
}

int green__mutex_lock_shared(struct green__hub *h, green_mutex_t *m, green_t *self,
                             green__until_t u) {
  green_t *w = NULL;
  int r;
  if (green__likely(swap_if(m, &w, self))) {
    m->count = 1;
    return 0;
  }
  if (owner_of(w) == self && kind_of(m) == GREEN_MUTEX_RECURSIVE) return relock(m, 0);
  if ((r = green__until_check(u))) return r; /* only once it would have to wait, as glibc */
  if (owner_of(w) == self) return -EDEADLK;
  r = h ? lock_green(h, m, self, green__until_at(u)) : lock_os(m, self, green__until_at(u));
  if (r == 0) m->count = 1;
  return r;
}

int green__mutex_trylock_shared(green_mutex_t *m, green_t *self) {
  green_t *w = NULL;
  if (green__likely(swap_if(m, &w, self))) {
    m->count = 1;
    return 0;
  }
  return owner_of(w) == self ? relock(m, -EBUSY) : -EBUSY;
}

/* The owner gives m up: to the oldest waiter, or to nobody. The OS threads sleeping on the
 * word are woken either way. h: the caller's hub, or NULL. Waiters queue only under the
 * queue's lock and after flagging the word QUEUED. So a word without the flag can be
 * cleared by a swap; with it, the lock keeps the queue still while the word changes. */
static void release_shared(struct green__hub *h, green_mutex_t *m) {
  green_t *w = __atomic_load_n(&m->owner, __ATOMIC_ACQUIRE), *next = NULL, *now = NULL;
  int how;
  while (!has(w, QUEUED)) {
    if (swap_if(m, &w, NULL)) {
      if (has(w, SLEEPERS)) green__futex_wake(futex_word(m), 1);
      return;
    }
  }
  how = queue_enter(h, m);
  if ((next = green__waitq_pop(&m->waiters))) {
    m->count = 1;
    now = green__waitq_empty(&m->waiters) ? next : with(next, QUEUED);
  }
  w = __atomic_exchange_n(&m->owner, now, __ATOMIC_ACQ_REL);
  green__home_leave(&m->home, h, how);
  if (has(w, SLEEPERS)) green__futex_wake(futex_word(m), 1);
  if (next) green__hand(h, next, 0);
}

int green__mutex_unlock_shared(green_mutex_t *m, green_t *self) {
  green_t *w = self;
  if (owner_of(__atomic_load_n(&m->owner, __ATOMIC_RELAXED)) != self) return -EPERM;
  if (--m->count) return 0;
  if (green__likely(swap_if(m, &w, NULL))) return 0;
  release_shared(green__hub_tls, m);
  return 0;
}

/* ---- what a condition wait needs (on shared and library mutexes alike) ----------------- */

unsigned green__mutex_release(struct green__hub *h, green_mutex_t *m) {
  unsigned count = m->count;
  if (is_shared(m)) release_shared(h, m);
  else give_up(h, m, green__home_enter(&m->home, h));
  return count;
}

int green__mutex_relock(struct green__hub *h, green_mutex_t *m, unsigned count) {
  green_t *g = h->current;
  unsigned killed = g->flags & GREEN__KILLED;
  double deadline = g->deadline;
  int shared = is_shared(m), r;
  g->deadline = INFINITY;
  do { /* a kill while we wait wakes us with ECANCELED: note it and wait again */
    killed |= g->flags & GREEN__KILLED;
    g->flags &= (uint8_t)~GREEN__KILLED;
    r = shared ? green__mutex_lock_shared(h, m, g, green__until_timeout(-1))
               : lock(m, green__until_timeout(-1));
  } while (r == -ECANCELED);
  g->flags |= (uint8_t)killed;
  g->deadline = deadline;
  if (r == 0) m->count = count;
  return r;
}

int green__mutex_owned(const green_mutex_t *m, green_t *self) {
  return owner_of(__atomic_load_n(&m->owner, __ATOMIC_RELAXED)) == self;
}
