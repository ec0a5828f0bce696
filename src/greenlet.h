/* SPDX-License-Identifier: MIT */
/*
 * The greenlet object. Its record lives from spawn until it is joined. A detached greenlet's
 * record lives until it ends. Its stack lives only while it runs. Records come from per-hub
 * chunks. They are never given back to malloc while the hub lives (as Go keeps its g's).
 *
 * The public API hands out a handle, not a record's address. A handle is the record's slot in
 * its hub's table, its hub's number and the low bits of its id. A greenlet may be gone:
 * joined, ended detached, or its thread has exited. Its handle then never matches the
 * greenlet that takes its slot next. A handle is never dereferenced before it is matched: a
 * stale one gives ESRCH.
 */
#ifndef GREEN_GREENLET_H
#define GREEN_GREENLET_H

#include <ev.h>
#include <stdint.h>

#include "../include/green.h"
#include "ctx.h"
#include "list.h"
#include "remote.h"
#include "stack.h"

#define GREEN__MAGIC 0x6772656eu /* "gren": a live record */

/* A handle: the slot in its low GREEN__SLOT_BITS bits, its hub's number (green__hub_number)
 * in the next GREEN__HUB_BITS, the low bits of the id above them. The number lets any hub
 * find the greenlet's hub; the id bits make a stale handle miss. Records of spawned
 * greenlets sit in chunks of GREEN__CHUNK_HANDLES. */
#define GREEN__SLOT_BITS 24
#if UINTPTR_MAX > 0xffffffffu
#define GREEN__HUB_BITS 10
#else
#define GREEN__HUB_BITS 0 /* no room: a handle works on its own hub only */
#endif
#define GREEN__SLOT_MASK ((1u << GREEN__SLOT_BITS) - 1)
#define GREEN__HUB_NUMBERS (1u << GREEN__HUB_BITS) /* 0 is no number */
#define GREEN__TAG_SHIFT (GREEN__SLOT_BITS + GREEN__HUB_BITS)
#define GREEN__TAG_MASK (UINTPTR_MAX >> GREEN__TAG_SHIFT)
enum { GREEN__SLOT_MAIN = 1, GREEN__SLOT_HUB = 2, GREEN__SLOT_FIRST = 3 };
enum { GREEN__CHUNK_HANDLES = 64 };

enum {
  GREEN__KILLED = 1u << 0,   /* sticky: every blocking call fails with ECANCELED */
  GREEN__DETACHED = 1u << 1,
  GREEN__LOOP_WAIT = 1u << 2, /* parked on something the libev loop can wake */
  GREEN__GEN_WAIT = 1u << 3,  /* BLOCKED in a generator switch: a suspended generator, or a
                                 caller waiting for the generator it resumed. Only a direct
                                 switch resumes it, never green__wake */
  GREEN__WATCHED = 1u << 4,   /* end_watches may be non-empty */
  GREEN__CANARY = 1u << 5,    /* its stack has no guard page: each switch-out checks the
                                 canary at its bottom (overflow.c) */
  GREEN__HOME_WAIT = 1u << 6, /* parked in the queue of an object (wait_home), counted in
                                 the hub's nhome_waits */
  GREEN__HIBERNATED = 1u << 7, /* its stack's bytes are in a buffer (hibernate.c) */
};

/* What green__park returns when the caller's own timer ran out (not the deadline). */
#define GREEN__TIMER 1

struct green__hub;

/* Told once when a greenlet ends (or a future completes), without joining it. fn runs at
 * once, on whatever stack caused the end: it must not switch, park or spawn. */
typedef struct green__watch {
  green__list_t link;         /* in the watched object's list until told */
  void (*fn)(struct green__hub *h, struct green__watch *w);
} green__watch_t;

struct green_group;

struct green {
  green__ctx_t ctx;           /* saved registers while not running */
  struct green__hub *hub;
  uint32_t magic;             /* GREEN__MAGIC while the handle is valid */
  uint8_t state;              /* green_state_t */
  uint8_t flags;
  uint16_t nopreempt;         /* FILE locks it holds (a layer's flockfile): tick.c's handler
                                 never switches it out then, as it would need libc's lock */
  int wake;                   /* set by the waker: 0, GREEN__TIMER or -errno */
  int saved_errno;            /* errno while switched out: each greenlet has its own */
  uint64_t sigmask;           /* the signal mask it runs with. The switch applies it when it
                                 differs. A layer on top sets it; it is equal everywhere else */
  void *threadvars;           /* a layer's copy of its thread-local variables, or NULL. A switch
                                 back to it while another greenlet's are in place calls
                                 green__threadvars_switch (hub.h) */
  /* waiting */
  green__list_t run_link;     /* in hub->ready while NEW or READY; free list when released */
  green__list_t wait_link;    /* in the list of what it is parked on */
  green__list_t hib_link;     /* in the hub's hib_listed while the sweeps look at it; NULL
                                 links: it never hibernates (hibernate.h) */
  uint32_t *wait_home;        /* the home word (share.h) of the object whose queue wait_link
                                 is in; NULL for every other wait */
  green__remote_t hand_msg;   /* how a waker of another hub wakes it (green__hand) */
  int hand_reason;            /* the reason that message carries */
  green_t *hand_next;         /* in a waker's green__taken_t, once out of its queue */
  uint8_t wait_kind;          /* green_wait_t: what it is parked on, for dumps (read only while
                                 BLOCKED, as wait_on and wait_since) */
  uint32_t slot;              /* its place in its hub's handle table */
  green_t *handle;            /* what the public API calls it (see green__greenlet_find);
                                 NULL while the record is free */
  uint64_t id;                /* unique in the process, never reused (0: the hub greenlet) */
  const void *wait_on;        /* what it is parked on, as green__park's `on` says */
  double wait_since;          /* when it parked: the hub's last_poll then (CLOCK_MONOTONIC_COARSE,
                                 read at the hub's last poll before it parked) */
  int wait_events;            /* fd events it waits for */
  int ready_events;           /* fd events that woke it */
  size_t joins_pending;       /* targets of its join/joinall that have not ended */
  green_t *joiner;            /* the greenlet joining this one */
  ev_timer timer;             /* its timeout or sleep, armed only while parked */
  int timer_is_deadline;      /* the armed timer is the scoped deadline, not the call's own */
  double deadline;            /* innermost scoped deadline in force; INFINITY when none */
  green_deadline_t *deadlines;/* innermost scope */
  /* running */
  void *(*fn)(void *);
  void *arg;
  void *result;
  green__stack_t *stack;      /* NULL for the main and hub greenlets, and once ended */
  const void *stack_lo;       /* the stack's bounds, for AddressSanitizer */
  size_t stack_size;
  void *asan_fake_stack;
  void *tsan_fiber;           /* its ThreadSanitizer fiber (stack.h), or NULL */
  /* coordination: locals, names, generators */
  struct green__locals *locals; /* its greenlet-local values; NULL until it sets one */
  green_t *resumed;           /* the generator it resumed and waits for; NULL otherwise */
  char name[GREEN_NAME_MAX];  /* green_set_name; "" when none */
  /* synchronisation */
  unsigned rdlocks;           /* rwlock read locks it holds (rwlock.c) */
  /* ending, seen without a join (groups, iwait); set up once per handle, empty when released */
  green__list_t end_watches;  /* green__watch_t nodes told when it ends */
  green__watch_t group_watch; /* in end_watches while it belongs to a group */
  green__list_t group_link;   /* in its group's member list */
  struct green_group *group;  /* the group it belongs to, or NULL */
  void *ext;                  /* owned by the embedder. A layer on top of the library keeps its
                                 per-greenlet record here. NULL at spawn, never read here */
};

/* A new greenlet running fn(arg) that is not queued: green_spawn_stack queues it, a
 * generator is switched to directly. NULL + errno on failure. */
green_t *green__greenlet_new(void *(*fn)(void *), void *arg, size_t stack_size);

/* End a greenlet that is not running and never will again, without unwinding its stack. It
 * either never started and is not queued, or is suspended in a generator switch. Nothing on
 * that stack runs, not even its local destructors. */
void green__greenlet_discard(struct green__hub *h, green_t *g);

/* Release a handle back to its hub's free list. */
void green__greenlet_release(struct green__hub *h, green_t *g);

/* End the running greenlet as if its function had returned `result` (a layer's pthread_exit).
 * Not for the main or hub greenlet. Never returns. */
__attribute__((noreturn)) void green__greenlet_exit(struct green__hub *h, void *result);

/* Free every handle's memory: the hub is going away with its thread. */
void green__greenlet_free_all(struct green__hub *h);

/* The handle of the greenlet with this id in this slot of the hub with this number. */
static inline green_t *green__greenlet_make_handle(unsigned hub, uint64_t id, uint32_t slot) {
  return (green_t *)(((uintptr_t)id & GREEN__TAG_MASK) << GREEN__TAG_SHIFT |
                     (uintptr_t)hub << GREEN__SLOT_BITS | slot);
}

/* The number of the hub a handle names (0: none). */
static inline unsigned green__greenlet_hub_number(const green_t *handle) {
  return (unsigned)((uintptr_t)handle >> GREEN__SLOT_BITS) & (GREEN__HUB_NUMBERS - 1);
}

/* green__greenlet_find for what its inline part does not answer. That is the main and hub
 * greenlets' handles, and every handle that names no live greenlet. */
green_t *green__greenlet_find_slow(struct green__hub *h, green_t *handle, int *err);

/* For the public calls on one handle. Puts the calling thread's hub in *hp and returns the
 * record the handle names there. Otherwise returns NULL with errno set: ENOMEM without a hub,
 * EINVAL or ESRCH as green__greenlet_find says. */
green_t *green__greenlet_here(green_t *handle, struct green__hub **hp);

/* End g as green_kill does (g a live record of the current hub, not its hub greenlet). */
void green__greenlet_kill(struct green__hub *h, green_t *g);

/* Whether g can be joined or detached: a spawned greenlet nobody joins, not detached. */
int green__greenlet_joinable(struct green__hub *h, green_t *g);

/* Have w told when g (a spawned greenlet that has not ended) ends. */
static inline void green__greenlet_watch(green_t *g, green__watch_t *w) {
  green__list_push_back(&g->end_watches, &w->link);
  g->flags |= GREEN__WATCHED;
}

/* The live handle of h at address p, or NULL. The main and hub greenlets count. It is for an
 * address read where a greenlet may be (a mutex's owner). Such an address must not be
 * dereferenced blindly. */
green_t *green__greenlet_at(struct green__hub *h, const void *p);

/* Call fn on h's main greenlet, then on each live handle of h (not the hub greenlet). */
void green__greenlet_each(struct green__hub *h, void (*fn)(green_t *g, void *arg), void *arg);

/* Prepare the fields a handle keeps for its whole life (its timer, its empty lists). */
void green__greenlet_init_handle(green_t *g);

#endif
