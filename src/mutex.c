/*
 * Mutexes. Invariant: while anyone waits, the mutex has an owner. Unlock hands it straight
 * to the oldest waiter (owner set, woken with 0) instead of letting whoever runs next take
 * it, so the wake order is the lock order and a greenlet that unlocks and locks again in a
 * loop queues behind the waiters (Go's starvation mode, always on).
 */
#include <limits.h>
#include <math.h>

#include "sync.h"

#ifdef __LP64__ /* the shim embeds one in pthread_mutex_t (40 bytes on x86-64) */
_Static_assert(sizeof(green_mutex_t) <= 40, "green_mutex_t must fit in pthread_mutex_t");
#endif

int green_mutex_init(green_mutex_t *m, int kind) {
  if (!m || kind < GREEN_MUTEX_NORMAL || kind > GREEN_MUTEX_ERRORCHECK)
    return green__fail(-EINVAL);
  *m = (green_mutex_t)GREEN_MUTEX_INITIALIZER;
  m->kind = kind;
  return 0;
}

int green_mutex_destroy(green_mutex_t *m) {
  if (!m) return green__fail(-EINVAL);
  if (m->owner || !green__waitq_empty(&m->waiters)) return green__fail(-EBUSY);
  *m = (green_mutex_t)GREEN_MUTEX_INITIALIZER;
  return 0;
}

static void take(green_mutex_t *m, green_t *g) {
  m->owner = g;
  m->count = 1;
}

/* A lock by the owner: one level deeper for a recursive mutex, `busy` for the others. */
static int relock(green_mutex_t *m, int busy) {
  if (m->kind != GREEN_MUTEX_RECURSIVE) return busy;
  if (m->count == UINT_MAX) return -EAGAIN;
  m->count++;
  return 0;
}

static int lock(struct green__hub *h, green_mutex_t *m, green__until_t u) {
  green_t *g = h->current;
  if (green__likely(!m->owner)) {
    take(m, g);
    return 0;
  }
  if (m->owner == g) return relock(m, -EDEADLK);
  return green__waitq_park(h, &m->waiters, green__until_at(u)); /* 0: we are the owner */
}

static int lock_until(green_mutex_t *m, green__until_t u) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if (!m) return green__fail(-EINVAL);
  if ((r = green__until_check(u)) || (r = lock(h, m, u))) return green__fail(r);
  return 0;
}

int green_mutex_lock(green_mutex_t *m, double timeout) {
  return lock_until(m, green__until_timeout(timeout));
}

int green_mutex_timedlock(green_mutex_t *m, clockid_t clock, const struct timespec *abstime) {
  return lock_until(m, green__until_abstime(clock, abstime));
}

int green_mutex_trylock(green_mutex_t *m) {
  struct green__hub *h = green__hub_get();
  int r = 0;
  if (!h) return -1;
  if (!m) return green__fail(-EINVAL);
  if (!m->owner) take(m, h->current);
  else r = m->owner == h->current ? relock(m, -EBUSY) : -EBUSY;
  return r ? green__fail(r) : 0;
}

/* The owner gives m up: to the oldest waiter, or to nobody. */
static void hand_off(struct green__hub *h, green_mutex_t *m) {
  green_t *next = green__waitq_pop(&m->waiters);
  m->owner = next;
  if (next) {
    m->count = 1;
    green__wake(h, next, 0);
  }
}

int green_mutex_unlock(green_mutex_t *m) {
  struct green__hub *h = green__hub_get();
  if (!h) return -1;
  if (!m) return green__fail(-EINVAL);
  if (m->owner != h->current) return green__fail(-EPERM);
  if (--m->count == 0) hand_off(h, m);
  return 0;
}

unsigned green__mutex_release(struct green__hub *h, green_mutex_t *m) {
  unsigned count = m->count;
  hand_off(h, m);
  return count;
}

int green__mutex_relock(struct green__hub *h, green_mutex_t *m, unsigned count) {
  green_t *g = h->current;
  unsigned killed = g->flags & GREEN__KILLED;
  double deadline = g->deadline;
  int r;
  g->deadline = INFINITY;
  do { /* a kill while we wait wakes us with ECANCELED: note it and wait again */
    killed |= g->flags & GREEN__KILLED;
    g->flags &= (uint8_t)~GREEN__KILLED;
    r = lock(h, m, green__until_timeout(-1));
  } while (r == -ECANCELED);
  g->flags |= (uint8_t)killed;
  g->deadline = deadline;
  if (r == 0) m->count = count;
  return r;
}
