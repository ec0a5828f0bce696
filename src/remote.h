/* SPDX-License-Identifier: MIT */
/*
 * A message to a hub from another thread (threadsafe.c delivers it).
 */
#ifndef GREEN_REMOTE_H
#define GREEN_REMOTE_H

/* A call on its way to a hub, linked through `next`. Its owner embeds it or allocates it. */
typedef struct green__remote {
  struct green__remote *next;
  void (*run)(struct green__remote *r);  /* on the hub's stack, in posting order */
  void (*drop)(struct green__remote *r); /* instead of run when the hub exits first */
} green__remote_t;

#endif
