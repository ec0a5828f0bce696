/* SPDX-License-Identifier: MIT */
/*
 * Read-write locks, phase-fair. A new reader waits while a writer holds the lock or waits for
 * it. Releasing the write lock admits every waiting reader at once. Only when no reader waits
 * does it admit the oldest writer. The last reader out admits the oldest writer. Admission sets
 * the owner (writer, or the readers count) before the greenlet is woken with 0, as for mutexes.
 * g->rdlocks counts a greenlet's read locks over all rwlocks. A greenlet that holds any may
 * read-lock past waiting writers. So a recursive read lock cannot deadlock behind a writer that
 * waits for the first one. g->rdlocks is only ever changed by g itself, on its own hub.
 *
 * Greenlets of any hub use one rwlock through its home word (share.h), as mutexes do. A
 * release admits the next holders inside the object, then hands each its lock (green__hand).
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

/* Checked and reset inside rw's home: an unlock on another hub is either before or after. */
int green_rwlock_destroy(green_rwlock_t *rw) {
  int how, busy;
  if (!rw) return green__fail(-EINVAL);
  if ((how = green__home_enter_destroy(&rw->home)) < 0) return green__fail(how);
  busy = rw->writer || rw->readers || !green__waitq_empty(&rw->readers_waiting) ||
         !green__waitq_empty(&rw->writers_waiting);
  if (!busy) {
    rw->readers_waiting = rw->writers_waiting = (green__list_t){NULL, NULL};
    rw->writer = NULL;
    rw->readers = 0;
  }
  green__home_leave_destroy(&rw->home, how, !busy);
  return busy ? green__fail(-EBUSY) : 0;
}

/* Hand the lock to whom may have it, now that it was released (or a waiter left). Every waiting
 * reader gets it if the write lock was just released or no writer waits. Otherwise the oldest
 * writer gets it once no reader holds it. Call it with rw entered. The admitted move to
 * `taken`; the caller leaves rw, then hands them the lock (hand). */
static void admit(green_rwlock_t *rw, int after_writer, green__taken_t *taken) {
  green_t *g;
  if (rw->writer) return;
  if (after_writer || green__waitq_empty(&rw->writers_waiting)) {
    while ((g = green__waitq_pop(&rw->readers_waiting))) {
      rw->readers++;
      green__taken_add(taken, g);
    }
  }
  if (rw->readers == 0 && (g = green__waitq_pop(&rw->writers_waiting))) {
    rw->writer = g;
    green__taken_add(taken, g);
  }
}

/* Leave rw, entered as `how`, then wake those admit took. */
static void leave(struct green__hub *h, green_rwlock_t *rw, int how, green__taken_t *taken) {
  green__home_leave(&rw->home, h, how);
  if (taken) green__waitq_hand_all(h, taken);
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
  int how = green__home_enter(&rw->home, h);
  int r = can_read(rw, g);
  if (r == -EBUSY) { /* on 0 the unlocker counted us in */
    r = green__waitq_park(h, GREEN_WAIT_RWLOCK, rw, &rw->readers_waiting, green__until_at(u),
                          &rw->home, how);
  } else {
    if (r == 0) rw->readers++;
    leave(h, rw, how, NULL);
  }
  if (r == 0) g->rdlocks++;
  return r;
}

/* The writer that gave up waiting held readers back: those may go now. */
static void writer_left(struct green__hub *h, green_rwlock_t *rw) {
  green__taken_t taken = GREEN__TAKEN_INIT(taken);
  int how = green__home_enter(&rw->home, h);
  admit(rw, 0, &taken);
  leave(h, rw, how, &taken);
}

static int wrlock(struct green__hub *h, green_rwlock_t *rw, green__until_t u) {
  green_t *g = h->current;
  int r = 0, how = green__home_enter(&rw->home, h);
  if (rw->writer == g) {
    r = -EDEADLK;
  } else if (!rw->writer && !rw->readers) {
    rw->writer = g;
  } else { /* on 0 the unlocker made us the writer */
    r = green__waitq_park(h, GREEN_WAIT_RWLOCK, rw, &rw->writers_waiting, green__until_at(u),
                          &rw->home, how);
    if (r) writer_left(h, rw);
    return r;
  }
  leave(h, rw, how, NULL);
  return r;
}

static int lock_until(green_rwlock_t *rw, int write, green__until_t u) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -1;
  if (!rw) return green__fail(-EINVAL);
  if ((r = green__until_check(u)) || (r = write ? wrlock(h, rw, u) : rdlock(h, rw, u)))
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
  int r, how;
  if (!h) return -1;
  if (!rw) return green__fail(-EINVAL);
  how = green__home_enter(&rw->home, h);
  if ((r = can_read(rw, h->current)) == 0) rw->readers++;
  leave(h, rw, how, NULL);
  if (r) return green__fail(r == -EDEADLK ? -EBUSY : r);
  h->current->rdlocks++;
  return 0;
}

int green_rwlock_trywrlock(green_rwlock_t *rw) {
  struct green__hub *h = green__hub_get();
  int r = 0, how;
  if (!h) return -1;
  if (!rw) return green__fail(-EINVAL);
  how = green__home_enter(&rw->home, h);
  if (rw->writer || rw->readers) r = -EBUSY;
  else rw->writer = h->current;
  leave(h, rw, how, NULL);
  return r ? green__fail(r) : 0;
}

/* Release g's hold on rw, entered; the admitted move to `taken`. 0, or -EPERM. */
static int release(green_rwlock_t *rw, green_t *g, green__taken_t *taken) {
  if (rw->writer == g) {
    rw->writer = NULL;
    admit(rw, 1, taken);
  } else if (rw->readers && g->rdlocks) {
    rw->readers--;
    g->rdlocks--;
    if (!rw->readers) admit(rw, 0, taken);
  } else {
    return -EPERM;
  }
  return 0;
}

int green_rwlock_unlock(green_rwlock_t *rw) {
  struct green__hub *h = green__hub_get();
  green__taken_t taken = GREEN__TAKEN_INIT(taken);
  int r, how;
  if (!h) return -1;
  if (!rw) return green__fail(-EINVAL);
  how = green__home_enter(&rw->home, h);
  r = release(rw, h->current, &taken);
  leave(h, rw, how, &taken);
  return r ? green__fail(r) : 0;
}
