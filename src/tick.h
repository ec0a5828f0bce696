/* SPDX-License-Identifier: MIT */
/*
 * The hub's timer signal: preemption of a greenlet that keeps the CPU, and the watchdog that
 * reports a hub blocked outside its loop. Both are timers of the hub's own thread that send it
 * GREEN__TICK_SIGNAL; no other OS thread is involved. Both are off unless configured. A layer
 * on top may turn both on (green__tick_configure). Library users opt in: green_set_timeslice,
 * green_set_watchdog, or GREEN_TIMESLICE_MS and GREEN_WATCHDOG_MS in the environment.
 */
#ifndef GREEN_TICK_H
#define GREEN_TICK_H

#include <signal.h>
#include <stddef.h>

#include "greenlet.h"

#define GREEN__TICK_SIGNAL SIGURG /* ignored by default, as Go's preemption signal */

struct green__hub;
struct green__tick;

/* What a layer on top of the library adds to the mechanism; every member may be NULL. */
typedef struct green__tick_ops {
  /* A GREEN__TICK_SIGNAL that is not a tick (kill, out-of-band data): the program's. */
  void (*foreign)(int sig, siginfo_t *si, void *uc);
} green__tick_ops_t;

/* Process-wide settings, in seconds (0: off), before the hubs they apply to start. */
void green__tick_configure(double slice, double watchdog, const green__tick_ops_t *ops);

/* Whether the runtime's handler has GREEN__TICK_SIGNAL. */
int green__tick_owns_signal(void);

/* Install the handler for a dump's requests to other hubs, unless the program has a handler
 * of its own for GREEN__TICK_SIGNAL. Whether the runtime's handler has the signal. */
int green__tick_claim_signal(void);

/* Start the timers of the calling thread's hub h as configured (hub creation calls it).
 * Returns 0 or -errno; a hub works without them. */
int green__tick_start(struct green__hub *h);

/* Stop and delete them (the hub's teardown; a layer on top at exit, so atexit handlers are
 * never woken). */
void green__tick_stop(struct green__hub *h);

/* Stop every hub's timers (the process is on its way out): the caller's hub's as
 * green__tick_stop, the others' disarmed, and none is armed again until the next
 * green__tick_configure. Any thread may call it. */
void green__tick_stop_all(void);

/* In the child of fork: drop h's timer state (the timers were the parent's). */
void green__tick_forget(struct green__hub *h);

/* The loop polled (after every poll), or is about to sleep in a blocking poll. The timers are
 * armed while other greenlets exist. The watchdog is disarmed while the loop sleeps. */
void green__tick_polled(struct green__hub *h);
void green__tick_sleep(struct green__hub *h);

/* A greenlet was spawned: the timers watch from now on, before the loop's next poll. */
void green__tick_spawned(struct green__hub *h);

/* green_set_timeslice and green_set_watchdog. The new setting applies to the calling thread's
 * hub (h, NULL when it has none yet) and to every hub started after. */
int green__tick_set(struct green__hub *h, double slice, double watchdog);

/* The watchdog's period in seconds, 0 while it is off. */
double green__tick_watchdog_period(void);

/* GREEN_TIMESLICE_MS and GREEN_WATCHDOG_MS, read once, unless a setting came first. */
void green__tick_configure_from_env(void);

#endif
