/* SPDX-License-Identifier: MIT */
/*
 * Greenlet-local storage with destructors (pthread_key_create semantics, per greenlet), and
 * greenlet names.
 *
 * Keys are slots of one process-wide table. A slot's sequence number is odd while its key
 * exists. It goes up on every create and delete (glibc's scheme). A value remembers the
 * sequence number it was set under. So the values of a deleted key read as NULL and are never
 * given to a destructor. A key created later in the same slot starts empty everywhere, with
 * nothing to visit. A greenlet's values are one array, allocated on its first set and grown to
 * the highest key it uses.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "hubs.h"
#include "local.h"

typedef void (*destructor_t)(void *);

static struct {
  atomic_uint seq;
  _Atomic(destructor_t) destructor;
} keys[GREEN_LOCAL_MAX];
static pthread_mutex_t keys_lock = PTHREAD_MUTEX_INITIALIZER;

struct slot {
  unsigned seq; /* of the key when the value was set; 0: never set */
  void *value;
};

struct green__locals {
  unsigned n;
  struct slot slots[];
};

int green_local_create(green_local_t *key, void (*destructor)(void *)) {
  unsigned i;
  if (!key) return green__fail(-EINVAL);
  pthread_mutex_lock(&keys_lock);
  for (i = 0; i < GREEN_LOCAL_MAX; i++) {
    unsigned seq = atomic_load_explicit(&keys[i].seq, memory_order_relaxed);
    if (!(seq & 1)) {
      atomic_store_explicit(&keys[i].destructor, destructor, memory_order_relaxed);
      atomic_store_explicit(&keys[i].seq, seq + 1, memory_order_release);
      break;
    }
  }
  pthread_mutex_unlock(&keys_lock);
  if (i == GREEN_LOCAL_MAX) return green__fail(-EAGAIN);
  *key = i;
  return 0;
}

/* The key's sequence number when it exists, 0 otherwise. */
static unsigned live_seq(green_local_t key) {
  unsigned seq;
  if (key >= GREEN_LOCAL_MAX) return 0;
  seq = atomic_load_explicit(&keys[key].seq, memory_order_acquire);
  return (seq & 1) ? seq : 0;
}

int green_local_delete(green_local_t key) {
  int r = -EINVAL;
  pthread_mutex_lock(&keys_lock);
  if (live_seq(key)) {
    atomic_fetch_add_explicit(&keys[key].seq, 1, memory_order_release);
    r = 0;
  }
  pthread_mutex_unlock(&keys_lock);
  return r ? green__fail(r) : 0;
}

void *green_local_get(green_local_t key) {
  struct green__hub *h = green__hub_get();
  struct green__locals *l;
  unsigned seq;
  if (!h || !(l = h->current->locals) || key >= l->n || !(seq = live_seq(key))) return NULL;
  return l->slots[key].seq == seq ? l->slots[key].value : NULL;
}

/* Make room for key in g's values: 0 or -ENOMEM. */
static int reserve(green_t *g, green_local_t key) {
  struct green__locals *l = g->locals;
  unsigned n = l ? l->n : 0, want = 8;
  if (key < n) return 0;
  while (want <= key) want *= 2;
  if (want > GREEN_LOCAL_MAX) want = GREEN_LOCAL_MAX;
  if (!(l = realloc(l, sizeof *l + want * sizeof l->slots[0]))) return -ENOMEM;
  memset(&l->slots[n], 0, (want - n) * sizeof l->slots[0]);
  l->n = want;
  g->locals = l;
  return 0;
}

int green_local_set(green_local_t key, const void *value) {
  struct green__hub *h = green__hub_get();
  unsigned seq;
  int r;
  if (!h) return -1;
  if (!(seq = live_seq(key))) return green__fail(-EINVAL);
  if ((r = reserve(h->current, key))) return green__fail(r);
  h->current->locals->slots[key].seq = seq;
  h->current->locals->slots[key].value = (void *)value;
  return 0;
}

/* One pass over g's values: each live one with a destructor is cleared, then destroyed.
 * Returns how many destructors ran. Destructors may set values (even grow the array). */
static int destroy_round(green_t *g) {
  int ran = 0;
  unsigned i;
  for (i = 0; g->locals && i < g->locals->n; i++) {
    struct slot *s = &g->locals->slots[i];
    void *value = s->value;
    destructor_t d;
    if (!value || s->seq != live_seq(i)) continue;
    s->value = NULL;
    if ((d = atomic_load_explicit(&keys[i].destructor, memory_order_relaxed))) {
      d(value);
      ran++;
    }
  }
  return ran;
}

void green__local_end(green_t *g) {
  int round;
  for (round = 0; round < GREEN_LOCAL_DESTRUCTOR_ITERATIONS && destroy_round(g); round++) {
  }
  green__local_forget(g);
}

void green__local_forget(green_t *g) {
  free(g->locals);
  g->locals = NULL;
}

/* ---- names ---------------------------------------------------------------------------- */

int green_set_name(green_t *handle, const char *name) {
  struct green__hub *h;
  green_t *g = green__greenlet_here(handle, &h);
  size_t n;
  if (!g) return green__hubs_set_name(h, handle, name);
  n = name ? strnlen(name, GREEN_NAME_MAX - 1) : 0;
  memcpy(g->name, name ? name : "", n);
  g->name[n] = '\0';
  return 0;
}

const char *green_name(green_t *handle) {
  struct green__hub *h;
  green_t *g = green__greenlet_here(handle, &h);
  return g ? g->name : green__hubs_name(h, handle);
}
