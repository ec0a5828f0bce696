/* SPDX-License-Identifier: MIT */
/*
 * The per-thread hub: a libev loop, the ready queue and the scheduler. It is created on a
 * thread's first call into libgreen. The thread's own stack becomes its main greenlet. The loop
 * runs on a greenlet of its own that gets the CPU only when nothing is ready.
 */
#ifndef GREEN_HUB_H
#define GREEN_HUB_H

#include <ev.h>
#include <sys/types.h>
#include <time.h>

#include "call.h"
#include "clock.h"
#include "fd.h"
#include "greenlet.h"
#include "stack.h"

/* Something set up on a hub that must be undone when the hub goes away with its thread. Its
 * owner embeds the node where the thing lives (no allocation: adding cannot fail) and adds it
 * with green__hub_on_destroy. fn runs once, on the thread's own stack, with the hub whole. */
typedef struct green__hub_teardown {
  green__list_t link;
  void (*fn)(struct green__hub *h, struct green__hub_teardown *t);
} green__hub_teardown_t;

struct green__hub {
  struct ev_loop *loop;
  green_t *current;             /* the running greenlet */
  int yield_due;                /* it has used up its time slice while others wait (tick.c) */
  green_t *requeue;             /* preempted: queued again after the hub's next poll */
  struct green__tick *tick;     /* the timer signal's state; NULL when off */
  green__list_t ready;          /* FIFO of NEW and READY greenlets */
  size_t nready;
  size_t runnable;              /* atomic: green__hub_runnable_now as of its last publish */
  size_t nblocked;
  size_t nloop_waits;           /* parked greenlets the loop can wake (fd, timer) */
  size_t nhome_waits;           /* parked in an object's queue: other hubs may wake them */
  double spin;                  /* seconds to spin for a call before an idle poll (hub.c) */
  unsigned spin_skips;          /* idle polls without a spin since spinning stopped paying */
  size_t ngreenlets;            /* handles not yet released */
  unsigned dispatches;          /* since the last loop iteration, for the fairness poll */
  double last_poll;             /* coarse time of the last loop iteration */
  size_t round_left;            /* greenlets ready at the last poll that have not run yet */
  int idle_poll;                /* the loop runs because nothing was ready: every woken
                                   greenlet has had its turn since */
  int *errnop;                  /* this thread's errno */
  int sigmasks;                 /* a layer on top keeps a signal mask per greenlet */
  green_t *threadvars_owner;    /* whose thread-local variables the thread holds now, of the
                                   greenlets that keep their own (green_t's threadvars) */
  unsigned long long switches, polls;
  unsigned long long parks[GREEN_WAIT_KINDS]; /* by what they waited on */
  unsigned long long spawns, preemptions;
  size_t peak;                  /* the most greenlets alive at once */
  double longest_away;          /* the longest time between two polls */
  uint64_t next_id, ids_left;   /* greenlet ids, taken from the process's in batches */
  green__list_t all_link;       /* in the process's list of hubs (green__hubs) */
  uint32_t home_id;             /* what an object biased to it holds (share.h) */
  unsigned in_use;              /* uses of objects biased to it in progress (share.h) */
  pid_t tid;                    /* the OS thread it belongs to */
  unsigned number;              /* in its greenlets' handles: 1.., or 0 when all are taken */
  int deadlock_dumped;          /* its deadlock report is written (dump.c) */
  green__list_t free_handles;   /* released greenlet records */
  green_t **handle_chunks;      /* the handle table: slot s >= GREEN__SLOT_FIRST is record
                                   (s - GREEN__SLOT_FIRST) % 64 of chunk (s - ...) / 64 */
  size_t nhandle_chunks;
  green__stack_pool_t stacks;
  green__fdtab_t fds;
  green_t *main;                /* the thread's own stack: its record lives in the thread's
                                   TLS from the start (green__hub_running) */
  green_t hub;                  /* runs the loop; in the ready queue while soon calls wait */
  struct green__dns *dns;       /* the resolver's channel, from the first lookup on */
  green__calls_t calls;         /* callbacks the hub runs (call.c) */
  struct green_hub *handle;     /* how other threads reach it (threadsafe.c); NULL until asked */
  void *altstack;               /* the alternate signal stack made for its thread (overflow.c) */
  green__list_t teardowns;      /* green__hub_teardown_t nodes, the newest first */
  /* hibernation (hibernate.c) */
  double hib_after;             /* seconds parked before a greenlet hibernates; 0: never */
  green__list_t hib_listed;     /* parked greenlets the sweeps look at, by hib_link */
  ev_timer hib_sweep;           /* runs while hib_listed is not empty */
  unsigned long long hibernations, restores;
};

/* Every hub of the process, oldest first, linked by all_link: walk it holding the lock. */
extern green__list_t green__hubs;
extern size_t green__nhubs; /* how many; read without the lock, it is a hint */
void green__hubs_lock(void);
void green__hubs_unlock(void);
int green__hubs_trylock(void); /* whether it took the lock */

/* The live hub with this number (green__greenlet_hub_number), or NULL. Hold the lock. */
struct green__hub *green__hubs_numbered(unsigned number);

/* The first id of a fresh batch for h (green__hub_new_id). */
uint64_t green__hub_take_ids(struct green__hub *h);

/* A fresh greenlet id for a greenlet of h (its batch comes from the process's counter). */
static inline uint64_t green__hub_new_id(struct green__hub *h) {
  if (green__unlikely(h->ids_left == 0)) return green__hub_take_ids(h);
  h->ids_left--;
  return h->next_id++;
}

/* The coarse clock of the hub's polls (last_poll) and of the greenlets' wait_since. */
static inline double green__coarse_now(void) {
  return green__clock_seconds(CLOCK_MONOTONIC_COARSE);
}

/* The calling thread's hub, created on first use; NULL + errno (ENOMEM) if it cannot be. */
struct green__hub *green__hub_get(void);

/* The calling thread's hub, or NULL when it has none (never creates one). */
struct green__hub *green__hub_peek(void);

/* The running greenlet has used up its time slice. The hub polls without blocking. It then runs
 * the greenlet again behind every greenlet ready by then. A timer that fell due or an fd that
 * became ready lets its greenlet run first. Returns when its turn comes. */
void green__hub_preempt(struct green__hub *h);

/* The calling thread's hub, or NULL before it has one. */
extern __thread struct green__hub *green__hub_tls __attribute__((tls_model("initial-exec")));

/* The thread's main greenlet, whose record exists before its hub does. */
green_t *green__hub_main_greenlet(void);

/* The greenlet running on this thread, with no hub needed: the hub's current one. Before the
 * hub exists, it is the thread's main greenlet, which the hub adopts when it is made. What
 * a greenlet owns before its thread's hub exists (a mutex) is still its own afterwards. */
static inline green_t *green__hub_running(void) {
  struct green__hub *h = green__hub_tls;
  return __builtin_expect(h != NULL, 1) ? h->current : green__hub_main_greenlet();
}

/* Have fn(h, t) run when h is destroyed with its thread. The teardowns run before anything of
 * the hub is taken down, the newest first. So a layer set up on top of another goes before it.
 * One may be added after they ran, by a destructor of the values of the thread's own greenlet.
 * It runs once those destructors are done. t must not be on the list of a hub still in use. */
void green__hub_on_destroy(struct green__hub *h, green__hub_teardown_t *t,
                           void (*fn)(struct green__hub *h, green__hub_teardown_t *t));

/* In the child of fork(): forget the calling thread's hub without running or freeing anything
 * of it. Its greenlets belong to the parent, and the child may be running on one of their
 * stacks. Closes the loop's descriptors, which the parent shares. The next call creates a fresh
 * hub. Its main greenlet is whatever stack the thread is on. It keeps the forking greenlet's
 * local values and name. */
void green__hub_fork_child(void);

/* Give the CPU away: to the next ready greenlet, or to the hub loop when none is ready. The
 * caller has already queued itself (READY), parked (BLOCKED) or ended (DEAD). Returns when
 * the caller is switched back to. Never returns for a DEAD caller. */
void green__hub_schedule(struct green__hub *h);

/* Switch straight to `to`, which is in no queue. A generator and its caller hand the CPU to
 * each other this way. The caller has already set its own state, as for schedule. */
void green__hub_switch(struct green__hub *h, green_t *to);

/* Called when a greenlet whose threadvars is set is switched back to, on its own stack, while
 * h->threadvars_owner is another greenlet. A layer on top that gives its greenlets their own
 * thread-local variables sets it; it puts them in place. */
extern void (*green__threadvars_switch)(struct green__hub *h, green_t *g);

/* Set the OS thread's signal mask to `mask` (a switch does it when the two greenlets'
 * sigmask words differ). */
void green__hub_apply_sigmask(uint64_t mask);

/* Append g to the ready queue. */
static inline void green__hub_push_ready(struct green__hub *h, green_t *g) {
  green__list_push_back(&h->ready, &g->run_link);
  h->nready++;
}

/* The greenlets of h that could run now: the ready queue without the hub greenlet, the one
 * preempted and the running one. On h's own thread. */
static inline size_t green__hub_runnable_now(const struct green__hub *h) {
  return h->nready - !green__list_empty(&h->hub.run_link) + (h->requeue != NULL) +
         (h->current != &h->hub);
}

/* Let other threads see green__hub_runnable_now: a plain store, by h's own thread only. The
 * hub greenlet publishes it after each poll and before it sleeps. So greenlets switching to
 * each other pay nothing. A caller that has just queued greenlets may publish it too. */
static inline void green__hub_publish_runnable(struct green__hub *h) {
  __atomic_store_n(&h->runnable, green__hub_runnable_now(h), __ATOMIC_RELAXED);
}

/* h's runnable greenlets as of its last publish, from any thread (placement reads it). */
static inline size_t green__hub_runnable_seen(const struct green__hub *h) {
  return __atomic_load_n(&h->runnable, __ATOMIC_RELAXED);
}

/* Soon calls are waiting. Put the hub greenlet itself in the ready queue, behind the greenlets
 * ready now. So it runs them in their turn, without polling. The hub, when it is the caller,
 * runs them before it hands the CPU on. */
static inline void green__hub_queue_self(struct green__hub *h) {
  if (h->current != &h->hub && green__list_empty(&h->hub.run_link))
    green__hub_push_ready(h, &h->hub);
}

/* No soon call is waiting any more: take the hub greenlet out of the ready queue. */
static inline void green__hub_unqueue_self(struct green__hub *h) {
  if (!green__list_empty(&h->hub.run_link)) {
    green__list_remove(&h->hub.run_link);
    h->nready--;
  }
}

/* The record a handle names in hub h. Returns NULL with *err = -EINVAL for NULL. Returns NULL
 * with *err = -ESRCH for a handle of no live greenlet of h. Such a handle is released, stale,
 * another hub's or garbage. A spawned greenlet's handle is answered inline. */
static inline green_t *green__greenlet_find(struct green__hub *h, green_t *handle, int *err) {
  uintptr_t v = (uintptr_t)handle;
  size_t i = (size_t)(v & GREEN__SLOT_MASK) - GREEN__SLOT_FIRST;
  if (green__likely(i < h->nhandle_chunks * GREEN__CHUNK_HANDLES)) {
    green_t *g = &h->handle_chunks[i / GREEN__CHUNK_HANDLES][i % GREEN__CHUNK_HANDLES];
    if (green__likely(g->handle == handle)) return g;
  }
  return green__greenlet_find_slow(h, handle, err);
}

#endif
