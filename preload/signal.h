/* SPDX-License-Identifier: MIT */
/*
 * Signals under the shim (signal.c): the program's handlers run through a trampoline that
 * counts handler depth (calls made inside a handler pass straight through) and then, as the
 * kernel would, interrupts the wait the thread is parked in (EINTR) by the rules of signal(7);
 * SIGCHLD also wakes the greenlets parked in waitpid.
 */
#ifndef GREEN_PRELOAD_SIGNAL_H
#define GREEN_PRELOAD_SIGNAL_H

#include <signal.h>

#include "shim.h"

/* Start the interrupt watcher of a managed thread's new hub. */
void green__shim_signal_attach(struct green__hub *h);

/* A GREEN__TICK_SIGNAL that is not a tick, for the program's own action (src/tick.c's
 * handler calls it). */
void green__shim_signal_foreign(int sig, siginfo_t *si, void *uc);

/* green__shim_park with the thread's signal mask set to `mask` (if not NULL) meanwhile and
 * the greenlet the first to be interrupted by a signal (ppoll, pselect, epoll_pwait,
 * sigsuspend): always interruptible. */
int green__shim_park_masked(struct green__hub *h, double at, int loop_wait, const sigset_t *mask,
                            const char *call);

/* The same around a wait for fd's readability. */
int green__shim_wait_fd_masked(struct green__hub *h, int fd, double at, const sigset_t *mask,
                               const char *call);

/* ---- SIGCHLD for waitpid ---------------------------------------------------------------- */

/* How many SIGCHLDs the process has had (a generation to compare). */
unsigned green__shim_chld_gen(void);

/* Park until a SIGCHLD arrives after generation `gen` (returns at once if one did), or a
 * short safety interval passes; -EINTR when a signal interrupts (waitpid's rules). */
int green__shim_chld_park(struct green__hub *h, unsigned gen);

/* In the child of fork: the parent's SIGCHLD notification state is not ours. */
void green__shim_signal_after_fork(void);

#endif
