/* SPDX-License-Identifier: MIT */
/*
 * Home words (share.h): claiming an object, the SHARED spin lock, taking an object over
 * from its home hub, and waking a waiter of another hub.
 */
#include "share.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "threadsafe.h"
#include "wait.h"

#define SHARED GREEN__HOME_SHARED
#define LOCKED GREEN__HOME_LOCKED
#define SPINS 100 /* busy tries before a spinner yields its CPU */

/* One more try of a spin loop: a pause, and now and then the CPU given away. The other side
 * may be a thread the kernel has taken off its CPU. */
static void spin_once(unsigned *tries) {
  if (++*tries % SPINS) green__cpu_relax();
  else sched_yield();
}

/* ---- whether objects may be biased ------------------------------------------------------ */

static pthread_once_t barrier_once = PTHREAD_ONCE_INIT;
static int barrier_works; /* the process is registered for expedited membarrier */

static int register_process(void) {
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

/* A child of fork has a memory map of its own, not registered yet. Until it is, it has one
 * thread, which needs no barrier. */
static void register_child(void) {
  if (barrier_works) barrier_works = register_process();
}

static void register_barrier(void) {
  barrier_works = register_process();
  if (barrier_works) pthread_atfork(NULL, NULL, register_child);
}

static int biasing(void) {
  pthread_once(&barrier_once, register_barrier);
  return barrier_works;
}

/* A full memory barrier on every running thread of the process. */
static void barrier_everywhere(void) {
  syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

/* ---- the SHARED spin lock ----------------------------------------------------------------- */

static void lock_shared(uint32_t *home) {
  unsigned tries = 0;
  uint32_t w = SHARED;
  while (!__atomic_compare_exchange_n(home, &w, SHARED | LOCKED, 1, __ATOMIC_ACQUIRE,
                                      __ATOMIC_RELAXED)) {
    w = SHARED;
    spin_once(&tries);
  }
}

/* ---- taking an object over ---------------------------------------------------------------- */

/* Whether the hub whose home_id is `id` is using an object now. A hub that is gone is not.
 * The lock keeps it listed, and so not freed, while we look. */
static int in_use(uint32_t id) {
  unsigned busy = 0;
  green__list_t *n;
  green__hubs_lock();
  for (n = green__hubs.next; n != &green__hubs; n = n->next) {
    struct green__hub *hub = green__container_of(n, struct green__hub, all_link);
    if (hub->home_id == id) {
      busy = __atomic_load_n(&hub->in_use, __ATOMIC_ACQUIRE);
      break;
    }
  }
  green__hubs_unlock();
  return busy != 0;
}

/* Wait until the hub whose home_id is `id` has ended every use it began before the barrier.
 * Not under the lock: a use may take it (a hub's first handle does). */
static void wait_out_uses(uint32_t id) {
  unsigned tries = 0;
  while (in_use(id)) spin_once(&tries);
}

/* *home was `id`, another hub's: make it SHARED and locked by us. 0, or -EAGAIN when the word
 * changed first. */
static int take_over(uint32_t *home, uint32_t id) {
  if (!__atomic_compare_exchange_n(home, &id, SHARED | LOCKED, 0, __ATOMIC_ACQUIRE,
                                   __ATOMIC_RELAXED))
    return -EAGAIN;
  barrier_everywhere();
  wait_out_uses(id);
  return 0;
}

/* Claim the unused object for h: biased to it, or SHARED where biasing cannot work. */
static int claim(uint32_t *home, struct green__hub *h) {
  uint32_t unused = 0;
  if (!biasing()) {
    __atomic_compare_exchange_n(home, &unused, SHARED, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return -EAGAIN; /* look again: now it is SHARED */
  }
  __atomic_store_n(&h->in_use, h->in_use + 1, __ATOMIC_RELAXED);
  if (__atomic_compare_exchange_n(home, &unused, h->home_id, 0, __ATOMIC_SEQ_CST,
                                  __ATOMIC_RELAXED))
    return GREEN__HOME_BIASED;
  __atomic_store_n(&h->in_use, h->in_use - 1, __ATOMIC_RELAXED);
  return -EAGAIN;
}

int green__home_enter_slow(uint32_t *home, struct green__hub *h) {
  for (;;) {
    uint32_t w = __atomic_load_n(home, __ATOMIC_ACQUIRE);
    int how;
    if (w & SHARED) {
      lock_shared(home);
      return GREEN__HOME_SPUN;
    }
    if (w == 0) how = claim(home, h);
    else if (w == h->home_id) how = green__home_enter(home, h);
    else how = take_over(home, w) == 0 ? GREEN__HOME_SPUN : -EAGAIN;
    if (how >= 0) return how;
  }
}

/* ---- destroy and free ---------------------------------------------------------------------- */

int green__home_enter_destroy(uint32_t *home) {
  uint32_t w = __atomic_load_n(home, __ATOMIC_ACQUIRE);
  struct green__hub *h;
  if (w == 0) return GREEN__HOME_UNUSED;
  if (w & SHARED) {
    lock_shared(home);
    return GREEN__HOME_SPUN;
  }
  if (!(h = green__hub_tls ? green__hub_tls : green__hub_get())) return -ENOMEM;
  return green__home_enter(home, h);
}

void green__home_leave_destroy(uint32_t *home, int how, int reset) {
  struct green__hub *h = green__hub_tls;
  uint32_t id;
  if (how == GREEN__HOME_UNUSED) return;
  if (how == GREEN__HOME_SPUN) {
    __atomic_store_n(home, reset ? 0 : SHARED, __ATOMIC_RELEASE);
    return;
  }
  id = h->home_id; /* biased to h: a hub taking it over meanwhile keeps it (SHARED) */
  if (reset)
    __atomic_compare_exchange_n(home, &id, 0, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  green__home_leave(home, h, how);
}

/* ---- waking a waiter of another hub ------------------------------------------------------ */

/* On g's own hub: the hand-off a waker of another hub made. */
static void hand_run(green__remote_t *m) {
  green_t *g = green__container_of(m, green_t, hand_msg);
  green__wake_handed(g->hub, g, g->hand_reason);
}

/* g's hub exited with g parked: nothing left to wake. */
static void hand_drop(green__remote_t *m) { (void)m; }

void green__hand(struct green__hub *h, green_t *g, int reason) {
  if (g->hub == h) {
    green__wake_handed(h, g, reason);
    return;
  }
  g->hand_reason = reason;
  g->hand_msg.run = hand_run;
  g->hand_msg.drop = hand_drop;
  green__hub_post(g->hub->handle, &g->hand_msg); /* reachable since it queued (share.h) */
}
