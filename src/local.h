/* SPDX-License-Identifier: MIT */
/*
 * Greenlet-local storage: what the lifecycle needs when a greenlet ends (greenlet.c) or its
 * thread's hub goes away (hub.c).
 */
#ifndef GREEN_LOCAL_H
#define GREEN_LOCAL_H

#include "greenlet.h"

/* g is ending: run the destructors of its values (the pthread rounds) on the running
 * greenlet, then free them. */
void green__local_end(green_t *g);

/* Free g's values without running any destructor. */
void green__local_forget(green_t *g);

#endif
