/* SPDX-License-Identifier: MIT */
/*
 * Callbacks the hub runs between greenlets. Soon calls are FIFO, in turn with the ready
 * greenlets, with no system call. Timed calls sit in a heap ordered by (time, order of
 * scheduling), under one ev_timer armed for the earliest. Call records come from per-hub
 * chunks, never freed while the hub lives. So the handle (slot and generation) of a call that
 * ran or was cancelled names nothing, not freed memory.
 */
#ifndef GREEN_CALL_H
#define GREEN_CALL_H

#include <ev.h>
#include <stdint.h>

#include "list.h"

struct green__hub;

typedef struct green__call {
  green__list_t link;   /* in the soon list, a batch being run, or the free list */
  void (*fn)(void *);
  void *arg;
  double at;            /* timed: when, on green_now()'s clock */
  uint64_t seq;         /* timed: order among calls due at the same time */
  uint32_t slot;        /* index in the hub's table; GREEN__CALL_OWNED for a caller's record */
  uint32_t gen;         /* matches the handle while the call is pending */
  uint32_t heap_pos;    /* timed: index in the heap */
  uint8_t state;        /* free, soon or timed */
} green__call_t;

#define GREEN__CALL_OWNED UINT32_MAX

typedef struct green__calls {
  green__list_t soon;       /* pending soon calls, FIFO */
  green__list_t free;       /* released records of the table */
  green__call_t **chunks;   /* the table: slot s is chunks[s / 64][s % 64] */
  size_t nchunks;
  green__call_t **heap;     /* pending timed calls: a binary min-heap on (at, seq) */
  size_t nheap, heap_cap;
  ev_timer timer;           /* armed for the heap's top while the heap is not empty */
  uint64_t seq;
  uint32_t gen;             /* the last generation handed out */
} green__calls_t;

void green__calls_init(struct green__hub *h);

/* Free the table: the hub is going away; pending calls never run. */
void green__calls_destroy(struct green__hub *h);

/* Queue c, a record its caller owns (c->fn frees it if need be; c->slot must be
 * GREEN__CALL_OWNED), as a soon call. Cannot fail and cannot be cancelled. */
void green__call_post(struct green__hub *h, green__call_t *c);

/* Run the soon calls queued before this call, in order; those they queue wait for the next
 * round. Runs on the hub's stack. */
void green__calls_run_soon(struct green__hub *h);

#endif
