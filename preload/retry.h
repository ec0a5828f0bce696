/* SPDX-License-Identifier: MIT */
/*
 * Waits the kernel cannot announce (retry.c): file locks, SysV message queues and
 * semaphores, a FIFO's other end. The call is tried in its non-blocking form. While it would
 * block, the green thread parks on a back-off timer (1 ms, doubling up to 50 ms) and tries
 * again. Some calls of this OS thread may make one of those waits possible. They are an
 * unlock, a close, a message sent or taken, a semaphore changed, a FIFO opened. Such a call
 * kicks the parked ones, and they try again at once. So two green threads of one process
 * hand over without delay.
 */
#ifndef GREEN_PRELOAD_RETRY_H
#define GREEN_PRELOAD_RETRY_H

#include "shim.h"

/* Back-off steps, in seconds. */
#define GREEN__RETRY_FIRST 0.001
#define GREEN__RETRY_MAX 0.05

/* Park until the first of: the next step, `deadline`, or a kick. The step is *step, which
 * then doubles up to the maximum. `deadline` is absolute, on green_now()'s clock; INFINITY
 * means none. Returns 0 then. Returns -EINTR when a signal interrupts by `intr`'s rule.
 * Returns -ECANCELED when the thread was cancelled and the call is a cancellation point
 * (`cancel_point`). The caller then cleans up and calls green__shim_retry_fail, which ends the
 * thread. Calls that are no cancellation point (flock, semop) go on waiting; the cancellation
 * stays pending. */
int green__shim_retry_park(struct green__hub *h, double *step, double deadline, int intr,
                           int cancel_point, const char *call);

/* A failed park's result r (< 0) as libc reports it. Ends the thread when cancelled; else
 * errno = -r and -1. */
int green__shim_retry_fail(struct green__hub *h, int r);

/* Wake this OS thread's green threads parked in green__shim_retry_park. Does nothing where
 * the gate says the call is not green (a signal handler, the hub's own callbacks). */
void green__shim_retry_kick(void);

/* ---- the callers net.c hands calls to ---------------------------------------------- */

/* fcntl's lock commands (F_SETLK, F_SETLKW, F_OFD_SETLK, F_OFD_SETLKW; lock.c), made with
 * `real` (libc's fcntl or fcntl64). */
int green__shim_fcntl_lock(int fd, int cmd, void *arg, int (*real)(int, int, void *));

/* The hub to open path on when it is a FIFO whose open may wait for the other end (fifo.c).
 * NULL when the open goes to libc. errno is kept. */
struct green__hub *green__shim_fifo_hub(int dir, const char *path, int fl);

/* That open, green: the fd in the mode the program asked, or -1 + libc's errno. */
int green__shim_open_fifo(struct green__hub *h, int dir, const char *path, int fl, mode_t mode);

#endif
