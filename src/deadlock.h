/* SPDX-License-Identifier: MIT */
/*
 * Deadlocks that span hubs. A hub whose greenlets all wait, and only another hub could wake one,
 * says it is stuck. Say every hub is stuck, no message is on its way between them, and no other
 * OS thread exists that could post one. Then nothing can ever run again. Each hub reports its
 * greenlets, in turn, and each fails its main greenlet's wait with EDEADLK (hub.c's one-hub rule).
 */
#ifndef GREEN_DEADLOCK_H
#define GREEN_DEADLOCK_H

#include <stddef.h>

struct green__hub;

/* Messages posted to any hub and not yet run or dropped (threadsafe.c keeps it). */
extern size_t green__deadlock_inflight;

/* A message is queued: before the hub can see it. */
static inline void green__deadlock_posted(void) {
  __atomic_add_fetch(&green__deadlock_inflight, 1, __ATOMIC_SEQ_CST);
}

/* n messages have run or been dropped: after their effects. */
static inline void green__deadlock_ran(size_t n) {
  if (n) __atomic_sub_fetch(&green__deadlock_inflight, n, __ATOMIC_SEQ_CST);
}

/* h is about to sleep in its loop, and only another hub (or a message) can wake it. It stays
 * stuck until its loop next wakes. Runs on h's hub greenlet; more than one hub exists. When h
 * is the last hub to get stuck, it may find the deadlock and start the report. */
void green__deadlock_stuck(struct green__hub *h);

#endif
