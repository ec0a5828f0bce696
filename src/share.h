/* SPDX-License-Identifier: MIT */
/*
 * Objects that greenlets of several hubs use: the `home` word of each sync object.
 *
 * A home word is 0 (unused), a hub's home_id (biased: only that hub uses the object), or
 * SHARED (every use takes the spin lock in the word). A home_id is a serial number shifted
 * past the two flag bits: never 0, never reused.
 *
 * The first hub to use an object claims it with one compare-and-swap. Its later uses take no
 * atomic read-modify-write. The hub marks itself busy (h->in_use, a plain store) and reads
 * the home word. It works on the object, then clears the mark with a release store.
 * Another hub that needs the object takes it over. It swaps the word to SHARED and locked.
 * Then it runs an expedited membarrier: a full barrier on every thread of the process. After
 * the barrier the home hub either sees the new word in its next use, or its mark shows a use
 * in progress. The taker waits that use out. This is an asymmetric Dekker handshake: the rare taker pays for
 * the fences the owner leaves out. The owner need not answer, so a hub whose thread is
 * blocked elsewhere cannot hold the object up. Without membarrier, objects are SHARED from
 * their first use. An object never goes back from SHARED, except through destroy.
 */
#ifndef GREEN_SHARE_H
#define GREEN_SHARE_H

#include <stdint.h>

#include "hub.h"
#include "wait.h"

#define GREEN__HOME_SHARED 1u /* used by several hubs */
#define GREEN__HOME_LOCKED 2u /* with SHARED: a hub is using it now */

/* How an object was entered, to give back to green__home_leave. */
enum { GREEN__HOME_BIASED = 0, GREEN__HOME_SPUN = 1 };

/* Claim, lock or take over the object: see above. Returns how it was entered. */
int green__home_enter_slow(uint32_t *home, struct green__hub *h);

/* Take the object for one use by a greenlet (or a callback) of h, not NULL. Never parks.
 * Returns how it was entered: GREEN__HOME_BIASED without any atomic operation. */
static inline int green__home_enter(uint32_t *home, struct green__hub *h) {
  __atomic_store_n(&h->in_use, h->in_use + 1, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the mark before the read; membarrier does the rest */
  if (green__likely(__atomic_load_n(home, __ATOMIC_RELAXED) == h->home_id))
    return GREEN__HOME_BIASED;
  __atomic_store_n(&h->in_use, h->in_use - 1, __ATOMIC_RELAXED);
  return green__home_enter_slow(home, h);
}

/* green__home_enter for a word that is SHARED from the start (a select's own lock): the spin
 * lock's compare-and-swap inline, green__home_enter_slow only when another holds it. */
static inline int green__home_enter_shared(uint32_t *home, struct green__hub *h) {
  uint32_t w = GREEN__HOME_SHARED;
  if (green__likely(__atomic_compare_exchange_n(home, &w, GREEN__HOME_SHARED | GREEN__HOME_LOCKED,
                                                0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)))
    return GREEN__HOME_SPUN;
  return green__home_enter_slow(home, h);
}

/* green__home_enter_destroy: the word was 0. Nobody has used the object, so there is
 * nothing to lock. */
#define GREEN__HOME_UNUSED 2

/* Enter an object to destroy or free it, from any thread. A SHARED word needs no hub: a
 * thread without one may destroy a shim's object. Returns how (GREEN__HOME_UNUSED too), or
 * -ENOMEM when a hub was needed and cannot be had. Not on any fast path. */
int green__home_enter_destroy(uint32_t *home);

/* Leave an object entered by green__home_enter_destroy. reset: it was destroyed, its word
 * goes back to 0 like a new object's. Otherwise (busy, or freed next) it stays as it is. */
void green__home_leave_destroy(uint32_t *home, int how, int reset);

/* End a use begun by green__home_enter, which returned how. */
static inline void green__home_leave(uint32_t *home, struct green__hub *h, int how) {
  if (green__likely(how == GREEN__HOME_BIASED))
    __atomic_store_n(&h->in_use, h->in_use - 1, __ATOMIC_RELEASE); /* the object's writes first */
  else
    __atomic_store_n(home, GREEN__HOME_SHARED, __ATOMIC_RELEASE);
}

/* For objects that queue a record of the waiter's own instead of its wait_link (queue,
 * channel, future): arm g before it parks. Its wait_link goes into the record's `armed` list,
 * so its own timeout or kill (green__wake) finds it waiting until a waker takes it out under
 * home. */
static inline void green__waiter_arm(green__list_t *armed, green_t *g, uint32_t *home) {
  green__list_init(armed);
  green__list_push_back(armed, &g->wait_link);
  g->wait_home = home;
}

/* Wake g, parked on an object and already taken out of its queue by the caller, with reason.
 * On g's own hub it is made ready now; otherwise its hub is told by a message. Call it after
 * green__home_leave: a message may take the target hub's lock. */
void green__hand(struct green__hub *h, green_t *g, int reason);

/* green__hand without its call when g is of h, as it always is with one hub. */
static inline void green__hand_inline(struct green__hub *h, green_t *g, int reason) {
  if (green__likely(g->hub == h)) green__wake_handed(h, g, reason);
  else green__hand(h, g, reason);
}

#endif
