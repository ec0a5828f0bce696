/* SPDX-License-Identifier: MIT */
/*
 * Futures (future.c): the parts iwait.c watches. A future completes once; watches on it are
 * told at that moment, on the stack of whoever completed it: a greenlet of the hub that made
 * the future (a future with watches is completed there only).
 */
#ifndef GREEN_FUTURE_H
#define GREEN_FUTURE_H

#include "hub.h"

/* 0 when f is a live future made by hub h; -EINVAL for NULL, -ESRCH for a future that is not
 * live, -EPERM for one made by another hub. */
int green__future_check(struct green__hub *h, green_future_t *f);

/* Whether f is done; h is the caller's hub. */
int green__future_done(struct green__hub *h, green_future_t *f);

/* Have w told when f completes; h is the caller's hub, f's maker. Returns 1, and does not
 * watch, when f is done already. Stop watching with green__future_unwatch.
 * green_future_free refuses (EBUSY) while a watch is linked. */
int green__future_watch(struct green__hub *h, green_future_t *f, green__watch_t *w);
void green__future_unwatch(struct green__hub *h, green_future_t *f, green__watch_t *w);

#endif
