/* SPDX-License-Identifier: MIT */
/*
 * Greenlet lifecycle: spawn, join, detach, kill, yield.
 */
#include "greenlet.h"

#include <math.h>
#include <stdlib.h>

#include "hub.h"
#include "hubs.h"
#include "tick.h"
#include "local.h"
#include "overflow.h"
#include "wait.h"

#define CHUNK_HANDLES GREEN__CHUNK_HANDLES
#define SLOT_MASK GREEN__SLOT_MASK
#define TAG_MASK GREEN__TAG_MASK
#define MAX_CHUNKS (((size_t)SLOT_MASK + 1 - GREEN__SLOT_FIRST) / CHUNK_HANDLES)

/* ---- handles ------------------------------------------------------------------------------
 * A hub's records sit in chunks of 64 that never move. The handle table lists the chunks, so
 * a slot finds its record without a search. The hub greenlet's handle carries the main
 * greenlet's id (its own id is 0 in every hub). */

static green_t *record_at(struct green__hub *h, size_t slot) {
  size_t i = slot - GREEN__SLOT_FIRST;
  if (slot == GREEN__SLOT_MAIN) return h->main;
  if (slot == GREEN__SLOT_HUB) return &h->hub;
  if (slot < GREEN__SLOT_FIRST || i / CHUNK_HANDLES >= h->nhandle_chunks) return NULL;
  return &h->handle_chunks[i / CHUNK_HANDLES][i % CHUNK_HANDLES];
}

green_t *green__greenlet_find_slow(struct green__hub *h, green_t *handle, int *err) {
  green_t *g;
  if (!handle) {
    *err = -EINVAL;
    return NULL;
  }
  g = record_at(h, (uintptr_t)handle & SLOT_MASK);
  if (g && g->handle == handle) return g;
  *err = -ESRCH;
  return NULL;
}

green_t *green__greenlet_at(struct green__hub *h, const void *p) {
  uintptr_t a = (uintptr_t)p;
  size_t c;
  if (!p) return NULL;
  if (p == h->main || p == &h->hub) return (green_t *)p;
  for (c = 0; c < h->nhandle_chunks; c++) {
    uintptr_t first = (uintptr_t)h->handle_chunks[c];
    if (a >= first && a < (uintptr_t)(h->handle_chunks[c] + CHUNK_HANDLES))
      return (a - first) % sizeof(green_t) == 0 && ((green_t *)p)->magic == GREEN__MAGIC
                 ? (green_t *)p
                 : NULL;
  }
  return NULL;
}

void green__greenlet_each(struct green__hub *h, void (*fn)(green_t *g, void *arg), void *arg) {
  size_t c, i;
  fn(h->main, arg);
  for (c = 0; c < h->nhandle_chunks; c++)
    for (i = 0; i < CHUNK_HANDLES; i++)
      if (h->handle_chunks[c][i].magic == GREEN__MAGIC) fn(&h->handle_chunks[c][i], arg);
}

/* Another chunk of free records: -ENOMEM, or -EAGAIN when every slot is taken. */
static int add_chunk(struct green__hub *h) {
  size_t n = h->nhandle_chunks, i;
  green_t **table, *c;
  if (n == MAX_CHUNKS) return -EAGAIN;
  if ((n & (n - 1)) == 0) { /* the table doubles at each power of two */
    if (!(table = realloc(h->handle_chunks, (n ? 2 * n : 1) * sizeof *table))) return -ENOMEM;
    h->handle_chunks = table;
  }
  if (!(c = calloc(CHUNK_HANDLES, sizeof *c))) return -ENOMEM;
  h->handle_chunks[h->nhandle_chunks++] = c;
  for (i = 0; i < CHUNK_HANDLES; i++) {
    green__greenlet_init_handle(&c[i]);
    c[i].slot = (uint32_t)(GREEN__SLOT_FIRST + n * CHUNK_HANDLES + i);
    green__list_push_back(&h->free_handles, &c[i].run_link);
  }
  return 0;
}

static green_t *handle_alloc(struct green__hub *h, int *err) {
  green__list_t *n = green__list_pop_front(&h->free_handles);
  if (!n) {
    if ((*err = add_chunk(h)) < 0) return NULL;
    n = green__list_pop_front(&h->free_handles);
  }
  return green__container_of(n, green_t, run_link);
}

void green__greenlet_release(struct green__hub *h, green_t *g) {
  g->magic = 0;
  g->handle = NULL;
  h->ngreenlets--;
  green__list_push_front(&h->free_handles, &g->run_link);
}

void green__greenlet_init_handle(green_t *g) {
  green__wait_init(g);
  green__list_init(&g->end_watches);
  green__list_init(&g->group_link);
  g->group = NULL;
}

void green__greenlet_free_all(struct green__hub *h) {
  size_t c, i;
  for (c = 0; c < h->nhandle_chunks; c++) {
    for (i = 0; i < CHUNK_HANDLES; i++) green__stack_fiber_free(h->handle_chunks[c][i].tsan_fiber);
    free(h->handle_chunks[c]);
  }
  free(h->handle_chunks);
  h->handle_chunks = NULL;
  h->nhandle_chunks = 0;
}

/* Tell everything watching g that it has ended; each watch is told once. */
__attribute__((noinline, cold)) static void notify_end(struct green__hub *h, green_t *g) {
  green__list_t *n;
  g->flags &= ~GREEN__WATCHED;
  while ((n = green__list_pop_front(&g->end_watches))) {
    green__watch_t *w = green__container_of(n, green__watch_t, link);
    w->fn(h, w);
  }
}

/* A greenlet has ended. Its watchers are told, and its stack goes back to the pool at once.
 * Its joiner wakes, and a detached handle is released. This may run on g's own stack (see
 * green__stack_release). So the watchers run before the stack is given back. Nothing they do
 * can then hand it to another greenlet while it is still in use. */
static void end(struct green__hub *h, green_t *g) {
  if (g->flags & GREEN__CANARY) { /* its last switch-out is now; after it, no stack */
    if (g == h->current) green__overflow_check(g);
    g->flags &= ~GREEN__CANARY;
  }
  g->state = GREEN_DEAD;
  if (g->hib_link.next) green__list_remove(&g->hib_link);
  if (green__unlikely(g->flags & GREEN__WATCHED)) notify_end(h, g);
  green__stack_release(&h->stacks, g->stack);
  g->stack = NULL;
  if (g->joiner && --g->joiner->joins_pending == 0) green__wake(h, g->joiner, 0);
  if (g->flags & GREEN__DETACHED) green__greenlet_release(h, g);
}

static void entry(void *arg) {
  green_t *g = arg;
  struct green__hub *h = g->hub;
  green__stack_switch_end(NULL);
  *h->errnop = 0;
  g->result = g->fn(g->arg);
  /* It forked, and this is the child: its hub is the parent's, forgotten. It was the only
   * thread of the child, so the child ends as after a last thread's return. */
  if (green__unlikely(h != green__hub_tls)) exit(0);
  if (g->locals) green__local_end(g);
  end(h, g);
  green__hub_schedule(h);
  green__fatal("greenlet %p \"%s\" was resumed after it ended", (void *)g, g->name);
}

void green__greenlet_exit(struct green__hub *h, void *result) {
  green_t *g = h->current;
  if (g == h->main || g == &h->hub) green__fatal("the main or hub greenlet cannot end");
  g->result = result;
  if (g->locals) green__local_end(g);
  end(h, g);
  green__hub_schedule(h);
  green__fatal("greenlet %p \"%s\" was resumed after it ended", (void *)g, g->name);
}

green_t *green__greenlet_new(void *(*fn)(void *), void *arg, size_t stack_size) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  int err;
  if (!h) return NULL;
  if (!fn) {
    errno = EINVAL;
    return NULL;
  }
  if (!(g = handle_alloc(h, &err))) {
    errno = -err;
    return NULL;
  }
  if (!(g->stack = green__stack_acquire(&h->stacks, stack_size, &err))) {
    green__list_push_front(&h->free_handles, &g->run_link);
    errno = -err;
    return NULL;
  }
  g->hub = h;
  g->id = green__hub_new_id(h);
  g->handle = green__greenlet_make_handle(h->number, g->id, g->slot);
  g->magic = GREEN__MAGIC;
  g->state = GREEN_NEW;
  g->wait_kind = GREEN_WAIT_NONE;
  g->flags = 0;
  g->nopreempt = 0;
  g->fn = fn;
  g->arg = arg;
  g->result = NULL;
  g->joiner = NULL;
  g->deadline = INFINITY;
  g->deadlines = NULL;
  g->asan_fake_stack = NULL;
  green__stack_fiber_free(g->tsan_fiber); /* its last greenlet's: ended, never resumed */
  g->tsan_fiber = green__stack_fiber_new();
  g->ext = NULL;
  g->threadvars = NULL;
  g->stack_lo = g->stack->lo;
  g->stack_size = g->stack->size;
  g->locals = NULL;
  g->resumed = NULL;
  g->name[0] = '\0';
  g->rdlocks = 0;
  g->sigmask = h->current->sigmask; /* as pthread_create: the creator's mask */
  green__list_init(&g->wait_link);
  green__list_init(&g->hib_link);
  green__overflow_arm(g);
  green__ctx_make(&g->ctx, g->stack->lo, g->stack->size - g->stack->color, entry, g);
  if (++h->ngreenlets > h->peak) h->peak = h->ngreenlets;
  h->spawns++;
  if (green__unlikely(h->tick != NULL)) green__tick_spawned(h);
  return g;
}

green_t *green_spawn_stack(void *(*fn)(void *), void *arg, size_t stack_size) {
  green_t *g = green__greenlet_new(fn, arg, stack_size);
  if (!g) return NULL;
  green__hub_push_ready(g->hub, g);
  return g->handle;
}

void green__greenlet_discard(struct green__hub *h, green_t *g) {
  if (g->state == GREEN_BLOCKED) h->nblocked--;
  g->flags &= ~GREEN__GEN_WAIT;
  green__local_forget(g);
  end(h, g);
}

green_t *green_spawn(void *(*fn)(void *), void *arg) { return green_spawn_stack(fn, arg, 0); }

int green__greenlet_joinable(struct green__hub *h, green_t *g) {
  return g != h->main && g != &h->hub && !g->joiner && !(g->flags & GREEN__DETACHED);
}

/* The record of a handle the caller may join, or NULL with *err set. */
static green_t *find_joinable(struct green__hub *h, green_t *handle, int *err) {
  green_t *g = green__greenlet_find(h, handle, err);
  if (!g) return NULL;
  *err = g == h->current ? -EDEADLK : green__greenlet_joinable(h, g) ? 0 : -EINVAL;
  return *err ? NULL : g;
}

/* Park until every greenlet whose joiner is the caller has ended (joins_pending of them). That
 * is `on`, or several when it is NULL. */
static int wait_joined(struct green__hub *h, const green_t *on, double at) {
  green_t *self = h->current;
  int r = 0;
  while (self->joins_pending && !r) r = green__park(h, GREEN_WAIT_JOIN, on, at, 0);
  if (r == GREEN__TIMER) r = self->joins_pending ? -ETIMEDOUT : 0;
  return r;
}

int green_join(green_t *handle, void **result, double timeout) {
  struct green__hub *h = green__hub_get();
  green_t *g;
  double at;
  int r;
  if (!h) return -1;
  if (!(g = find_joinable(h, handle, &r)))
    return r == -ESRCH ? green__hubs_join(h, handle, result, timeout) : green__fail(r);
  if ((r = green__timeout_to_at(timeout, &at))) return green__fail(r);
  if (g->state != GREEN_DEAD) {
    g->joiner = h->current;
    h->current->joins_pending = 1;
    r = wait_joined(h, g, at);
    g->joiner = NULL;
    if (r) return green__fail(r);
  }
  if (result) *result = g->result;
  green__greenlet_release(h, g);
  return 0;
}

/* The record of a handle joinall has claimed: it stays live while claimed. */
static green_t *claimed(struct green__hub *h, green_t *handle) {
  int err;
  return green__greenlet_find(h, handle, &err);
}

static void unclaim(struct green__hub *h, green_t **gs, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) claimed(h, gs[i])->joiner = NULL;
}

int green_joinall(green_t **gs, size_t n, double timeout) {
  struct green__hub *h = green__hub_get();
  green_t *self;
  double at;
  size_t i;
  int r;
  if (!h) return -1;
  if ((!gs && n) || (r = green__timeout_to_at(timeout, &at)) < 0)
    return green__fail(-EINVAL);
  for (i = 0; i < n; i++)
    if (green__greenlet_hub_number(gs[i]) != h->number && green__greenlet_hub_number(gs[i]))
      return (r = green__hubs_joinall(h, gs, n, at)) ? green__fail(r) : 0;
  self = h->current;
  self->joins_pending = 0;
  for (i = 0; i < n; i++) { /* claiming each as we go also catches duplicates */
    green_t *g = find_joinable(h, gs[i], &r);
    if (!g) {
      unclaim(h, gs, i);
      return green__fail(r);
    }
    g->joiner = self;
    self->joins_pending += g->state != GREEN_DEAD;
  }
  if ((r = wait_joined(h, NULL, at))) {
    unclaim(h, gs, n);
    return green__fail(r);
  }
  for (i = 0; i < n; i++) green__greenlet_release(h, claimed(h, gs[i]));
  return 0;
}

green_t *green__greenlet_here(green_t *handle, struct green__hub **hp) {
  green_t *g;
  int r;
  if (!(*hp = green__hub_get())) return NULL;
  if (!(g = green__greenlet_find(*hp, handle, &r))) errno = -r;
  return g;
}

int green_detach(green_t *handle) {
  struct green__hub *h;
  green_t *g = green__greenlet_here(handle, &h);
  if (!g) return green__hubs_detach(h, handle);
  if (!green__greenlet_joinable(h, g)) return green__fail(-EINVAL);
  if (g->state == GREEN_DEAD) green__greenlet_release(h, g);
  else g->flags |= GREEN__DETACHED;
  return 0;
}

/* g waits for a generator it resumed, which may wait for one of its own. The kill goes to the
 * innermost, as an exception would hit the innermost frame of one call stack. It marks every
 * generator on the way, so each of them ends too. */
static void kill_resumed(struct green__hub *h, green_t *g) {
  while (g->resumed) {
    g = g->resumed;
    g->flags |= GREEN__KILLED;
  }
  if (g->state == GREEN_BLOCKED && !(g->flags & GREEN__GEN_WAIT)) green__wake(h, g, -ECANCELED);
}

void green__greenlet_kill(struct green__hub *h, green_t *g) {
  if (g->state == GREEN_DEAD) return;
  g->flags |= GREEN__KILLED;
  if (g->state == GREEN_NEW) { /* it never runs */
    green__list_remove(&g->run_link);
    h->nready--;
    g->result = GREEN_CANCELED;
    end(h, g);
  } else if (g->state == GREEN_BLOCKED) {
    if (g->resumed) kill_resumed(h, g);
    else if (!(g->flags & GREEN__GEN_WAIT)) green__wake(h, g, -ECANCELED);
    /* else a suspended generator: its pending yield fails with ECANCELED when resumed */
  }
}

int green_kill(green_t *handle) {
  struct green__hub *h;
  green_t *g = green__greenlet_here(handle, &h);
  if (!g) return green__hubs_kill(h, handle);
  if (g == &h->hub) return green__fail(-EINVAL);
  green__greenlet_kill(h, g);
  return 0;
}

void green_yield(void) {
  struct green__hub *h = green__hub_get();
  if (!h || h->current == &h->hub) return; /* a callback on the hub has nothing to yield to */
  h->current->state = GREEN_READY;
  green__hub_push_ready(h, h->current);
  green__hub_schedule(h);
}

green_t *green_current(void) {
  struct green__hub *h = green__hub_get();
  return h ? h->current->handle : NULL;
}

unsigned long long green_id(green_t *handle) {
  struct green__hub *h;
  green_t *g = green__greenlet_here(handle, &h);
  return g ? g->id : green__hubs_id(h, handle);
}

int green_state(green_t *handle) {
  struct green__hub *h;
  green_t *g = green__greenlet_here(handle, &h);
  return g ? g->state : green__hubs_state(h, handle);
}
