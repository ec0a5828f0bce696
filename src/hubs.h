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

/* green_joinall when a handle names another hub: each greenlet is claimed on its hub and
 * released once all have ended, or let go again. at: green__timeout_to_at's. 0 or -errno. */
int green__hubs_joinall(struct green__hub *h, green_t **gs, size_t n, double at);
int green__hubs_set_name(struct green__hub *h, green_t *handle, const char *name);

/* The name of another hub's greenlet: a copy, valid until the calling greenlet parks. */
const char *green__hubs_name(struct green__hub *h, green_t *handle);

/* Have w told (on the greenlet's hub) when another hub's greenlet ends: 0, 1 when it has
 * ended already (w is not linked), or -errno. Stop with green__hubs_unwatch, which waits until
 * w is unlinked there: 0, or -errno (ENOMEM, EPERM from a callback) when it could not. */
int green__hubs_watch(struct green__hub *h, green_t *handle, green__watch_t *w);
int green__hubs_unwatch(struct green__hub *h, green_t *handle, green__watch_t *w);

struct green_group;

/* green_group_add of another hub's greenlet, done on its hub: 0 or -errno. */
int green__hubs_group_add(struct green__hub *h, struct green_group *grp, green_t *handle);

#endif
