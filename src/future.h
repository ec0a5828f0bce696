/* SPDX-License-Identifier: MIT */
/*
 * Futures (future.c): the parts iwait.c watches. A future completes once; watches on it are
 * told at that moment, on the stack of whoever completed it.
 */
#ifndef GREEN_FUTURE_H
#define GREEN_FUTURE_H

#include "hub.h"

/* 0 when f is a live future of hub h; -EINVAL for NULL, -ESRCH otherwise. */
int green__future_check(struct green__hub *h, green_future_t *f);

int green__future_done(green_future_t *f);

/* Have w told when f (not yet done) completes. The caller unlinks w->link to stop watching;
 * green_future_free refuses (EBUSY) while a watch is linked. */
void green__future_watch(green_future_t *f, green__watch_t *w);

#endif
