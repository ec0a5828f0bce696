/* SPDX-License-Identifier: MIT */
/*
 * Callbacks run by the hub: green_call_soon, green_call_later, green_call_at, green_call_cancel.
 *
 * A soon call goes on a list and puts the hub itself in the ready queue (see hub.c). So it runs
 * once the greenlets that were ready before it have had their turn. It takes no system call, and
 * a greenlet that keeps yielding cannot hold it back. A timed call goes into a heap; one
 * ev_timer is armed for the earliest. Handles are (generation << 32 | slot + 1), so 0 is never
 * a handle. The generation differs for every call a hub makes. It starts at a per-hub offset, so
 * another hub's handle is unlikely to name anything here.
 */
#include "call.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "hub.h"

enum { CHUNK_CALLS = 64 };
enum { CALL_FREE, CALL_SOON, CALL_TIMED };

static atomic_uint hub_serial;

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* errno = -neg_errno, and 0: no handle. */
static green_call_t no_call(int neg_errno) {
  errno = -neg_errno;
  return 0;
}

void green__calls_init(struct green__hub *h) {
  green__calls_t *cs = &h->calls;
  green__list_init(&cs->soon);
  green__list_init(&cs->free);
  ev_init(&cs->timer, timer_cb);
  cs->gen = (atomic_fetch_add(&hub_serial, 1) + 1) * 0x9e3779b9u; /* spread hubs apart */
}

void green__calls_destroy(struct green__hub *h) {
  green__calls_t *cs = &h->calls;
  size_t i;
  if (ev_is_active(&cs->timer)) ev_timer_stop(h->loop, &cs->timer);
  for (i = 0; i < cs->nchunks; i++) free(cs->chunks[i]);
  free(cs->chunks);
  free(cs->heap);
}

static int grow_table(green__calls_t *cs) {
  green__call_t **chunks = realloc(cs->chunks, (cs->nchunks + 1) * sizeof *chunks);
  green__call_t *c;
  size_t i;
  if (!chunks) return -ENOMEM;
  cs->chunks = chunks;
  if (!(c = calloc(CHUNK_CALLS, sizeof *c))) return -ENOMEM;
  for (i = 0; i < CHUNK_CALLS; i++) {
    c[i].slot = (uint32_t)(cs->nchunks * CHUNK_CALLS + i);
    green__list_push_back(&cs->free, &c[i].link);
  }
  cs->chunks[cs->nchunks++] = c;
  return 0;
}

static green__call_t *acquire(green__calls_t *cs, void (*fn)(void *), void *arg) {
  green__call_t *c;
  if (green__list_empty(&cs->free) && grow_table(cs) < 0) return NULL;
  c = green__container_of(green__list_pop_front(&cs->free), green__call_t, link);
  if (++cs->gen == 0) cs->gen = 1;
  c->gen = cs->gen;
  c->fn = fn;
  c->arg = arg;
  return c;
}

static void release(green__calls_t *cs, green__call_t *c) {
  c->state = CALL_FREE;
  green__list_push_front(&cs->free, &c->link);
}

static green_call_t handle_of(const green__call_t *c) {
  return (green_call_t)c->gen << 32 | (green_call_t)(c->slot + 1);
}

/* The pending call a handle names, or NULL. */
static green__call_t *lookup(green__calls_t *cs, green_call_t handle) {
  uint64_t slot = (handle & 0xffffffffu) - 1;
  green__call_t *c;
  if (slot >= (uint64_t)cs->nchunks * CHUNK_CALLS) return NULL;
  c = &cs->chunks[slot / CHUNK_CALLS][slot % CHUNK_CALLS];
  return c->state != CALL_FREE && c->gen == handle >> 32 ? c : NULL;
}

/* Run one call whose record has left every list. A table record is released first, so the
 * callback may schedule again at once, and cancelling itself finds nothing. */
static void run(green__calls_t *cs, green__call_t *c) {
  void (*fn)(void *) = c->fn;
  void *arg = c->arg;
  if (c->slot != GREEN__CALL_OWNED) release(cs, c);
  fn(arg);
}

/* ---- soon calls ------------------------------------------------------------------------ */

void green__call_post(struct green__hub *h, green__call_t *c) {
  c->state = CALL_SOON;
  green__list_push_back(&h->calls.soon, &c->link);
  green__hub_queue_self(h);
}

void green__calls_run_soon(struct green__hub *h) {
  green__calls_t *cs = &h->calls;
  green__list_t batch, *n;
  if (green__list_empty(&cs->soon)) return;
  batch.next = cs->soon.next; /* move the whole list over to batch */
  batch.prev = cs->soon.prev;
  batch.next->prev = batch.prev->next = &batch;
  green__list_init(&cs->soon);
  while ((n = green__list_pop_front(&batch))) run(cs, green__container_of(n, green__call_t, link));
}

green_call_t green_call_soon(void (*fn)(void *), void *arg) {
  struct green__hub *h = green__hub_get();
  green__call_t *c;
  if (!h) return 0;
  if (!fn) return no_call(-EINVAL);
  if (!(c = acquire(&h->calls, fn, arg))) return no_call(-ENOMEM);
  green__call_post(h, c);
  return handle_of(c);
}

/* ---- timed calls: a binary min-heap ---------------------------------------------------- */

static int before(const green__call_t *a, const green__call_t *b) {
  return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_set(green__calls_t *cs, size_t i, green__call_t *c) {
  cs->heap[i] = c;
  c->heap_pos = (uint32_t)i;
}

static void sift_up(green__calls_t *cs, size_t i, green__call_t *c) {
  while (i > 0 && before(c, cs->heap[(i - 1) / 2])) {
    heap_set(cs, i, cs->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  heap_set(cs, i, c);
}

static void sift_down(green__calls_t *cs, size_t i, green__call_t *c) {
  size_t child;
  while ((child = 2 * i + 1) < cs->nheap) {
    if (child + 1 < cs->nheap && before(cs->heap[child + 1], cs->heap[child])) child++;
    if (!before(cs->heap[child], c)) break;
    heap_set(cs, i, cs->heap[child]);
    i = child;
  }
  heap_set(cs, i, c);
}

static void heap_remove(green__calls_t *cs, green__call_t *c) {
  green__call_t *last = cs->heap[--cs->nheap];
  size_t i = c->heap_pos;
  if (last == c) return;
  if (i > 0 && before(last, cs->heap[(i - 1) / 2])) sift_up(cs, i, last);
  else sift_down(cs, i, last);
}

/* Point the hub's timer at the earliest timed call, or stop it when there is none. */
static void arm(struct green__hub *h) {
  green__calls_t *cs = &h->calls;
  double now;
  if (ev_is_active(&cs->timer)) ev_timer_stop(h->loop, &cs->timer);
  if (!cs->nheap) return;
  now = green_now();
  ev_now_update(h->loop); /* after `now`: libev counts `after` from a later instant */
  ev_timer_set(&cs->timer, cs->heap[0]->at > now ? cs->heap[0]->at - now : 0., 0.);
  ev_timer_start(h->loop, &cs->timer);
}

/* Runs on the hub's stack: the calls due, in (time, scheduling) order. Calls scheduled from
 * here on wait for the next round, even when due. So a callback rescheduling itself cannot
 * keep the hub in this loop. */
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct green__hub *h = ev_userdata(loop);
  green__calls_t *cs = &h->calls;
  double now = green_now();
  uint64_t last = cs->seq;
  (void)w, (void)revents;
  while (cs->nheap && cs->heap[0]->at <= now && cs->heap[0]->seq <= last) {
    green__call_t *c = cs->heap[0];
    heap_remove(cs, c);
    run(cs, c);
  }
  arm(h);
}

static green_call_t schedule_at(double at, void (*fn)(void *), void *arg) {
  struct green__hub *h = green__hub_get();
  green__calls_t *cs;
  green__call_t *c, **heap;
  if (!h) return 0;
  cs = &h->calls;
  if (!fn || !isfinite(at)) return no_call(-EINVAL);
  if (cs->nheap == cs->heap_cap) {
    size_t cap = cs->heap_cap ? 2 * cs->heap_cap : 16;
    if (!(heap = realloc(cs->heap, cap * sizeof *heap))) return no_call(-ENOMEM);
    cs->heap = heap;
    cs->heap_cap = cap;
  }
  if (!(c = acquire(cs, fn, arg))) return no_call(-ENOMEM);
  c->state = CALL_TIMED;
  c->at = at;
  c->seq = ++cs->seq;
  sift_up(cs, cs->nheap++, c);
  if (cs->heap[0] == c) arm(h);
  return handle_of(c);
}

green_call_t green_call_later(double seconds, void (*fn)(void *), void *arg) {
  if (!(seconds >= 0)) return no_call(-EINVAL); /* negative or NaN */
  return schedule_at(green_now() + seconds, fn, arg);
}

green_call_t green_call_at(double at, void (*fn)(void *), void *arg) {
  return schedule_at(at, fn, arg);
}

int green_call_cancel(green_call_t handle) {
  struct green__hub *h = green__hub_get();
  green__calls_t *cs;
  green__call_t *c;
  if (!h) return -1;
  cs = &h->calls;
  if (!(c = lookup(cs, handle))) return green__fail(handle ? -ESRCH : -EINVAL);
  if (c->state == CALL_SOON) {
    green__list_remove(&c->link);
    if (green__list_empty(&cs->soon)) green__hub_unqueue_self(h);
  } else {
    int was_first = cs->heap[0] == c;
    heap_remove(cs, c);
    if (was_first) arm(h);
  }
  release(cs, c);
  return 0;
}
