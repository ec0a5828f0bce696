/* SPDX-License-Identifier: MIT */
/*
 * Channels: Go's unbuffered channel and select on one thread's hub.
 *
 * Every waiting operation is a select. A plain send or receive is a select of one case. A
 * parked select has one record per case, all on the parked greenlet's stack. Each record is in
 * its channel's list of senders or receivers. Whoever completes one of its cases carries the
 * value across: a partner greenlet, or close. It then unlinks every record of that select from
 * every channel. Only then does it wake the greenlet. So a select fires once, no other channel
 * can see it afterwards, and no value is lost. A select woken by its timer or a kill stays
 * linked until it runs again. Partners skip its records as they would an empty slot: its
 * greenlet is no longer BLOCKED.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "wait.h"

#define STACK_CASES 16 /* selects up to this size keep their records on the stack */

struct green_chan {
  struct green__hub *hub;
  green__list_t senders, receivers; /* records of parked operations, oldest first */
  int closed;
};

struct sel;

struct rec {
  green__list_t link;
  struct sel *sel;
  size_t index; /* of its case */
};

/* One parked select. */
struct sel {
  green_t *g;
  green_select_case_t *cases;
  struct rec *recs; /* one per case */
  size_t n;
  size_t fired;     /* index of the case that completed */
};

green_chan_t *green_chan_new(void) {
  struct green__hub *h = green__hub_get();
  green_chan_t *c;
  if (!h) return NULL;
  if (!(c = calloc(1, sizeof *c))) {
    errno = ENOMEM;
    return NULL;
  }
  c->hub = h;
  green__list_init(&c->senders);
  green__list_init(&c->receivers);
  return c;
}

int green_chan_free(green_chan_t *c) {
  if (!c) return green__fail(-EINVAL);
  if (!green__list_empty(&c->senders) || !green__list_empty(&c->receivers))
    return green__fail(-EBUSY);
  free(c);
  return 0;
}

/* The oldest record in `list` whose select is still parked (stale ones are dropped), left
 * linked; NULL when there is none. */
static struct rec *first_live(green__list_t *list) {
  while (!green__list_empty(list)) {
    struct rec *r = green__container_of(list->next, struct rec, link);
    if (r->sel->g->state == GREEN_BLOCKED) return r;
    green__list_remove(&r->link);
  }
  return NULL;
}

/* Case `index` of r's select has completed with err: take the select out of every channel
 * and wake its greenlet. */
static void fire(struct green__hub *h, struct rec *r, int err) {
  struct sel *s = r->sel;
  size_t i;
  s->fired = r->index;
  s->cases[r->index].err = err;
  for (i = 0; i < s->n; i++) green__list_remove(&s->recs[i].link);
  green__wake(h, s->g, 0);
}

/* A partner for case c is parked (or its channel is closed). */
static int ready(const green_select_case_t *c) {
  green_chan_t *ch = c->chan;
  if (!ch) return 0;
  if (ch->closed) return 1;
  return first_live(c->op == GREEN_SELECT_SEND ? &ch->receivers : &ch->senders) != NULL;
}

/* Complete case c with its partner now: 1 when done (c->err 0 or EPIPE), 0 when none. */
static int try_case(struct green__hub *h, green_select_case_t *c) {
  green_chan_t *ch = c->chan;
  struct rec *r;
  if (ch->closed) {
    c->err = EPIPE;
    return 1;
  }
  if (c->op == GREEN_SELECT_SEND) {
    if (!(r = first_live(&ch->receivers))) return 0;
    r->sel->cases[r->index].value = c->value;
  } else {
    if (!(r = first_live(&ch->senders))) return 0;
    c->value = r->sel->cases[r->index].value;
  }
  c->err = 0;
  fire(h, r, 0);
  return 1;
}

/* Park in every case of s until one fires: its index, or -errno. `on` is what dumps show:
 * the channel of a send or receive, or s for a select. */
static int park(struct green__hub *h, struct sel *s, int kind, const void *on, double at) {
  size_t i;
  int r;
  s->g = h->current;
  for (i = 0; i < s->n; i++) {
    green_chan_t *ch = s->cases[i].chan;
    green__list_init(&s->recs[i].link);
    s->recs[i].sel = s;
    s->recs[i].index = i;
    if (ch)
      green__list_push_back(s->cases[i].op == GREEN_SELECT_SEND ? &ch->senders : &ch->receivers,
                            &s->recs[i].link);
  }
  if ((r = green__park(h, kind, on, at, 0)) == 0) return (int)s->fired;
  for (i = 0; i < s->n; i++) green__list_remove(&s->recs[i].link);
  return r == GREEN__TIMER ? -ETIMEDOUT : r;
}

/* The hub, and what every blocking call checks first: the timeout, a kill, the deadline. */
static int begin(struct green__hub **hp, double timeout, double *at) {
  struct green__hub *h = green__hub_get();
  int r;
  if (!h) return -ENOMEM; /* the only way a hub cannot be had */
  if (timeout < 0) *at = INFINITY; /* the common case, without a call (NaN goes on: EINVAL) */
  else if ((r = green__timeout_to_at(timeout, at))) return r;
  if ((r = green__may_block(h->current))) return r;
  *hp = h;
  return 0;
}

/* A send or receive: a select of the one case c. */
static int chan_op(green_chan_t *ch, green_select_case_t *c, double timeout) {
  struct green__hub *h;
  struct rec rec;
  struct sel s = {NULL, c, &rec, 1, 0};
  double at;
  int r;
  if (!ch) return -EINVAL;
  if ((r = begin(&h, timeout, &at))) return r;
  if (ch->hub != h) return -EPERM;
  if (!try_case(h, c) && (r = park(h, &s, GREEN_WAIT_CHAN, ch, at)) < 0) return r;
  return -c->err;
}

int green_chan_send(green_chan_t *ch, void *value, double timeout) {
  green_select_case_t c = {ch, GREEN_SELECT_SEND, value, 0};
  int r = chan_op(ch, &c, timeout);
  return r ? green__fail(r) : 0;
}

int green_chan_recv(green_chan_t *ch, void **value, double timeout) {
  green_select_case_t c = {ch, GREEN_SELECT_RECV, NULL, 0};
  int r = chan_op(ch, &c, timeout);
  if (r) return green__fail(r);
  if (value) *value = c.value;
  return 0;
}

int green_chan_close(green_chan_t *ch) {
  struct green__hub *h = green__hub_get();
  struct rec *r;
  if (!h) return -1;
  if (!ch) return green__fail(-EINVAL);
  if (ch->hub != h) return green__fail(-EPERM);
  if (ch->closed) return green__fail(-EPIPE);
  ch->closed = 1;
  while ((r = first_live(&ch->receivers))) fire(h, r, EPIPE);
  while ((r = first_live(&ch->senders))) fire(h, r, EPIPE);
  return 0;
}

/* xorshift64*, per thread: the random pick among ready cases. */
static uint64_t next_random(void) {
  static __thread uint64_t state;
  uint64_t x = state;
  if (!x) x = (uint64_t)(uintptr_t)&state ^ (uint64_t)(green_now() * 1e9) ^ 0x9e3779b97f4a7c15u;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  state = x;
  return x * 0x2545f4914f6cdd1du;
}

static int check_cases(struct green__hub *h, const green_select_case_t *cases, size_t n) {
  size_t i;
  if (!cases && n) return -EINVAL;
  if (n > INT_MAX) return -EINVAL;
  for (i = 0; i < n; i++) {
    if (cases[i].op != GREEN_SELECT_SEND && cases[i].op != GREEN_SELECT_RECV) return -EINVAL;
    if (cases[i].chan && cases[i].chan->hub != h) return -EPERM;
  }
  return 0;
}

/* The index of a ready case, each ready one with the same chance; -1 when none is. */
static long pick_ready(green_select_case_t *cases, size_t n) {
  long chosen = -1;
  uint64_t seen = 0;
  size_t i;
  for (i = 0; i < n; i++)
    if (ready(&cases[i]) && next_random() % ++seen == 0) chosen = (long)i; /* reservoir */
  return chosen;
}

int green_select(green_select_case_t *cases, size_t n, double timeout) {
  struct green__hub *h;
  struct rec stack_recs[STACK_CASES];
  struct sel s = {NULL, cases, stack_recs, n, 0};
  double at;
  long i;
  int r;
  if ((r = begin(&h, timeout, &at)) || (r = check_cases(h, cases, n))) return green__fail(r);
  if ((i = pick_ready(cases, n)) >= 0) {
    try_case(h, &cases[i]);
    return (int)i;
  }
  if (timeout == 0) return green__fail(-ETIMEDOUT);
  if (n > STACK_CASES && !(s.recs = malloc(n * sizeof *s.recs))) return green__fail(-ENOMEM);
  r = park(h, &s, GREEN_WAIT_SELECT, &s, at);
  if (s.recs != stack_recs) free(s.recs);
  return r < 0 ? green__fail(r) : r;
}
