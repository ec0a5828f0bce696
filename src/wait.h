/* SPDX-License-Identifier: MIT */
/*
 * The one park primitive. The running greenlet sleeps until one of these: a waker calls
 * green__wake with a reason, its timer runs out, its scoped deadline passes, or it is killed.
 * Every blocking call in libgreen is built on it (libdill's wait/trigger).
 */
#ifndef GREEN_WAIT_H
#define GREEN_WAIT_H

#include <math.h>

#include "hub.h"

/* Park the running greenlet. Before calling, link it where its waker will look (wait_link, or
 * a field such as joiner). kind (green_wait_t) and `on` say what it waits for, in dumps. `on`
 * is the object, or the fd as an intptr_t. For a DNS lookup it is the name (NULL for a reverse
 * one), and for GREEN_WAIT_CALL the call, both as a string. `at` is an absolute time on
 * green_now()'s clock (INFINITY: no own timeout). loop_wait says the libev loop can wake it (an
 * fd watcher). Returns the waker's reason: 0 or one of these. GREEN__TIMER: `at` passed.
 * -ETIMEDOUT: the scoped deadline passed. -ECANCELED: it was killed. -EBADF: its fd was
 * closed. -EDEADLK: nothing could ever wake it. -EPERM, at once: the caller is the hub (a
 * callback). Unlinks wait_link on every path. */
int green__park(struct green__hub *h, int kind, const void *on, double at, int loop_wait);

/* What a blocking call of g fails with before it starts. -ECANCELED once g is killed.
 * -ETIMEDOUT once its scoped deadline has passed. Else 0: it may block. */
static inline int green__may_block(const green_t *g) {
  if (g->flags & GREEN__KILLED) return -ECANCELED;
  if (g->deadline != INFINITY && green_now() >= g->deadline) return -ETIMEDOUT;
  return 0;
}

/* Make a parked greenlet of h ready with `reason`; does nothing if g is not parked. For a
 * greenlet in an object's queue (wait_home) it also does nothing when a waker has already
 * taken it out of the queue: that waker's green__wake_handed comes instead. Timeouts, kills
 * and deadlock reports wake this way. */
void green__wake(struct green__hub *h, green_t *g, int reason);

/* Make g, a parked greenlet of h that its waker took out of its queue, ready with reason. */
void green__wake_handed(struct green__hub *h, green_t *g, int reason);

/* g, parked, is about to be freed with its hub: take it out of the queue it waits in, so that
 * greenlets of other hubs never find it there. */
void green__wait_abandon(struct green__hub *h, green_t *g);

/* Prepare g's timer; once per handle. */
void green__wait_init(green_t *g);

#endif
