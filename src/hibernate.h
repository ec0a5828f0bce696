/* SPDX-License-Identifier: MIT */
/*
 * Hibernation: a greenlet parked longer than GREEN_HIBERNATE_MS (default 1000; 0: never) has
 * the live part of its stack copied to the heap, and the stack's pages released (stack.c).
 * The switch back to it copies the bytes back to the same address first. A touch of the
 * stack by any other greenlet of its hub restores it too: the pages are a guard region, and
 * the fault handler (overflow.c) copies the bytes back before the touch goes on.
 */
#ifndef GREEN_HIBERNATE_H
#define GREEN_HIBERNATE_H

#include "greenlet.h"
#include "hub.h"

/* Read GREEN_HIBERNATE_MS and set h up; called once when h is made. */
void green__hibernate_init(struct green__hub *h);

/* Stop h's sweeps; called when h goes away. */
void green__hibernate_stop(struct green__hub *h);

/* g parks and is not listed yet: list it for the sweeps. Where g never hibernates (no
 * hibernation on its hub, a stack not from a slab), unlink hib_link instead (NULL): its parks
 * do not call here again. */
void green__hibernate_list(struct green__hub *h, green_t *g);

/* g, hibernated, is about to run: its bytes go back, its buffer is freed. */
void green__hibernate_wake(struct green__hub *h, green_t *g);

/* Before the runtime starts another OS thread: every hibernated stack of h (or none: NULL)
 * gets its bytes back. Another thread would race a restore (hibernate.c). */
void green__hibernate_restore_all(struct green__hub *h);

/* From the fault handler: addr is in a hibernated stack of the calling thread's hub, or of
 * the hub a fork left behind (the child's parent greenlets), which is now restored. Returns 1
 * then, 0 for any other fault. */
int green__hibernate_fault(const void *addr);

/* In the child of fork: h, the forking thread's hub, is left behind. Its hibernated stacks
 * stay in the child's memory, and the fault handler still restores them. */
void green__hibernate_forked(struct green__hub *h);

/* Called when g parks (green__park): list it for hibernation unless it is listed, or never
 * will be. One branch. */
static inline void green__hibernate_parked(struct green__hub *h, green_t *g) {
  if (green__unlikely(g->hib_link.next == &g->hib_link)) green__hibernate_list(h, g);
}

#endif
