/* SPDX-License-Identifier: MIT */
/*
 * Read-write locks, phase-fair. A new reader waits while a writer holds the lock or waits for
 * it. Releasing the write lock admits every waiting reader at once. Only when no reader waits
 * does it admit the oldest writer. The last reader out admits the oldest writer. Admission sets
 * the owner (writer, or the readers count) before the greenlet is woken with 0, as for mutexes.
 * g->rdlocks counts a greenlet's read locks over all rwlocks. A greenlet that holds any may
 * read-lock past waiting writers. So a recursive read lock cannot deadlock behind a writer that
 * waits for the first one.
 */
#include <limits.h>

#include "posix.h"
#include "sync.h"

#ifdef __LP64__ /* a layer on top may embed one in pthread_rwlock_t (56 bytes) */
_Static_assert(sizeof(green_rwlock_t) <= 56, "green_rwlock_t must fit in pthread_rwlock_t");
#endif

int green_rwlock_init(green_rwlock_t *rw) {
  if (!rw) return green__fail(-EINVAL);
  *rw = (green_rwlock_t)GREEN_RWLOCK_INITIALIZER;
  return 0;
}

int green_rwlock_destroy(green_rwlock_t *rw) {
  if (!rw) return green__fail(-EINVAL);
  if (rw->writer || rw->readers || !green__waitq_empty(&rw->readers_waiting) ||
      !green__waitq_empty(&rw->writers_waiting))
    return green__fail(-EBUSY);
  *rw = (green_rwlock_t)GREEN_RWLOCK_INITIALIZER;
  return 0;
}

/* -EPERM when greenlets of another hub hold rw (only they may wait for it, too); a free rw
 * becomes h's. */
static int check_hub(struct green__hub *h, green_rwlock_t *rw) {
  if (!rw->writer && !rw->readers) rw->hub = h;
  return rw->hub == h ? 0 : -EPERM;
}

/* Hand the lock to whom may have it, now that it was released (or a waiter left). Every waiting
 * reader gets it if the write lock was just released or no writer waits. Otherwise the oldest
 * writer gets it once no reader holds it. */
static void admit(struct green__hub *h, green_rwlock_t *rw, int after_writer) {
  green_t *g;
  if (rw->writer) return;
  if (after_writer || green__waitq_empty(&rw->writers_waiting))
    rw->readers += (unsigned)green__waitq_wake_all(h, &rw->readers_waiting);
  if (rw->readers == 0 && (g = green__waitq_pop(&rw->writers_waiting))) {
    rw->writer = g;
    green__wake(h, g, 0);
  }
}

/* 0 when g may take a read lock now, else -EBUSY (wait), -EDEADLK or -EAGAIN. */
static int can_read(green_rwlock_t *rw, green_t *g) {
  if (rw->writer == g) return -EDEADLK;
  if (rw->readers == UINT_MAX) return -EAGAIN;
  if (rw->writer || (!green__waitq_empty(&rw->writers_waiting) && g->rdlocks == 0)) return -EBUSY;
  return 0;
}

static int rdlock(struct green__hub *h, green_rwlock_t *rw, green__until_t u) {
  green_t *g = h->current;
  int r = can_read(rw, g);
  if (r == 0) rw->readers++;
  else if (r == -EBUSY) r = green__waitq_park(h, GREEN_WAIT_RWLOCK, rw, &rw->readers_waiting, green__until_at(u), NULL, 0);
  if (r == 0) g->rdlocks++;
  return r;
}

static int wrlock(struct green__hub *h, green_rwlock_t *rw, green__until_t u) {
  green_t *g = h->current;
  int r;
  if (rw->writer == g) return -EDEADLK;
  if (!rw->writer && !rw->readers) {
    rw->writer = g;
    return 0;
  }
  r = green__waitq_park(h, GREEN_WAIT_RWLOCK, rw, &rw->writers_waiting, green__until_at(u), NULL, 0);
  if (r) admit(h, rw, 0); /* readers held back by this writer alone may go now */
  return r;
}

static int lock_until(green_rwlock_t *rw, int write, green__until_t u) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if (!rw) return green__fail(-EINVAL);
  if ((r = green__until_check(u)) || (r = check_hub(h, rw)) ||
      (r = write ? wrlock(h, rw, u) : rdlock(h, rw, u)))
    return green__fail(r);
  return 0;
}

int green_rwlock_rdlock(green_rwlock_t *rw, double timeout) {
  return lock_until(rw, 0, green__until_timeout(timeout));
}

int green_rwlock_wrlock(green_rwlock_t *rw, double timeout) {
  return lock_until(rw, 1, green__until_timeout(timeout));
}

int green__rwlock_timedrdlock(green_rwlock_t *rw, clockid_t clock, const struct timespec *abstime) {
  return lock_until(rw, 0, green__until_abstime(clock, abstime));
}

int green__rwlock_timedwrlock(green_rwlock_t *rw, clockid_t clock, const struct timespec *abstime) {
  return lock_until(rw, 1, green__until_abstime(clock, abstime));
}

int green_rwlock_tryrdlock(green_rwlock_t *rw) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if (!rw) return green__fail(-EINVAL);
  if ((r = check_hub(h, rw))) return green__fail(r);
  r = can_read(rw, h->current);
  if (r) return green__fail(r == -EDEADLK ? -EBUSY : r);
  rw->readers++;
  h->current->rdlocks++;
  return 0;
}

int green_rwlock_trywrlock(green_rwlock_t *rw) {
  struct green__hub *h = green__hub_get();
  if (!h) return -1;
  if (!rw) return green__fail(-EINVAL);
  if (check_hub(h, rw)) return green__fail(-EPERM);
  if (rw->writer || rw->readers) return green__fail(-EBUSY);
  rw->writer = h->current;
  return 0;
}

int green_rwlock_unlock(green_rwlock_t *rw) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  if (!h) return -1;
  if (!rw) return green__fail(-EINVAL);
  if (check_hub(h, rw)) return green__fail(-EPERM);
  g = h->current;
  if (rw->writer == g) {
    rw->writer = NULL;
    admit(h, rw, 1);
  } else if (rw->readers && g->rdlocks) {
    rw->readers--;
    g->rdlocks--;
    if (!rw->readers) admit(h, rw, 0);
  } else {
    return green__fail(-EPERM);
  }
  return 0;
}
