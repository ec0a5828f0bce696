/* SPDX-License-Identifier: MIT */
/*
 * Several hubs, one per OS thread (green_hubs_start), and the calls on a greenlet of another
 * hub. Such a call is a message to the greenlet's hub, which runs it on its own thread and
 * answers; the caller parks until the answer comes.
 */
#ifndef GREEN_HUBS_H
#define GREEN_HUBS_H

#include "hub.h"

/* The public calls on a handle that names no greenlet of h, the caller's hub (NULL when it
 * could not be made: errno is set). When the handle names another live hub, the call is done
 * there; else they fail as the local call does (ESRCH, EINVAL). */
int green__hubs_join(struct green__hub *h, green_t *handle, void **result, double timeout);
int green__hubs_detach(struct green__hub *h, green_t *handle);
int green__hubs_kill(struct green__hub *h, green_t *handle);
int green__hubs_state(struct green__hub *h, green_t *handle);
unsigned long long green__hubs_id(struct green__hub *h, green_t *handle);

/* When set, each thread green_hubs_start makes calls it first, before it makes its hub: a
 * layer on top (the preload shim) marks the thread as its own there. */
extern void (*green__hubs_thread_hook)(void);

#endif
