/* SPDX-License-Identifier: MIT */
/*
 * Channels: Go's unbuffered channel and select. Greenlets of any hub may use one (share.h).
 *
 * Every waiting operation is a select. A plain send or receive is a select of one case. A
 * select takes its channels one at a time, in a random order. It completes the first case
 * that has a partner. Otherwise it queues a record in that channel and goes on. All records live
 * on the select's stack. While the select waits, its greenlet's wait_link sits in the
 * select's `armed` list. Whoever completes one of its cases (a partner, or close) takes
 * wait_link out, under the select's lock, and carries the value across. A timeout or kill
 * takes it out the same way (green__wake, through wait_home). Whoever comes first decides, so
 * a select fires once and no value is lost. The select's lock is its channel's home word for
 * a send or receive, and a spin lock word of its own for a select of several channels. Its
 * records left in other channels stay there until the select takes them out itself, once it
 * runs again. Partners and close pass over records whose select is no longer armed. So a
 * channel is not freed (EBUSY) while a select may still enter it. Nobody holds two channels
 * at once: hubs cannot wait for each other in a cycle.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "share.h"
#include "wait.h"

#define STACK_CASES 16 /* selects up to this size keep their records on the stack */

struct green_chan {
  uint32_t home;                    /* the hubs that use it (share.h); its lock once shared */
  green__list_t senders, receivers; /* records of parked operations, oldest first */
  int closed;
};

struct sel;

struct rec {
  green__list_t link;
  struct sel *sel;
  size_t index; /* of its case */
};

/* One select. */
struct sel {
  green_t *g;
  green_select_case_t *cases;
  struct rec *recs;   /* one per case */
  size_t *order;      /* the order its cases are tried in */
  size_t n;
  size_t fired;       /* index of the case that completed */
  uint32_t *lock;     /* decides whether it is armed: one channel's home, or `own` */
  uint32_t own;
  int published;      /* it has records in channels: others may fire it */
  green__list_t armed; /* holds g's wait_link while it waits */
};

green_chan_t *green_chan_new(void) {
  green_chan_t *c;
  if (!green__hub_get()) return NULL;
  if (!(c = calloc(1, sizeof *c))) {
    errno = ENOMEM;
    return NULL;
  }
  green__list_init(&c->senders);
  green__list_init(&c->receivers);
  return c;
}

/* Checked inside c's home: a select on another hub taking its record out is either before
 * or after. Records of selects that fired or timed out but have not run yet count. */
int green_chan_free(green_chan_t *c) {
  int how, busy;
  if (!c) return green__fail(-EINVAL);
  if ((how = green__home_enter_destroy(&c->home)) < 0) return green__fail(how);
  busy = !green__list_empty(&c->senders) || !green__list_empty(&c->receivers);
  green__home_leave_destroy(&c->home, how, 0);
  if (busy) return green__fail(-EBUSY);
  free(c);
  return 0;
}

/* ---- locks ---------------------------------------------------------------------------------
 * A caller holds at most one channel, ch, and inside it the locks of at most two selects
 * (lowest address first). A select's own lock is a spin lock (SHARED from the start): its
 * holder never waits for anything, and it is never taken over. */

typedef struct held {
  uint32_t *word[2];
  int how[2];
} held_t;

/* Enter the locks of a and b that are not ch's home (held already); NULL ones are skipped. */
static void enter_sels(struct green__hub *h, green_chan_t *ch, struct sel *a, struct sel *b,
                       held_t *held) {
  uint32_t *x = a && a->lock != &ch->home ? a->lock : NULL;
  uint32_t *y = b && b->lock != &ch->home ? b->lock : NULL;
  if (x && y && y < x) {
    uint32_t *t = x;
    x = y;
    y = t;
  }
  held->word[0] = x ? x : y;
  held->word[1] = x ? y : NULL;
  if (held->word[0]) held->how[0] = green__home_enter_shared(held->word[0], h);
  if (held->word[1]) held->how[1] = green__home_enter_shared(held->word[1], h);
}

static void leave_sels(struct green__hub *h, held_t *held) {
  if (held->word[1]) green__home_leave(held->word[1], h, held->how[1]);
  if (held->word[0]) green__home_leave(held->word[0], h, held->how[0]);
}

static int armed(const struct sel *s) { return !green__list_empty(&s->armed); }

/* s stops waiting: nobody else can fire it, and its timeout or kill no longer applies. */
static void disarm(struct sel *s) { green__list_remove(&s->g->wait_link); }

/* ---- completing a case ------------------------------------------------------------------ */

/* Case c completes with partner record r (in c's channel, entered; its select armed): carry
 * the value across, take r out and disarm its select. Returns the partner's greenlet. */
static green_t *take_partner(green_select_case_t *c, struct rec *r) {
  struct sel *p = r->sel;
  green_select_case_t *pc = &p->cases[r->index];
  if (c->op == GREEN_SELECT_SEND) pc->value = c->value;
  else c->value = pc->value;
  c->err = 0;
  pc->err = 0;
  p->fired = r->index;
  green__list_remove(&r->link);
  disarm(p);
  return p->g;
}

/* Case i of s completes with partner record r (in ch, entered), armed, or with ch closed
 * (r NULL). Both sides are disarmed; s is the running select. Returns the partner's greenlet
 * to wake, or NULL. */
static green_t *complete(struct sel *s, size_t i, struct rec *r) {
  if (s->published) disarm(s);
  s->fired = i;
  if (r) return take_partner(&s->cases[i], r);
  s->cases[i].err = EPIPE;
  return NULL;
}

/* Try case i of s in its channel ch, entered. Returns 1 when it completed (*woken: a
 * partner to wake), 0 when it has no partner, -1 when s is no longer armed: another greenlet
 * fired it. Records of selects that no longer wait are passed over: they take them out. */
static int try_case(struct green__hub *h, struct sel *s, size_t i, green_chan_t *ch,
                    green_t **woken) {
  green__list_t *list = s->cases[i].op == GREEN_SELECT_SEND ? &ch->receivers : &ch->senders;
  green__list_t *n, *next;
  held_t held;
  int r = 0;
  if (ch->closed) {
    enter_sels(h, ch, s->published ? s : NULL, NULL, &held);
    r = !s->published || armed(s) ? 1 : -1;
    if (r > 0) *woken = complete(s, i, NULL);
    leave_sels(h, &held);
    return r;
  }
  for (n = list->next; n != list && r == 0; n = next) {
    struct rec *partner = green__container_of(n, struct rec, link);
    next = n->next;
    if (partner->sel == s) continue; /* its own other case, on the same channel */
    enter_sels(h, ch, s->published ? s : NULL, partner->sel, &held);
    if (s->published && !armed(s)) r = -1;
    else if (armed(partner->sel)) {
      *woken = complete(s, i, partner);
      r = 1;
    }
    leave_sels(h, &held);
  }
  return r;
}

/* Queue case i's record in ch (entered); the first one arms s. */
static void publish(struct green__hub *h, struct sel *s, size_t i, green_chan_t *ch) {
  struct rec *r = &s->recs[i];
  if (!s->published) {
    s->g = h->current;
    green__waiter_arm(&s->armed, s->g, s->lock);
    s->published = 1;
  }
  r->sel = s;
  r->index = i;
  green__list_push_back(s->cases[i].op == GREEN_SELECT_SEND ? &ch->senders : &ch->receivers,
                        &r->link);
}

/* Take s's records out of every channel, except case `skip`'s (or none: s->n). */
static void withdraw(struct green__hub *h, struct sel *s, size_t skip) {
  size_t i;
  for (i = 0; i < s->n; i++) {
    green_chan_t *ch = s->cases[i].chan;
    int how;
    if (!ch || i == skip) continue;
    how = green__home_enter(&ch->home, h);
    green__list_remove(&s->recs[i].link);
    green__home_leave(&ch->home, h, how);
  }
}

/* One pass over the cases of s in its order. Returns the index of the case that completed,
 * -1 when none did (s may have records published), or -2 when another greenlet fired s. */
static long pass(struct green__hub *h, struct sel *s, int poll) {
  size_t k;
  for (k = 0; k < s->n; k++) {
    size_t i = s->order ? s->order[k] : k;
    green_chan_t *ch = s->cases[i].chan;
    green_t *woken = NULL;
    int how, r;
    if (!ch) continue;
    how = green__home_enter(&ch->home, h);
    if ((r = try_case(h, s, i, ch, &woken)) == 0 && !poll) publish(h, s, i, ch);
    green__home_leave(&ch->home, h, how);
    if (woken) green__hand_inline(h, woken, 0);
    if (r) return r > 0 ? (long)i : -2;
  }
  return -1;
}

/* Carry out s: the index of the case that fired, or -errno. poll: do not wait (ETIMEDOUT
 * when no case is ready). `on` is what dumps show: the channel of a send or receive, or s. */
static long run(struct green__hub *h, struct sel *s, int poll, int kind, const void *on,
                double at) {
  long i;
  int r;
  if (s->n > 1) /* withdraw may meet records never published; a lone one is, when it runs */
    for (i = 0; i < (long)s->n; i++) green__list_init(&s->recs[i].link);
  i = pass(h, s, poll);
  if (i >= 0) {
    if (s->published) {
      s->g->wait_home = NULL;
      withdraw(h, s, s->n);
    }
    return i;
  }
  if (poll) return -ETIMEDOUT;
  if (!s->published) { /* no channel at all: only the timeout can end it */
    r = green__park(h, kind, on, at, 0);
    return r == GREEN__TIMER ? -ETIMEDOUT : r;
  }
  r = green__park(h, kind, on, at, 0); /* when i is -2, s was fired: it waits for the news */
  if (r == 0) {
    if (s->n > 1) withdraw(h, s, s->fired); /* the firer took the fired record out */
    return (long)s->fired;
  }
  withdraw(h, s, s->n);
  return r == GREEN__TIMER ? -ETIMEDOUT : r;
}

/* The hub, and what every blocking call checks first: the timeout, a kill, the deadline. */
static inline int begin(struct green__hub **hp, double timeout, double *at) {
  struct green__hub *h = green__hub_tls ? green__hub_tls : green__hub_get();
  int r;
  if (!h) return -ENOMEM; /* the only way a hub cannot be had */
  if (timeout < 0) *at = INFINITY; /* the common case, without a call (NaN goes on: EINVAL) */
  else if ((r = green__timeout_to_at(timeout, at))) return r;
  if ((r = green__may_block(h->current))) return r;
  *hp = h;
  return 0;
}

/* The partner of a lone send or receive c (not published: nobody else can fire it) in ch,
 * entered. Returns 1 when c completed (*woken: the partner to wake), 0 when none waits. A
 * partner that is a send or receive too is decided by ch's home, held already: no other
 * lock is taken. Records of selects that no longer wait are passed over. */
static int try_lone(struct green__hub *h, green_select_case_t *c, green_chan_t *ch,
                    green_t **woken) {
  green__list_t *list = c->op == GREEN_SELECT_SEND ? &ch->receivers : &ch->senders, *n;
  if (ch->closed) {
    c->err = EPIPE;
    return 1;
  }
  for (n = list->next; n != list; n = n->next) {
    struct rec *partner = green__container_of(n, struct rec, link);
    struct sel *p = partner->sel;
    uint32_t *own = p->lock != &ch->home ? p->lock : NULL; /* a select of several channels */
    int how = own ? green__home_enter_shared(own, h) : 0, live = armed(p);
    if (live) *woken = take_partner(c, partner);
    if (own) green__home_leave(own, h, how);
    if (live) return 1;
  }
  return 0;
}

/* A send or receive: a select of the one case c, whose lock is ch's home. */
static int chan_op(green_chan_t *ch, green_select_case_t *c, double timeout) {
  struct green__hub *h;
  struct rec rec;
  struct sel s;
  double at;
  green_t *woken = NULL;
  int how, r;
  if (!ch) return -EINVAL; /* s is filled in only when it waits */
  if ((r = begin(&h, timeout, &at))) return r;
  how = green__home_enter(&ch->home, h);
  if (try_lone(h, c, ch, &woken)) {
    green__home_leave(&ch->home, h, how);
    if (woken) green__hand_inline(h, woken, 0);
    return -c->err;
  }
  if (timeout == 0) {
    green__home_leave(&ch->home, h, how);
    return -ETIMEDOUT;
  }
  s = (struct sel){h->current, c, &rec, NULL, 1, 0, &ch->home, 0, 1, {NULL, NULL}};
  green__waiter_arm(&s.armed, s.g, s.lock); /* published: partners may fire it now */
  rec.sel = &s;
  rec.index = 0;
  green__list_push_back(c->op == GREEN_SELECT_SEND ? &ch->senders : &ch->receivers, &rec.link);
  green__home_leave(&ch->home, h, how);
  if ((r = green__park(h, GREEN_WAIT_CHAN, ch, at, 0)) == 0) return -c->err;
  how = green__home_enter(&ch->home, h); /* not fired: its record is still in ch */
  green__list_remove(&rec.link);
  green__home_leave(&ch->home, h, how);
  return r == GREEN__TIMER ? -ETIMEDOUT : r;
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

/* Fire every armed select waiting in list (of ch, entered) with EPIPE: their records go to
 * `served`, to wake once outside ch. Records of selects that no longer wait stay: their
 * selects take them out. */
static void serve_closed(struct green__hub *h, green_chan_t *ch, green__list_t *list,
                         green__list_t *served) {
  green__list_t *n, *next;
  for (n = list->next; n != list; n = next) {
    struct rec *r = green__container_of(n, struct rec, link);
    struct sel *p = r->sel;
    held_t held;
    next = n->next;
    enter_sels(h, ch, p, NULL, &held);
    if (armed(p)) {
      p->fired = r->index;
      p->cases[r->index].err = EPIPE;
      disarm(p);
      green__list_remove(n);
      green__list_push_back(served, n);
    }
    leave_sels(h, &held);
  }
}

int green_chan_close(green_chan_t *ch) {
  struct green__hub *h = green__hub_get();
  green__list_t served = {&served, &served}, *n;
  int how;
  if (!h) return -1;
  if (!ch) return green__fail(-EINVAL);
  how = green__home_enter(&ch->home, h);
  if (ch->closed) {
    green__home_leave(&ch->home, h, how);
    return green__fail(-EPIPE);
  }
  ch->closed = 1;
  serve_closed(h, ch, &ch->receivers, &served);
  serve_closed(h, ch, &ch->senders, &served);
  green__home_leave(&ch->home, h, how);
  /* a served select keeps its records (and its stack) until it is woken: read them first */
  while ((n = green__list_pop_front(&served)))
    green__hand(h, green__container_of(n, struct rec, link)->sel->g, 0);
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

static int check_cases(const green_select_case_t *cases, size_t n) {
  size_t i;
  if (!cases && n) return -EINVAL;
  if (n > INT_MAX) return -EINVAL;
  for (i = 0; i < n; i++)
    if (cases[i].op != GREEN_SELECT_SEND && cases[i].op != GREEN_SELECT_RECV) return -EINVAL;
  return 0;
}

/* A random order of n cases (Fisher-Yates): when several are ready, each has the same chance
 * to be the first tried. */
static void shuffle(size_t *order, size_t n) {
  size_t i;
  /* The common select of two. Fisher-Yates stores at a random place, and the CPU often has
   * to redo the loads of order[] it ran early: about 4 ns a select here. */
  if (n == 2) {
    order[0] = (size_t)(next_random() >> 63);
    order[1] = order[0] ^ 1;
    return;
  }
  for (i = 0; i < n; i++) order[i] = i;
  for (i = n; i > 1; i--) {
    size_t j = (size_t)((next_random() >> 32) * i >> 32), t = order[i - 1]; /* i <= INT_MAX */
    order[i - 1] = order[j];
    order[j] = t;
  }
}

/* The lock of a select: the home of its one channel, or a spin lock of its own. */
static uint32_t *select_lock(struct sel *s) {
  green_chan_t *only = NULL;
  size_t i;
  for (i = 0; i < s->n; i++) {
    if (!s->cases[i].chan) continue;
    if (only) {
      s->own = GREEN__HOME_SHARED;
      return &s->own;
    }
    only = s->cases[i].chan;
  }
  return only ? &only->home : &s->own;
}

int green_select(green_select_case_t *cases, size_t n, double timeout) {
  struct green__hub *h;
  struct rec stack_recs[STACK_CASES];
  size_t stack_order[STACK_CASES];
  struct sel s = {NULL, cases, stack_recs, stack_order, n, 0, NULL, 0, 0, {NULL, NULL}};
  double at;
  long r;
  if ((r = begin(&h, timeout, &at)) || (r = check_cases(cases, n))) return green__fail((int)r);
  if (n > STACK_CASES) {
    if (!(s.recs = malloc(n * (sizeof *s.recs + sizeof *s.order)))) return green__fail(-ENOMEM);
    s.order = (size_t *)(s.recs + n);
  }
  shuffle(s.order, n);
  s.lock = select_lock(&s);
  r = run(h, &s, timeout == 0, GREEN_WAIT_SELECT, &s, at);
  if (s.recs != stack_recs) free(s.recs);
  return r < 0 ? green__fail((int)r) : (int)r;
}
