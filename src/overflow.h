/* SPDX-License-Identifier: MIT */
/*
 * Stack overflow reports. A greenlet that runs off the bottom of its stack is named, with its
 * backtrace, before the process aborts. A guard page's fault is caught by a SIGSEGV/SIGBUS
 * handler on an alternate signal stack. An unguarded stack (past the guard budget) has a
 * canary, checked at each of the greenlet's switch-outs.
 */
#ifndef GREEN_OVERFLOW_H
#define GREEN_OVERFLOW_H

#include <signal.h>

#include "greenlet.h"

struct green__hub;

/* A new hub on the calling thread. The fault handler is installed, once per process. The
 * thread gets an alternate signal stack if it has none. libunwind is loaded. */
void green__overflow_hub_start(struct green__hub *h);

/* The hub goes away with its thread: its alternate signal stack too. */
void green__overflow_hub_stop(struct green__hub *h);

/* Whether the kernel hands SIGSEGV to the runtime's fault handler now. A program in library
 * mode may have put its own in place. */
int green__overflow_has_faults(void);

/* Whether the runtime's fault handler has sig (SIGSEGV, SIGBUS). */
int green__overflow_owns_signal(int sig);

/* The action the handler passes a fault that is not an overflow on to. A layer on top that
 * intercepts sigaction sets the program's here, as it would set the kernel's. *old gets the
 * previous one. At first, it is what was installed before the handler. Returns 0. */
int green__overflow_chain(int sig, const struct sigaction *act, struct sigaction *old);

/* g's stack has no guard page. The lowest bytes of it are the canary (zeros). They are checked
 * at every switch-out of g (GREEN__CANARY). */
static inline void green__overflow_arm(green_t *g) {
  if (!g->stack->guarded) g->flags |= GREEN__CANARY;
}

/* Check g's canary; an overflow is reported and the process aborts. g is the running
 * greenlet, about to be switched out or ending. */
void green__overflow_check(green_t *g);

#endif
