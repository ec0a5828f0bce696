/* SPDX-License-Identifier: MIT */
/*
 * Deadlocks across hubs (deadlock.h).
 *
 * While more than one hub exists, a wait on a shared object may be ended by another hub. A
 * reference to a hub's handle means a message may still come. So a hub alone cannot tell a
 * deadlock from a wait. Each hub says when it sleeps with nothing of its own that can wake it
 * (stuck). Its loop's next wake-up, whatever woke it, says it no longer is. An ev_check at the
 * highest priority does this, before any callback of that iteration runs. The hub that makes
 * every hub stuck checks, in this order:
 *   gen, stuck == hubs, no message in flight, the process's threads are the hubs', gen again.
 * gen counts the hubs' wake-ups. A hub leaves "stuck" before the messages that woke it run, and
 * a message counts as in flight until it has run. So if gen did not move, every hub was stuck
 * the whole time, and at the moment none was in flight. No other thread exists that could post
 * one, and a stuck hub's thread runs nothing until a message comes. From then on nothing can
 * ever run again: that is the deadlock. False reports are worse than late ones: a thread that is
 * not a hub's (a thread pool worker, the program's own) may still post, so none may exist.
 *
 * The hub that finds it sends one message around every hub, twice. The first time, each hub
 * writes its section of the report (GREEN_DEBUG), in turn. The second time, each fails its main
 * greenlet's wait with EDEADLK, as one hub does alone. A main greenlet parked for an answer
 * from another hub (a remote call, a started hub idling until it is stopped) ignores it, so it
 * is left alone. When no hub had a wait to fail, the deadlock is final and is not looked for
 * again.
 */
#include "deadlock.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"
#include "hub.h"
#include "internal.h"
#include "ownfd.h"
#include "remote.h"
#include "threadsafe.h"
#include "wait.h"

size_t green__deadlock_inflight;
static size_t nstuck;         /* hubs stuck now */
static unsigned long gen;     /* wake-ups of stuck hubs */
static int verdict_busy;      /* a round is on its way round the hubs */
static int hopeless;          /* a round found no wait to fail: it stays so */

/* The calling thread's hub's part. */
static __thread struct {
  struct green__hub *hub;
  int stuck;
  ev_check woke;
  green__hub_teardown_t teardown;
} self;

/* ---- stuck or not ------------------------------------------------------------------------ */

static void unstick(struct ev_loop *loop) {
  ev_ref(loop);
  ev_check_stop(loop, &self.woke);
  self.stuck = 0;
  __atomic_sub_fetch(&nstuck, 1, __ATOMIC_SEQ_CST); /* before gen: see the top comment */
  __atomic_add_fetch(&gen, 1, __ATOMIC_SEQ_CST);
}

static void on_woke(struct ev_loop *loop, ev_check *w, int revents) {
  (void)w, (void)revents;
  if (self.stuck) unstick(loop);
}

static void forget(struct green__hub *h, green__hub_teardown_t *t) {
  (void)t;
  if (self.stuck) unstick(h->loop);
  self.hub = NULL;
}

static void after_fork_child(void) {
  memset(&self, 0, sizeof self); /* the hub was the parent's */
  nstuck = 0;
  green__deadlock_inflight = 0;
  gen = 0;
  verdict_busy = 0;
}

static void set_up_process(void) { pthread_atfork(NULL, NULL, after_fork_child); }

static void stick(struct green__hub *h) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  if (self.hub != h) {
    pthread_once(&once, set_up_process);
    self.hub = h;
    self.stuck = 0;
    ev_check_init(&self.woke, on_woke);
    ev_set_priority(&self.woke, EV_MAXPRI);
    green__hub_on_destroy(h, &self.teardown, forget);
  }
  if (self.stuck) return;
  self.stuck = 1;
  ev_check_start(h->loop, &self.woke);
  ev_unref(h->loop); /* it keeps no poll from blocking */
  __atomic_add_fetch(&nstuck, 1, __ATOMIC_SEQ_CST);
}

/* ---- is it a deadlock? --------------------------------------------------------------------- */

/* The process's OS threads, from /proc/self/stat (num_threads, field 20); 0 when unknown. */
static long count_threads(void) {
  char buf[1024], *p;
  ssize_t n;
  int fd, field;
  green__ownfd_depth++;
  fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (fd >= 0) close(fd);
  green__ownfd_depth--;
  if (n <= 0) return 0;
  buf[n] = '\0';
  if (!(p = strrchr(buf, ')'))) return 0;
  for (field = 2; field < 20 && p; field++) p = strchr(p + 1, ' ');
  return p ? strtol(p + 1, NULL, 10) : 0;
}

/* Whether the threads are the hubs' own. ThreadSanitizer runs a thread of its own. */
static int only_hub_threads(size_t hubs) {
  long threads = count_threads();
#if GREEN_HAVE_TSAN
  if (threads == (long)hubs + 1) return 1;
#endif
  return threads == (long)hubs;
}

static int nothing_in_flight(void) {
  return __atomic_load_n(&green__deadlock_inflight, __ATOMIC_SEQ_CST) == 0;
}

static int all_stuck(size_t *hubs) {
  *hubs = __atomic_load_n(&green__nhubs, __ATOMIC_SEQ_CST);
  return __atomic_load_n(&nstuck, __ATOMIC_SEQ_CST) == *hubs;
}

static int is_deadlock(void) {
  unsigned long before = __atomic_load_n(&gen, __ATOMIC_SEQ_CST);
  size_t hubs;
  return all_stuck(&hubs) && nothing_in_flight() && only_hub_threads(hubs) && nothing_in_flight() &&
         __atomic_load_n(&gen, __ATOMIC_SEQ_CST) == before;
}

/* ---- the round: report, then resolve -------------------------------------------------------- */

enum { REPORT, RESOLVE };

typedef struct round {
  green__remote_t remote;
  int phase;
  int report;       /* GREEN_DEBUG: write the report */
  size_t woken;     /* main greenlets whose wait failed */
  size_t i, n;
  green_hub_t *hubs[];
} round_t;

/* Fail h's main greenlet's wait, as hub.c does for one hub. Whether it did. */
static int resolve(struct green__hub *h) {
  green_t *g = h->main;
  while (g->resumed) g = g->resumed;
  if (g->state != GREEN_BLOCKED || (g->flags & GREEN__GEN_WAIT) || g->wait_kind == GREEN_WAIT_CALL)
    return 0;
  green__wake(h, g, -EDEADLK);
  return g->state == GREEN_READY;
}

static void finish(round_t *r) {
  size_t i;
  if (!r->woken) __atomic_store_n(&hopeless, 1, __ATOMIC_SEQ_CST);
  for (i = 0; i < r->n; i++) green__hub_unref(r->hubs[i]);
  free(r);
  __atomic_store_n(&verdict_busy, 0, __ATOMIC_SEQ_CST);
}

/* Send r to the next hub that is still there, the first again for the second pass. */
static void advance(round_t *r) {
  for (;;) {
    if (r->i == r->n && r->phase == REPORT) {
      if (r->report) green__dump_hubs_deadlock_end();
      r->phase = RESOLVE;
      r->i = 0;
    }
    if (r->i == r->n) {
      finish(r);
      return;
    }
    if (green__hub_post(r->hubs[r->i], &r->remote) == 0) return;
    r->i++;
  }
}

static void on_round(green__remote_t *m) {
  round_t *r = green__container_of(m, round_t, remote);
  struct green__hub *h = green__hub_tls;
  if (r->phase == REPORT && r->report) green__dump_hubs_deadlock_section(h);
  if (r->phase == RESOLVE) r->woken += (size_t)resolve(h);
  r->i++;
  advance(r);
}

static void on_round_dropped(green__remote_t *m) { /* that hub has exited meanwhile */
  round_t *r = green__container_of(m, round_t, remote);
  r->i++;
  advance(r);
}

/* Every hub with a handle, held. */
static round_t *new_round(size_t hubs) {
  round_t *r = calloc(1, sizeof *r + hubs * sizeof r->hubs[0]);
  green__list_t *n;
  if (!r) return NULL;
  green__hubs_lock();
  for (n = green__hubs.next; n != &green__hubs && r->n < hubs; n = n->next) {
    struct green__hub *h = green__container_of(n, struct green__hub, all_link);
    if (h->handle) r->hubs[r->n++] = green__hub_hold(h->handle);
  }
  green__hubs_unlock();
  r->remote.run = on_round;
  r->remote.drop = on_round_dropped;
  return r;
}

static void start_round(void) {
  size_t hubs = __atomic_load_n(&green__nhubs, __ATOMIC_SEQ_CST);
  round_t *r = new_round(hubs);
  if (!r) {
    __atomic_store_n(&verdict_busy, 0, __ATOMIC_SEQ_CST);
    return;
  }
  r->report = green__dump_hubs_deadlock_begin(r->n);
  advance(r);
}

void green__deadlock_stuck(struct green__hub *h) {
  int idle = 0;
  if (!h->handle) return; /* nobody could post to it: it does not count */
  stick(h);
  if (__atomic_load_n(&hopeless, __ATOMIC_SEQ_CST) || __atomic_load_n(&verdict_busy, __ATOMIC_SEQ_CST))
    return;
  if (!is_deadlock() || !__atomic_compare_exchange_n(&verdict_busy, &idle, 1, 0, __ATOMIC_SEQ_CST,
                                                      __ATOMIC_SEQ_CST))
    return;
  start_round();
}
