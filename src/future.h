/* SPDX-License-Identifier: MIT */
/*
 * Futures (future.c): the parts iwait.c watches. A future completes once. Watches on it are
 * told at that moment, inside the future, on the stack of whoever completed it. The completer
 * is a greenlet of any hub, passed as h to the watch's fn.
 */
#ifndef GREEN_FUTURE_H
#define GREEN_FUTURE_H

#include "hub.h"

/* 0 when f is a live future; -EINVAL for NULL, -ESRCH for a future that is not live. */
int green__future_check(green_future_t *f);

/* Whether f is done; h is the caller's hub. */
int green__future_done(struct green__hub *h, green_future_t *f);

/* Have w told when f completes; h is the caller's hub. Returns 1, and does not
 * watch, when f is done already. Stop watching with green__future_unwatch.
 * green_future_free refuses (EBUSY) while a watch is linked. */
int green__future_watch(struct green__hub *h, green_future_t *f, green__watch_t *w);
void green__future_unwatch(struct green__hub *h, green_future_t *f, green__watch_t *w);

#endif
