/* SPDX-License-Identifier: MIT */
/*
 * What the synchronisation objects share (event.c, sem.c, mutex.c, cond.c, rwlock.c). That is
 * FIFO queues of parked greenlets that work from all-zero memory, and timeouts and absolute
 * times on two clocks. It is also the mutex internals a condition wait needs.
 */
#ifndef GREEN_SYNC_H
#define GREEN_SYNC_H

#include <stdint.h>

#include "share.h"
#include "wait.h"

/* A waiter queue is a list head inside a caller's object. All-zero means empty. It is made a
 * proper circular list on the first push. */
static inline int green__waitq_empty(const green__list_t *q) {
  return q->next == NULL || q->next == q;
}

static inline void green__waitq_push(green__list_t *q, green_t *g) {
  if (q->next == NULL) green__list_init(q);
  green__list_push_back(q, &g->wait_link);
}

/* Unlink and return the oldest waiter, or NULL. */
static inline green_t *green__waitq_pop(green__list_t *q) {
  green__list_t *n = q->next ? green__list_pop_front(q) : NULL;
  return n ? green__container_of(n, green_t, wait_link) : NULL;
}

/* When a blocking call gives up: a relative timeout, or an absolute time on a clock. It is
 * turned into a time on green_now()'s clock only once the call has to wait. So a call that
 * can proceed at once reads no clock. */
typedef struct green__until {
  int absolute;                   /* 0: timeout; 1: clock and abstime */
  clockid_t clock;
  double timeout;                 /* seconds, < 0 forever */
  const struct timespec *abstime;
} green__until_t;

static inline green__until_t green__until_timeout(double timeout) {
  green__until_t u = {0, 0, timeout, NULL};
  return u;
}

static inline green__until_t green__until_abstime(clockid_t clock, const struct timespec *at) {
  green__until_t u = {1, clock, 0, at};
  return u;
}

int green__until_check_abstime(green__until_t u);

/* 0, or -EINVAL for a NaN timeout, a clock other than CLOCK_REALTIME and CLOCK_MONOTONIC,
 * a NULL abstime or a tv_nsec outside [0, 1e9). Inline: every blocking call's fast path. */
static inline int green__until_check(green__until_t u) {
  if (green__likely(!u.absolute)) return u.timeout != u.timeout ? -EINVAL : 0; /* NaN */
  return green__until_check_abstime(u);
}

/* u (checked) as a time on green_now()'s clock; a CLOCK_REALTIME time is converted now. */
double green__until_at(green__until_t u);

/* Queue the running greenlet at the back of q: the waiters of object `on`, of green_wait_t
 * kind. Then park it until one of these happens. A waker hands it what it waits for (0). `at`
 * or the scoped deadline passes (-ETIMEDOUT). It is killed (-ECANCELED). It returns -EDEADLK
 * when nothing could ever wake it. It has left q on return.
 * home is the object's home word. The caller has entered it (share.h; `how` says how). This
 * call leaves it before it parks, and on every path. A waker of any hub may then hand it the
 * object. */
int green__waitq_park(struct green__hub *h, int kind, const void *on, green__list_t *q,
                      double at, uint32_t *home, int how);

/* green__waitq_park in two steps, for a caller with work between them (a condition wait
 * releases its mutex). queue: check that the running greenlet may wait, queue it, and leave
 * home (entered as `how`) either way. sleep: park until woken. */
int green__waitq_queue(struct green__hub *h, green__list_t *q, double at, uint32_t *home,
                       int how);
int green__waitq_sleep(struct green__hub *h, int kind, const void *on, double at);


/* Waiters a waker took out of their queue, to hand them the object once it has left it. They
 * are chained through hand_next, not wait_link: their wait_link is unlinked, so a timeout on
 * their own hub sees that a hand-off is on its way and leaves them alone. */
typedef struct green__taken {
  green_t *head;
  green_t **tail;
} green__taken_t;

#define GREEN__TAKEN_INIT(t) {NULL, &(t).head}

/* Add g, just popped from its queue, at the end of t. */
static inline void green__taken_add(green__taken_t *t, green_t *g) {
  g->hand_next = NULL;
  *t->tail = g;
  t->tail = &g->hand_next;
}

/* Take every waiter of q into `taken`, oldest first. Call it with the object entered. Then
 * leave the object and call green__waitq_hand_all. */
void green__waitq_take_all(green__list_t *q, green__taken_t *taken);

/* Hand each greenlet of `taken` the object, with 0 (green__hand); returns how many. */
size_t green__waitq_hand_all(struct green__hub *h, green__taken_t *taken);

/* Sleep in the kernel while *word (private to the process) reads `value`. The limit is `at`
 * on green_now()'s clock (CLOCK_MONOTONIC; INFINITY: no limit). 0 on a wake-up (spurious ones
 * included), -ETIMEDOUT once `at` has passed. Blocks the OS thread: for threads that cannot
 * park. */
int green__futex_wait(uint32_t *word, uint32_t value, double at);

/* Wake up to n threads sleeping on word. */
void green__futex_wake(uint32_t *word, int n);

/* ---- shared mutexes (mutex.c explains) --------------------------------------------------------
 * A layer on top's pthread mutexes. The hub's greenlets use them, and so do OS threads with no
 * hub. `self` is the caller's owner token: green__hub_running(), with GREEN__MUTEX_FOREIGN
 * added on a thread that never has the hub. */
#define GREEN__MUTEX_FOREIGN ((uintptr_t)1)  /* in the owner word: owned outside the hub */
#define GREEN__MUTEX_SLEEPERS ((uintptr_t)2) /* in the owner word: OS threads sleep on it */
#define GREEN__MUTEX_QUEUED ((uintptr_t)4)   /* in the owner word: greenlets may queue on it */

/* Lock m. A free mutex (or a recursive one the caller owns) is taken at once, u unchecked
 * (as glibc does). h: the hub to park on when m is held. NULL means sleep in the kernel, for
 * a thread that has no hub or cannot park. 0, or -EINVAL (u), -EDEADLK (a relock of a
 * non-recursive mutex), -EAGAIN, -ETIMEDOUT, -ECANCELED (a killed greenlet). */
int green__mutex_lock_shared(struct green__hub *h, green_mutex_t *m, green_t *self,
                             green__until_t u);

/* 0, or -EBUSY, -EAGAIN. */
int green__mutex_trylock_shared(green_mutex_t *m, green_t *self);

/* 0, or -EPERM when self does not own m. */
int green__mutex_unlock_shared(green_mutex_t *m, green_t *self);

/* Whether self owns m (a shared or a library mutex). */
int green__mutex_owned(const green_mutex_t *m, green_t *self);

/* Unlock m completely for a condition wait, handing it to its oldest waiter. Returns the
 * lock depth to give back to green__mutex_relock. The caller owns m. */
unsigned green__mutex_release(struct green__hub *h, green_mutex_t *m);

/* Lock m again at depth `count` after a condition wait. It is deaf to kill and to the scoped
 * deadline; they apply again afterwards. 0, or -EDEADLK when m can never come back. */
int green__mutex_relock(struct green__hub *h, green_mutex_t *m, unsigned count);

#endif
