/* SPDX-License-Identifier: MIT */
/*
 * green_hubs_start, green_hub_stop, green_hub_self, green_spawn_on, and the calls on a
 * greenlet of another hub.
 *
 * A handle carries its hub's number (greenlet.h). A call on another hub's greenlet becomes a
 * request: a message to that hub (green__hub_post), run there on the hub's stack with the
 * local call, and an answer back. The asker parks until the answer comes, even when it gives
 * up early (a join's timeout, a kill). Its request then asks the other hub to let go of the
 * greenlet. The answer says whether the join was done after all. Nothing is lost and a
 * request never outlives either side's use of it (two references).
 *
 * A hub green_hubs_start makes runs on a thread of its own, whose main greenlet parks until
 * the hub is stopped, then waits for the hub's greenlets to end. Nobody holding a reference
 * any more counts as a stop (its main greenlet's park fails with EDEADLK).
 */
#include "hubs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "hibernate.h"
#include "threadsafe.h"
#include "wait.h"

/* ---- parking for an answer ---------------------------------------------------------------- */

/* Park as green__park does, except that neither a kill nor the scoped deadline ends it: the
 * caller waits for an answer that will come. A kill stays for the caller's next call. */
static void park_unkillable(struct green__hub *h, int kind, const void *on) {
  green_t *self = h->current;
  uint8_t killed = self->flags & GREEN__KILLED;
  double deadline = self->deadline;
  self->flags &= (uint8_t)~GREEN__KILLED;
  self->deadline = INFINITY;
  if (green__park(h, kind, on, INFINITY, 0) == -ECANCELED) killed = GREEN__KILLED;
  self->flags |= killed;
  self->deadline = deadline;
}

green_hub_t *green_hub_self(void) {
  struct green__hub *h = green__hub_get();
  return h ? h->handle : NULL;
}

/* ---- requests ------------------------------------------------------------------------------ */

enum { OP_JOIN, OP_DETACH, OP_KILL, OP_STATE, OP_ID, OP_SPAWN };
enum { OP_NAME = OP_SPAWN + 1, OP_SET_NAME, OP_GROUP_ADD, OP_WATCH, OP_UNWATCH };
enum { OP_CLAIM = OP_UNWATCH + 1, OP_RELEASE, OP_UNCLAIM }; /* green_joinall's steps */
enum { GAVE_UP = 1 }; /* the answer to a join the asker gave up before it was done */

typedef struct req {
  green__remote_t call;      /* to the target hub: the operation */
  green__remote_t cancel;    /* to the target hub: the asker gives up a pending join */
  green__remote_t answer;    /* back to the asker's hub */
  atomic_int refs;           /* the asker's, and the target side's while it has the request */
  green_hub_t *target, *home;
  green_t *asker;            /* on the home hub */
  int answered;              /* on the home hub */
  int op;
  green_t *handle;
  void *(*fn)(void *);       /* OP_SPAWN */
  void *arg;
  int err;                   /* the answer: 0, -errno or GAVE_UP */
  void *result;              /* OP_JOIN */
  unsigned long long value;  /* OP_STATE, OP_ID */
  green_t *spawned;          /* OP_SPAWN */
  struct green_group *group; /* OP_GROUP_ADD */
  green__watch_t *item;      /* OP_WATCH, OP_UNWATCH: the caller's watch */
  char name[GREEN_NAME_MAX]; /* OP_NAME's answer, OP_SET_NAME's argument */
  green_t *g;                /* on the target hub, while a join waits for g to end */
  green__watch_t watch;      /* in g's end_watches then */
  green__list_t link;        /* in the target hub's pending joins then */
} req_t;

static void req_unref(req_t *q) {
  if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) != 1) return;
  green__hub_unref(q->target);
  green__hub_unref(q->home);
  free(q);
}

/* On the asker's hub. */
static void on_answer(green__remote_t *r) {
  req_t *q = green__container_of(r, req_t, answer);
  q->answered = 1;
  green__wake(green__hub_tls, q->asker, 0);
  req_unref(q);
}

static void drop_answer(green__remote_t *r) { req_unref(green__container_of(r, req_t, answer)); }

/* On the target hub: the answer goes home with the target side's reference. */
static void answer(req_t *q, int err) {
  q->err = err;
  if (green__hub_post(q->home, &q->answer) < 0) req_unref(q);
}

/* The joins other hubs wait for on this thread's hub: answered with ESRCH if it goes away
 * first. */
typedef struct joins {
  struct green__hub *hub;
  green__hub_teardown_t teardown;
  green__list_t list;
} joins_t;

static __thread joins_t pending_joins;

static void unpend(req_t *q) {
  green__list_remove(&q->watch.link);
  green__list_remove(&q->link);
  q->g->joiner = NULL;
  q->g = NULL;
}

static void end_joins(struct green__hub *h, green__hub_teardown_t *t) {
  joins_t *j = green__container_of(t, joins_t, teardown);
  green__list_t *n;
  (void)h;
  while ((n = j->list.next) != &j->list) {
    req_t *q = green__container_of(n, req_t, link);
    unpend(q);
    answer(q, -ESRCH);
  }
  j->hub = NULL;
}

static green__list_t *joins_of(struct green__hub *h) {
  joins_t *j = &pending_joins;
  if (j->hub != h) {
    j->hub = h;
    green__list_init(&j->list);
    green__hub_on_destroy(h, &j->teardown, end_joins);
  }
  return &j->list;
}

/* g has ended: it is released as it ends (detached), its result goes home. */
static void on_joined_end(struct green__hub *h, green__watch_t *w) {
  req_t *q = green__container_of(w, req_t, watch);
  green_t *g = q->g;
  (void)h;
  green__list_remove(&q->link);
  q->g = NULL;
  q->result = g->result;
  g->joiner = NULL;
  g->flags |= GREEN__DETACHED;
  answer(q, 0);
}

/* Join on the target hub: answered at once, or 1 when the answer waits for g's end. */
static int join_here(struct green__hub *h, req_t *q) {
  int err;
  green_t *g = green__greenlet_find(h, q->handle, &err);
  if (!g) return err;
  if (!green__greenlet_joinable(h, g)) return -EINVAL;
  if (g->state == GREEN_DEAD) {
    q->result = g->result;
    green__greenlet_release(h, g);
    return 0;
  }
  g->joiner = &h->hub; /* taken: no other join or detach meanwhile; never woken */
  q->g = g;
  q->watch.fn = on_joined_end;
  green__greenlet_watch(g, &q->watch);
  green__list_push_back(joins_of(h), &q->link);
  return 1;
}

/* g has ended: it stays claimed for the joinall, which releases or unclaims it next. */
static void on_claimed_end(struct green__hub *h, green__watch_t *w) {
  req_t *q = green__container_of(w, req_t, watch);
  (void)h;
  green__list_remove(&q->link);
  q->g = NULL;
  answer(q, 0);
}

/* OP_CLAIM on the target hub: g is taken for a joinall (no other join or detach), answered
 * once it has ended, or 1 when the answer waits for its end. A cancel unclaims it. */
static int claim_here(struct green__hub *h, req_t *q) {
  int err;
  green_t *g = green__greenlet_find(h, q->handle, &err);
  if (!g) return err;
  if (!green__greenlet_joinable(h, g)) return -EINVAL;
  g->joiner = &h->hub;
  if (g->state == GREEN_DEAD) return 0;
  q->g = g;
  q->watch.fn = on_claimed_end;
  green__greenlet_watch(g, &q->watch);
  green__list_push_back(joins_of(h), &q->link);
  return 1;
}

/* OP_RELEASE, OP_UNCLAIM: the joinall is done with a greenlet it claimed. */
static int unclaim_here(struct green__hub *h, req_t *q) {
  int err;
  green_t *g = green__greenlet_find(h, q->handle, &err);
  if (!g) return err;
  if (q->op == OP_RELEASE) green__greenlet_release(h, g);
  else g->joiner = NULL;
  return 0;
}

static int stopping(void);

/* OP_WATCH on the target hub: value 1 when g has ended already. */
static int watch_here(struct green__hub *h, req_t *q) {
  int err;
  green_t *g = green__greenlet_find(h, q->handle, &err);
  if (!g) return err;
  if (g == h->main || g == &h->hub) return -EINVAL; /* they never end */
  if (!(q->value = g->state == GREEN_DEAD)) green__greenlet_watch(g, q->item);
  return 0;
}

static int name_here(req_t *q) {
  const char *name = green_name(q->handle);
  if (name) strcpy(q->name, name); /* both GREEN_NAME_MAX */
  return name != NULL;
}

/* The local call, on the target hub's stack: errno is this hub greenlet's own. */
static void on_call(green__remote_t *r) {
  req_t *q = green__container_of(r, req_t, call);
  int ok = 1, state, err;
  switch (q->op) {
  case OP_JOIN:
    if ((err = join_here(green__hub_tls, q)) <= 0) answer(q, err);
    return;
  case OP_DETACH:
    ok = green_detach(q->handle) == 0;
    break;
  case OP_KILL:
    ok = green_kill(q->handle) == 0;
    break;
  case OP_STATE:
    ok = (state = green_state(q->handle)) >= 0;
    q->value = (unsigned long long)state;
    break;
  case OP_ID:
    ok = (q->value = green_id(q->handle)) != 0;
    break;
  case OP_NAME:
    ok = name_here(q);
    break;
  case OP_SET_NAME:
    ok = green_set_name(q->handle, q->name) == 0;
    break;
  case OP_CLAIM:
    if ((err = claim_here(green__hub_tls, q)) <= 0) answer(q, err);
    return;
  case OP_RELEASE:
  case OP_UNCLAIM:
    answer(q, unclaim_here(green__hub_tls, q));
    return;
  case OP_WATCH:
    answer(q, watch_here(green__hub_tls, q));
    return;
  case OP_UNWATCH: /* told already (unlinked) or not: g's end watches are this hub's */
    green__list_remove(&q->item->link);
    break;
  case OP_GROUP_ADD:
    ok = (err = green__group_add_handle(green__hub_tls, q->group, q->handle)) == 0;
    errno = -err;
    break;
  case OP_SPAWN:
    if (stopping()) {
      errno = ESRCH;
      ok = 0;
    } else {
      ok = (q->spawned = green_spawn(q->fn, q->arg)) != NULL;
    }
    break;
  }
  answer(q, ok ? 0 : -errno);
}

/* The target hub's thread has exited before it ran the call. */
static void drop_call(green__remote_t *r) { answer(green__container_of(r, req_t, call), -ESRCH); }

static void on_cancel(green__remote_t *r) {
  req_t *q = green__container_of(r, req_t, cancel);
  if (q->g) { /* still pending: g is joinable again */
    unpend(q);
    answer(q, GAVE_UP);
  }
  req_unref(q); /* the cancel's own */
}

static void drop_cancel(green__remote_t *r) { req_unref(green__container_of(r, req_t, cancel)); }

/* A request from the running greenlet of h to target (a reference it takes over). NULL with
 * *err: -EPERM in a callback (it could not park for the answer), -ENOMEM. */
static req_t *req_new(struct green__hub *h, green_hub_t *target, int op, int *err) {
  req_t *q = NULL;
  green_hub_t *home = NULL;
  *err = -EPERM;
  if (h->current == &h->hub || !(*err = -ENOMEM, q = calloc(1, sizeof *q)) ||
      !(home = green__hub_ref(h, err))) {
    free(q);
    green__hub_unref(target);
    return NULL;
  }
  atomic_init(&q->refs, 1);
  q->target = target;
  q->home = home;
  q->asker = h->current;
  q->op = op;
  q->call.run = on_call;
  q->call.drop = drop_call;
  q->cancel.run = on_cancel;
  q->cancel.drop = drop_cancel;
  q->answer.run = on_answer;
  q->answer.drop = drop_answer;
  return q;
}

/* 0, or -ESRCH when the target hub's thread has exited. */
static int req_send(req_t *q, green__remote_t *r) {
  int err;
  atomic_fetch_add_explicit(&q->refs, 1, memory_order_relaxed);
  if ((err = green__hub_post(q->target, r)) < 0)
    atomic_fetch_sub_explicit(&q->refs, 1, memory_order_relaxed);
  return err;
}

/* Send q and wait for its answer: 0 or -errno. */
static int req_call(struct green__hub *h, req_t *q, const char *what) {
  int err = req_send(q, &q->call);
  if (err) return err;
  while (!q->answered) park_unkillable(h, GREEN_WAIT_CALL, what);
  return q->err;
}

/* The other live hub a handle names (a reference), or NULL with *err. */
static green_hub_t *target_of(struct green__hub *h, green_t *handle, int *err) {
  unsigned n = green__greenlet_hub_number(handle);
  green_hub_t *hb = NULL;
  *err = handle ? -ESRCH : -EINVAL;
  if (handle && n && n != h->number) hb = green__hub_ref_number(n);
  return hb;
}

/* op on handle's greenlet on its hub: 0 and *value, or -errno. */
static int remote(struct green__hub *h, green_t *handle, int op, unsigned long long *value,
                  const char *what) {
  green_hub_t *target;
  req_t *q;
  int err;
  if (!(target = target_of(h, handle, &err)) || !(q = req_new(h, target, op, &err))) return err;
  q->handle = handle;
  err = req_call(h, q, what);
  *value = q->value;
  req_unref(q);
  return err;
}

int green__hubs_detach(struct green__hub *h, green_t *handle) {
  unsigned long long v = 0;
  int err;
  if (!h) return -1;
  return (err = remote(h, handle, OP_DETACH, &v, "green_detach")) ? green__fail(err) : 0;
}

int green__hubs_kill(struct green__hub *h, green_t *handle) {
  unsigned long long v = 0;
  int err;
  if (!h) return -1;
  return (err = remote(h, handle, OP_KILL, &v, "green_kill")) ? green__fail(err) : 0;
}

int green__hubs_state(struct green__hub *h, green_t *handle) {
  unsigned long long v = 0;
  int err;
  if (!h) return -1;
  return (err = remote(h, handle, OP_STATE, &v, "green_state")) ? green__fail(err) : (int)v;
}

unsigned long long green__hubs_id(struct green__hub *h, green_t *handle) {
  unsigned long long v = 0;
  int err;
  if (!h) return 0;
  if ((err = remote(h, handle, OP_ID, &v, "green_id"))) {
    errno = -err;
    return 0;
  }
  return v;
}

int green__hubs_set_name(struct green__hub *h, green_t *handle, const char *name) {
  green_hub_t *target;
  req_t *q;
  size_t n = name ? strnlen(name, GREEN_NAME_MAX - 1) : 0;
  int err;
  if (!h) return -1;
  if (!(target = target_of(h, handle, &err)) || !(q = req_new(h, target, OP_SET_NAME, &err)))
    return green__fail(err);
  q->handle = handle;
  memcpy(q->name, name ? name : "", n);
  q->name[n] = '\0';
  err = req_call(h, q, "green_set_name");
  req_unref(q);
  return err ? green__fail(err) : 0;
}

/* The copy green_name returns for another hub's greenlet: it stays until the caller parks. */
static __thread char remote_name[GREEN_NAME_MAX];

const char *green__hubs_name(struct green__hub *h, green_t *handle) {
  green_hub_t *target;
  req_t *q;
  int err;
  if (!h) return NULL;
  if (!(target = target_of(h, handle, &err)) || !(q = req_new(h, target, OP_NAME, &err))) {
    errno = -err;
    return NULL;
  }
  q->handle = handle;
  if (!(err = req_call(h, q, "green_name"))) memcpy(remote_name, q->name, sizeof remote_name);
  req_unref(q);
  if (err) errno = -err;
  return err ? NULL : remote_name;
}

int green__hubs_watch(struct green__hub *h, green_t *handle, green__watch_t *w) {
  green_hub_t *target;
  req_t *q;
  int err;
  if (!(target = target_of(h, handle, &err)) || !(q = req_new(h, target, OP_WATCH, &err)))
    return err;
  q->handle = handle;
  q->item = w;
  if (!(err = req_call(h, q, "green_iwait_new"))) err = (int)q->value;
  req_unref(q);
  return err;
}

int green__hubs_unwatch(struct green__hub *h, green_t *handle, green__watch_t *w) {
  green_hub_t *target;
  req_t *q;
  int err;
  if (!(target = target_of(h, handle, &err)) || !(q = req_new(h, target, OP_UNWATCH, &err)))
    return err;
  q->item = w;
  err = req_call(h, q, "green_iwait_free");
  req_unref(q);
  return err == -ESRCH ? 0 : err; /* its hub has gone: nothing can tell w any more */
}

int green__hubs_group_add(struct green__hub *h, struct green_group *grp, green_t *handle) {
  green_hub_t *target;
  req_t *q;
  int err;
  if (!(target = target_of(h, handle, &err)) || !(q = req_new(h, target, OP_GROUP_ADD, &err)))
    return err;
  q->handle = handle;
  q->group = grp;
  err = req_call(h, q, "green_group_add");
  req_unref(q);
  return err;
}

/* Wait for a join's answer, as a blocking call until `at`, a kill or the deadline. Then the
 * target is asked to let go. Its answer says whether the join was done meanwhile. */
static int wait_join(struct green__hub *h, req_t *q, double at) {
  int r = 0;
  while (!q->answered && !r) r = green__park(h, GREEN_WAIT_JOIN, NULL, at, 0);
  if (r == GREEN__TIMER) r = -ETIMEDOUT;
  if (!q->answered) {
    req_send(q, &q->cancel); /* fails only once the target is gone: it has answered then */
    while (!q->answered) park_unkillable(h, GREEN_WAIT_JOIN, NULL);
  }
  return q->err == GAVE_UP ? r : q->err;
}

int green__hubs_join(struct green__hub *h, green_t *handle, void **result, double timeout) {
  green_hub_t *target;
  req_t *q;
  double at;
  int err;
  if (!h) return -1;
  if (!(target = target_of(h, handle, &err))) return green__fail(err);
  if ((err = green__timeout_to_at(timeout, &at)) < 0) {
    green__hub_unref(target);
    return green__fail(err);
  }
  if (!(q = req_new(h, target, OP_JOIN, &err))) return green__fail(err);
  q->handle = handle;
  if (!(err = req_send(q, &q->call)) && !(err = wait_join(h, q, at)) && result) *result = q->result;
  req_unref(q);
  return err ? green__fail(err) : 0;
}

/* ---- green_joinall over several hubs ----------------------------------------------------- */

/* A claim request for handle, to its hub (the caller's own included): NULL with *err. */
static req_t *claim_req(struct green__hub *h, green_t *handle, int *err) {
  unsigned n = green__greenlet_hub_number(handle);
  green_hub_t *hb = n ? green__hub_ref_number(n) : NULL;
  req_t *q;
  *err = -ESRCH;
  if (!hb || !(q = req_new(h, hb, OP_CLAIM, err))) return NULL;
  q->handle = handle;
  if ((*err = req_send(q, &q->call))) {
    req_unref(q);
    return NULL;
  }
  return q;
}

static size_t unanswered(req_t **qs, size_t n) {
  size_t i, left = 0;
  for (i = 0; i < n; i++) left += !qs[i]->answered;
  return left;
}

/* Whether a claim has failed already: the joinall fails without waiting for the rest. */
static int some_failed(req_t **qs, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (qs[i]->answered && qs[i]->err) return 1;
  return 0;
}

/* Unless r says to give up at once, wait for every claim's answer until `at`, a kill or the
 * deadline; then cancel the rest and wait for their answers. Returns why it gave up. */
static int wait_claims(struct green__hub *h, req_t **qs, size_t n, double at, int r) {
  size_t i;
  while (!r && unanswered(qs, n) && !some_failed(qs, n))
    r = green__park(h, GREEN_WAIT_JOIN, NULL, at, 0);
  if (r == GREEN__TIMER) r = -ETIMEDOUT;
  for (i = 0; i < n; i++)
    if (!qs[i]->answered) req_send(qs[i], &qs[i]->cancel);
  while (unanswered(qs, n)) park_unkillable(h, GREEN_WAIT_JOIN, NULL);
  return r;
}

/* Send op for each claim that holds its greenlet (answered 0), and wait for the answers. */
static void finish_claims(struct green__hub *h, req_t **qs, size_t n, int op) {
  size_t i;
  for (i = 0; i < n; i++) {
    qs[i]->answered = qs[i]->err != 0; /* nothing to finish for the others */
    qs[i]->op = op;
    if (!qs[i]->answered && req_send(qs[i], &qs[i]->call)) qs[i]->answered = 1; /* hub gone */
  }
  while (unanswered(qs, n)) park_unkillable(h, GREEN_WAIT_JOIN, NULL);
}

/* The first error among the answers (GAVE_UP: the wait's own r), or 0 when all ended. */
static int claims_result(req_t **qs, size_t n, int r) {
  size_t i;
  for (i = 0; i < n; i++)
    if (qs[i]->err) return qs[i]->err == GAVE_UP ? r : qs[i]->err;
  return 0;
}

/* Every greenlet is claimed on its hub by a request. Each is released once all have ended. When
 * one fails (a timeout, a kill, a bad handle), every claimed one is let go again. */
int green__hubs_joinall(struct green__hub *h, green_t **gs, size_t n, double at) {
  req_t **qs = calloc(n ? n : 1, sizeof *qs);
  size_t i, sent = 0;
  int err = qs ? 0 : -ENOMEM, r;
  for (i = 0; i < n && !err; i++) {
    int dummy;
    if (green__greenlet_find(h, gs[i], &dummy) == h->current) err = -EDEADLK;
    else if ((qs[i] = claim_req(h, gs[i], &err))) sent++;
  }
  r = wait_claims(h, qs, sent, at, err);
  if (!err) err = claims_result(qs, sent, r);
  finish_claims(h, qs, sent, err ? OP_UNCLAIM : OP_RELEASE);
  for (i = 0; i < sent; i++) req_unref(qs[i]);
  free(qs);
  return err;
}

green_t *green_spawn_on(green_hub_t *hub, void *(*fn)(void *), void *arg) {
  struct green__hub *h = green__hub_get();
  green_t *g = NULL;
  req_t *q;
  int err;
  if (!h) return NULL;
  if (!hub || !fn) err = -EINVAL;
  else if (green__hub_is(hub, h)) return green_spawn(fn, arg);
  else if ((q = req_new(h, green__hub_hold(hub), OP_SPAWN, &err))) {
    q->fn = fn;
    q->arg = arg;
    if (!(err = req_call(h, q, "green_spawn_on"))) g = q->spawned;
    req_unref(q);
  }
  if (!g) errno = -err;
  return g;
}

/* ---- hubs on threads of their own ------------------------------------------------------- */

/* A hub green_hubs_start made, from its start until green_hub_stop has seen its thread end
 * (or until its thread ends with nobody to stop it). */
typedef struct started {
  green__list_t link;        /* in started_hubs while nobody stops it (started_lock) */
  pthread_t thread;
  green_hub_t *hub;          /* the reference hubs[i] gets */
  int err;                   /* its thread could not make its hub */
  green_hub_t *report_to;    /* the starter's hub, then the stopper's (started_lock) */
  green_t *waiter;           /* the greenlet there that waits for the report */
  int reported;              /* on report_to's hub */
  green__remote_t report;    /* to report_to: the hub is ready (or failed), then it ends */
  green__remote_t stop;      /* to the hub */
  int stopped;               /* on the hub's thread */
} started_t;

static pthread_mutex_t started_lock = PTHREAD_MUTEX_INITIALIZER;
static green__list_t started_hubs = {&started_hubs, &started_hubs};
static __thread started_t *self_started; /* on a started hub's thread */

static int stopping(void) { return self_started && self_started->stopped; }

static void on_report(green__remote_t *r) {
  started_t *s = green__container_of(r, started_t, report);
  s->reported = 1;
  green__wake(green__hub_tls, s->waiter, 0);
}

static void drop_report(green__remote_t *r) { (void)r; /* its waiter's hub has gone */ }

static void on_stop(green__remote_t *r) {
  started_t *s = green__container_of(r, started_t, stop);
  s->stopped = 1;
  green__wake(green__hub_tls, green__hub_tls->main, 0);
}

static void drop_stop(green__remote_t *r) { (void)r; }

static void report(started_t *s) {
  s->report.run = on_report;
  s->report.drop = drop_report;
  green__hub_post(s->report_to, &s->report);
}

/* ---- a started hub waits for its greenlets ---- */

typedef struct end_watch {
  green__watch_t w;
  size_t *left;
  int told;
} end_watch_t;

typedef struct live {
  end_watch_t *watches;
  size_t n, left;
} live_t;

static int is_live(const green_t *g) { return g->slot != GREEN__SLOT_MAIN && g->state != GREEN_DEAD; }

static void count_live(green_t *g, void *arg) { ((live_t *)arg)->n += is_live(g); }

static void on_end(struct green__hub *h, green__watch_t *w) {
  end_watch_t *e = green__container_of(w, end_watch_t, w);
  e->told = 1;
  if (--*e->left == 0) green__wake(h, h->main, 0);
}

static void watch_live(green_t *g, void *arg) {
  live_t *l = arg;
  end_watch_t *e;
  if (!is_live(g)) return;
  e = &l->watches[l->n++];
  e->w.fn = on_end;
  e->left = &l->left;
  green__greenlet_watch(g, &e->w);
}

static void kill_live(green_t *g, void *arg) {
  if (is_live(g)) green__greenlet_kill(arg, g);
}

/* Park main until every greenlet of h has ended, including those they spawn meanwhile. When
 * nothing can wake the rest, they are killed; when that does not end them either, they are
 * left to go with the thread. */
static void wait_greenlets(struct green__hub *h) {
  int killed = 0;
  size_t i;
  for (;;) {
    live_t l = {NULL, 0, 0};
    green__greenlet_each(h, count_live, &l);
    if (!l.n) return;
    if (!(l.watches = calloc(l.n, sizeof *l.watches))) {
      green_sleep(0.01);
      continue;
    }
    l.left = l.n;
    l.n = 0;
    green__greenlet_each(h, watch_live, &l);
    while (l.left && killed < 2)
      if (green__park(h, GREEN_WAIT_JOIN, NULL, INFINITY, 0) == -EDEADLK && !killed++)
        green__greenlet_each(h, kill_live, h);
    for (i = 0; i < l.n; i++)
      if (!l.watches[i].told) green__list_remove(&l.watches[i].w.link);
    free(l.watches);
    if (killed == 2) return;
  }
}

/* The started hub's thread: report, idle until stopped (or until nobody holds a reference:
 * the park fails with EDEADLK), wait for the greenlets, end. */
void (*green__hubs_thread_hook)(void);

static void *hub_thread(void *arg) {
  started_t *s = arg;
  struct green__hub *h;
  int err = -ENOMEM, claimed;
  if (green__hubs_thread_hook) green__hubs_thread_hook();
  h = green__hub_get();
  if (!h || !(s->hub = green__hub_ref(h, &err))) {
    s->err = err;
    report(s);
    return NULL;
  }
  self_started = s;
  report(s);
  while (!s->stopped && green__park(h, GREEN_WAIT_CALL, "green_hub_stop", INFINITY, 0) != -EDEADLK) {
  }
  s->stopped = 1;
  wait_greenlets(h);
  self_started = NULL;
  pthread_mutex_lock(&started_lock);
  claimed = green__list_empty(&s->link); /* a stopper took it out */
  if (!claimed) green__list_remove(&s->link);
  pthread_mutex_unlock(&started_lock);
  if (claimed) { /* the stopper joins the thread, frees s */
    report(s);
  } else {
    pthread_detach(pthread_self());
    green__hub_unref(s->report_to);
    free(s);
  }
  return NULL;
}

/* Wait, unkillable, until each of n reports has come. */
static void wait_reports(struct green__hub *h, started_t **ss, size_t n, const char *what) {
  size_t i = 0;
  while (i < n)
    if (ss[i]->reported) i++;
    else park_unkillable(h, GREEN_WAIT_CALL, what);
}

/* Take s out of the list of started hubs: the caller stops it. Holding started_lock.
 * Returns the reference to give back. */
static green_hub_t *claim_locked(struct green__hub *h, started_t *s, green_hub_t *home) {
  green_hub_t *old = s->report_to;
  green__list_remove(&s->link);
  s->report_to = home;
  s->waiter = h->current;
  s->reported = 0;
  return old;
}

static void claim(struct green__hub *h, started_t *s, green_hub_t *home) {
  green_hub_t *old;
  pthread_mutex_lock(&started_lock);
  old = claim_locked(h, s, home);
  pthread_mutex_unlock(&started_lock);
  green__hub_unref(old);
}

/* Stop a claimed hub, wait for its thread, free s. */
static void stop_claimed(struct green__hub *h, started_t *s) {
  s->stop.run = on_stop;
  s->stop.drop = drop_stop;
  green__hub_post(s->hub, &s->stop); /* fails only once it is on its way out anyway */
  green__hub_unref(s->hub); /* its greenlets parked with nothing to wake them are stuck now */
  wait_reports(h, &s, 1, "green_hub_stop");
  pthread_join(s->thread, NULL);
  green__hub_unref(s->report_to);
  free(s);
}

static started_t *start_one(struct green__hub *h, int *err) {
  started_t *s = calloc(1, sizeof *s);
  if (!s) {
    *err = -ENOMEM;
    return NULL;
  }
  if (!(s->report_to = green__hub_ref(h, err))) {
    free(s);
    return NULL;
  }
  s->waiter = h->current;
  pthread_mutex_lock(&started_lock);
  green__list_push_back(&started_hubs, &s->link);
  pthread_mutex_unlock(&started_lock);
  green__hibernate_restore_all(h); /* hibernate.c: one thread only */
  if ((*err = -pthread_create(&s->thread, NULL, hub_thread, s)) == 0) return s;
  *err = -EAGAIN;
  pthread_mutex_lock(&started_lock);
  green__list_remove(&s->link);
  pthread_mutex_unlock(&started_lock);
  green__hub_unref(s->report_to);
  free(s);
  return NULL;
}

/* The hubs that started are stopped again: one could not be. */
static void undo_start(struct green__hub *h, started_t **ss, size_t n) {
  green_hub_t *home;
  size_t i;
  int err;
  for (i = 0; i < n; i++) {
    if (ss[i]->err) { /* its thread has ended by itself */
      pthread_join(ss[i]->thread, NULL);
      claim(h, ss[i], NULL);
      free(ss[i]);
    } else if ((home = green__hub_ref(h, &err))) {
      claim(h, ss[i], home);
      stop_claimed(h, ss[i]);
    } else { /* no memory left to wait: it ends once nobody holds a reference */
      green__hub_unref(ss[i]->hub);
    }
  }
}

int green_hubs_start(size_t n, green_hub_t **hubs) {
  struct green__hub *h = green__hub_get();
  started_t **ss;
  size_t i, made = 0;
  int err = 0;
  if (!h) return -1;
  if (!n || !hubs) return green__fail(-EINVAL);
  if (n > 1 && h->current == &h->hub) return green__fail(-EPERM);
  if (!(ss = calloc(n, sizeof *ss))) return green__fail(-ENOMEM);
  if (!(hubs[0] = green__hub_ref(h, &err))) {
    free(ss);
    return green__fail(err);
  }
  while (made < n - 1 && (ss[made] = start_one(h, &err))) made++;
  wait_reports(h, ss, made, "green_hubs_start");
  for (i = 0; i < made && !err; i++) err = ss[i]->err;
  if (err) {
    undo_start(h, ss, made);
    green__hub_unref(hubs[0]);
  }
  for (i = 0; i < made && !err; i++) hubs[i + 1] = ss[i]->hub;
  free(ss);
  return err ? green__fail(err) : 0;
}

/* The started hub whose reference hubs[i] is hub, or NULL. Holding started_lock. */
static started_t *find_started(green_hub_t *hub) {
  green__list_t *n;
  for (n = started_hubs.next; n != &started_hubs; n = n->next)
    if (green__container_of(n, started_t, link)->hub == hub)
      return green__container_of(n, started_t, link);
  return NULL;
}

int green_hub_stop(green_hub_t *hub) {
  struct green__hub *h = green__hub_get();
  green_hub_t *home, *old = NULL;
  started_t *s;
  int err = 0;
  if (!h) return -1;
  if (!hub) return green__fail(-EINVAL);
  if (!(home = green__hub_ref(h, &err))) return green__fail(err);
  pthread_mutex_lock(&started_lock);
  if ((s = find_started(hub))) {
    if (green__hub_is(hub, h)) err = -EDEADLK;
    else if (h->current == &h->hub) err = -EPERM;
    else old = claim_locked(h, s, home);
  }
  pthread_mutex_unlock(&started_lock);
  if (!s || err) {
    green__hub_unref(home);
    if (!s) green__hub_unref(hub); /* not one green_hubs_start made: only given back */
    return err ? green__fail(err) : 0;
  }
  green__hub_unref(old);
  stop_claimed(h, s);
  return 0;
}
