/* SPDX-License-Identifier: MIT */
/*
 * A signal mask per green thread (sigmask.c): the sigmask word of each greenlet. The hub's
 * switch applies it when it differs. The hub's greenlet blocks what every green thread blocks.
 */
#ifndef GREEN_PRELOAD_SIGMASK_H
#define GREEN_PRELOAD_SIGMASK_H

#include <signal.h>

#include "shim.h"

/* Every call below runs on h's own OS thread: each hub counts its green threads' masks in
 * that thread's TLS. */

/* A managed thread's new hub: its main and hub greenlets take the OS thread's mask. */
void green__shim_sigmask_attach(struct green__hub *h);

/* A green thread starts (with the mask its greenlet inherited) or ends. Called on h's
 * thread: a thread placed on another hub is counted there, before it first runs. */
void green__shim_sigmask_born(struct green__hub *h, green_t *g);
void green__shim_sigmask_ended(struct green__hub *h, green_t *g);

/* g's mask becomes `mask` (the OS thread's too when g runs). */
void green__shim_sigmask_set(struct green__hub *h, green_t *g, uint64_t mask);

/* Whether g blocks sig. */
static inline int green__shim_sigmask_blocks(const green_t *g, int sig) {
  return sig > 0 && sig <= 64 && (g->sigmask >> (sig - 1) & 1);
}

#endif
