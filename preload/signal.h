/* SPDX-License-Identifier: MIT */
/*
 * Signals under the shim (signal.c). The program's handlers run through a trampoline. It
 * counts handler depth: calls made inside a handler pass straight through. Then, as the
 * kernel would, it interrupts the wait the thread is parked in (EINTR) by the rules of
 * signal(7). SIGCHLD also wakes the greenlets parked in waitpid.
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

/* A wait's signal mask (green__shim_park's signal_first). begin saves the thread's mask. It
 * sets `mask` (if not NULL), as the kernel's p-calls and sigsuspend do. It makes the greenlet
 * the first a signal interrupts. end undoes both. In green mode the mask is the green
 * thread's (sigmask.c); in native mode, the OS thread's. */
typedef struct green__shim_mask_save {
  uint64_t word;
  sigset_t set;
} green__shim_mask_save_t;

void green__shim_mask_begin(struct green__hub *h, const sigset_t *mask,
                            green__shim_mask_save_t *saved);
void green__shim_mask_end(struct green__hub *h, const sigset_t *mask,
                          const green__shim_mask_save_t *saved);

/* ---- SIGCHLD for waitpid ---------------------------------------------------------------- */

/* How many SIGCHLDs the process has had (a generation to compare). */
unsigned green__shim_chld_gen(void);

/* Park until a SIGCHLD arrives after generation `gen`, or a short safety interval passes.
 * Returns at once if one did arrive. -EINTR when a signal interrupts (waitpid's rules). */
int green__shim_chld_park(struct green__hub *h, unsigned gen);

/* fork: before, the forking thread takes the lock of the actions; after, the parent lets
 * it go. In the child: the lock is let go, and the parent's SIGCHLD notification state and
 * green threads are forgotten. */
void green__shim_signal_before_fork(void);
void green__shim_signal_after_fork_parent(void);
void green__shim_signal_after_fork(void);

/* ---- pthread_kill ----------------------------------------------------------------------- */

/* pthread_kill (value NULL) or pthread_sigqueue of green thread g, from any thread. sig goes
 * to the OS thread of g's hub. A parked call it interrupts is g's, if g does not block sig.
 * sig 0 only checks. Returns 0 or an error number; errno is left alone. */
int green__shim_signal_send(green_t *g, int sig, const union sigval *value);

#endif
