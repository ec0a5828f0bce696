/* SPDX-License-Identifier: MIT */
/*
 * Generators: Python's send/yield on a greenlet of their own.
 *
 * Resuming and yielding are direct switches between the caller and the generator's greenlet
 * (green__hub_switch). They never go through the ready queue. The side that gives up the CPU is
 * BLOCKED with GREEN__GEN_WAIT. That tells green_kill and the deadlock report not to wake it:
 * only the other side's switch resumes it. A caller waiting for its generator points at it
 * through `resumed`. So a kill or a deadlock reaches the call the generator is parked in. The
 * generator's greenlet is detached: its handle goes away when fn returns. The caller is then put
 * at the front of the ready queue and runs next.
 */
#include <math.h>
#include <stdlib.h>

#include "hub.h"
#include "local.h"
#include "wait.h"

enum { GEN_NEW, GEN_SUSPENDED, GEN_RUNNING, GEN_DONE };

struct green_gen {
  struct green__hub *hub;
  green_t *g;        /* its greenlet; NULL once it has ended or been discarded */
  green_t *caller;   /* the greenlet that resumed it, while it runs */
  void *(*fn)(green_gen_t *gen, void *arg);
  void *arg;
  void *value;       /* on its way to the caller: what it yielded, or fn's return value */
  void *sent;        /* on its way to the generator */
  int state;
  int closing;       /* every pending yield fails with ECANCELED */
};

/* Hand the CPU from the running greenlet straight to `to`. `to` is a NEW or suspended
 * generator, or the caller waiting for one. Returns when someone hands it back. */
static void hand_over(struct green__hub *h, green_t *to) {
  green_t *self = h->current;
  if (to->state == GREEN_BLOCKED) to->flags &= ~GREEN__GEN_WAIT;
  else h->nblocked++; /* `to` was never started: one more greenlet blocked, none fewer */
  self->flags |= GREEN__GEN_WAIT;
  self->state = GREEN_BLOCKED;
  self->wait_kind = GREEN_WAIT_GENERATOR;
  self->wait_on = to;
  self->wait_since = h->last_poll;
  green__hub_switch(h, to);
}

/* fn has returned. Run the generator's local destructors while its caller still waits. Then
 * queue the caller first, so that it runs as soon as the greenlet is gone. */
static void *gen_main(void *arg) {
  green_gen_t *gen = arg;
  struct green__hub *h = gen->hub;
  void *result = gen->fn(gen, gen->arg);
  green_t *caller = gen->caller;
  if (gen->g->locals) green__local_end(gen->g);
  gen->value = result;
  gen->state = GEN_DONE;
  gen->g = NULL;
  gen->caller = NULL;
  caller->flags &= ~GREEN__GEN_WAIT;
  caller->resumed = NULL;
  caller->state = GREEN_READY;
  h->nblocked--;
  green__list_push_front(&h->ready, &caller->run_link);
  h->nready++;
  return result;
}

green_gen_t *green_gen_new(void *(*fn)(green_gen_t *gen, void *arg), void *arg) {
  green_gen_t *gen;
  if (!fn) {
    errno = EINVAL;
    return NULL;
  }
  if (!(gen = calloc(1, sizeof *gen))) {
    errno = ENOMEM;
    return NULL;
  }
  if (!(gen->g = green__greenlet_new(gen_main, gen, 0))) {
    free(gen);
    return NULL;
  }
  gen->g->flags |= GREEN__DETACHED; /* nobody joins it: released as soon as it ends */
  gen->hub = gen->g->hub;
  gen->fn = fn;
  gen->arg = arg;
  gen->state = GEN_NEW;
  return gen;
}

/* The earliest deadline of g's own scopes, INFINITY when it has none. */
static double own_deadline(const green_t *g) {
  double at = INFINITY;
  const green_deadline_t *d;
  for (d = g->deadlines; d; d = d->outer)
    if (d->at < at) at = d->at;
  return at;
}

/* Run gen (NEW or SUSPENDED) until it yields (1) or ends (0); *value gets what it gave. The
 * caller's deadline holds inside the generator too. */
static int resume(struct green__hub *h, green_gen_t *gen, void *sent, void **value) {
  green_t *self = h->current, *g = gen->g;
  double own = own_deadline(g);
  void *v;
  gen->sent = sent;
  gen->caller = self;
  gen->state = GEN_RUNNING;
  g->deadline = self->deadline < own ? self->deadline : own;
  self->resumed = g;
  hand_over(h, g);
  self->resumed = NULL;
  v = gen->value;
  gen->value = NULL;
  if (value) *value = v;
  return gen->state == GEN_SUSPENDED;
}

/* The calling thread's hub when gen belongs to it: -EINVAL, -EPERM otherwise. */
static int begin(green_gen_t *gen, struct green__hub **hp) {
  struct green__hub *h = green__hub_get();
  if (!h) return -ENOMEM; /* the only way a hub cannot be had */
  if (!gen) return -EINVAL;
  if (gen->hub != h) return -EPERM;
  *hp = h;
  return 0;
}

int green_gen_send(green_gen_t *gen, void *sent, void **value) {
  struct green__hub *h;
  int r;
  if ((r = begin(gen, &h))) return green__fail(r);
  if (gen->state == GEN_RUNNING) return green__fail(-EBUSY);
  if (gen->state == GEN_DONE) {
    if (value) *value = NULL;
    return 0;
  }
  if (gen->state == GEN_NEW && sent) return green__fail(-EINVAL);
  if ((r = green__may_block(h->current))) return green__fail(r);
  return resume(h, gen, sent, value);
}

int green_gen_next(green_gen_t *gen, void **value) { return green_gen_send(gen, NULL, value); }

int green_gen_yield(green_gen_t *gen, void *value, void **sent) {
  struct green__hub *h;
  green_t *caller;
  int r;
  if ((r = begin(gen, &h))) return green__fail(r);
  if (gen->g != h->current) return green__fail(-EINVAL);
  caller = gen->caller;
  gen->caller = NULL;
  gen->value = value;
  gen->state = GEN_SUSPENDED;
  hand_over(h, caller);
  /* resumed by send, next or close */
  if (gen->closing || (h->current->flags & GREEN__KILLED)) return green__fail(-ECANCELED);
  if (sent) *sent = gen->sent;
  return 0;
}

int green_gen_yield_from(green_gen_t *gen, green_gen_t *sub, void **result) {
  void *value, *sent = NULL;
  int r, err;
  for (;;) {
    if ((r = green_gen_send(sub, sent, &value)) <= 0) break;
    if (green_gen_yield(gen, value, &sent) < 0) {
      err = errno;
      if (err == ECANCELED) green_gen_close(sub);
      errno = err;
      return -1;
    }
  }
  if (r == 0 && result) *result = value;
  return r;
}

/* Give up a generator that is not running, without running any more of it. */
static void discard(struct green__hub *h, green_gen_t *gen) {
  if (gen->g) green__greenlet_discard(h, gen->g);
  gen->g = NULL;
  gen->state = GEN_DONE;
}

int green_gen_close(green_gen_t *gen) {
  struct green__hub *h;
  int r;
  if ((r = begin(gen, &h))) return green__fail(r);
  if (gen->state == GEN_RUNNING) return green__fail(-EBUSY);
  if (gen->state == GEN_NEW) discard(h, gen);
  if (gen->state == GEN_DONE) return 0;
  gen->closing = 1;
  return resume(h, gen, NULL, NULL) ? green__fail(-EPROTO) : 0;
}

int green_gen_free(green_gen_t *gen) {
  struct green__hub *h;
  int r;
  if ((r = begin(gen, &h))) return green__fail(r);
  if (gen->state == GEN_RUNNING) return green__fail(-EBUSY);
  if (gen->state == GEN_SUSPENDED) green_gen_close(gen);
  if (gen->state != GEN_DONE) discard(h, gen); /* it ignored the close */
  free(gen);
  return 0;
}
