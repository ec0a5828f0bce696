/* SPDX-License-Identifier: MIT */
/*
 * Calls into a hub from any thread. A hub's handle (green_hub_t) is reference counted and
 * outlives its hub. Once the hub's thread has exited, posting to it fails with ESRCH. Calls
 * wait in a mutex-protected FIFO and an ev_async watcher wakes the hub's loop to run them.
 */
#ifndef GREEN_THREADSAFE_H
#define GREEN_THREADSAFE_H

#include "hub.h"
#include "remote.h"

/* The hub's handle, created on first use (NULL + -ENOMEM in *err). Takes a reference. */
green_hub_t *green__hub_ref(struct green__hub *h, int *err);

/* A new reference to the live hub with this number (green__greenlet_hub_number), or NULL
 * when there is none or it has no handle yet. From any thread. */
green_hub_t *green__hub_ref_number(unsigned number);

/* Another reference to hub, whose holder has one. */
green_hub_t *green__hub_hold(green_hub_t *hub);

/* Whether hub is h's handle (h the calling thread's hub). */
int green__hub_is(green_hub_t *hub, struct green__hub *h);

/* Give back a reference taken by green__hub_ref or green_hub_current. */
void green__hub_unref(green_hub_t *hub);

/* Queue r for hub's loop, from any thread. 0, or -ESRCH when the hub's thread has exited
 * (r is left to the caller). */
int green__hub_post(green_hub_t *hub, green__remote_t *r);

/* Whether another thread may still call in: someone besides the hub holds a reference, or
 * calls are queued. The hub's deadlock detection counts this as a possible wake-up. */
int green__threadsafe_busy(struct green__hub *h);

/* Whether calls from other threads wait for h's loop. A lock-free peek, safe in a signal
 * handler: the tick preempts a greenlet that keeps them waiting. */
int green__threadsafe_queued(struct green__hub *h);

/* Spins up to `seconds` on the CPU until a call is queued for h, then runs the calls queued.
 * 1 when it ran some, else 0. A call that comes meanwhile skips the write to the loop's
 * wake-up fd: libev writes it only while the loop is in its poll. */
int green__threadsafe_spin(struct green__hub *h, double seconds);

/* The hub is going away: refuse further calls, drop those queued. */
void green__threadsafe_exit(struct green__hub *h);

#endif
