/* SPDX-License-Identifier: MIT */
/*
 * The hub: scheduler and libev loop of one OS thread.
 *
 * Scheduling: a greenlet that parks or yields hands the CPU straight to the next one in the
 * ready queue. There is no round trip through the hub. The hub greenlet runs only when the
 * queue is empty. It blocks in ev_run until a watcher fires. The callbacks, always on the hub's
 * own stack, move woken greenlets to the ready queue. Greenlets yielding to each other must not
 * starve I/O. So every 256th dispatch checks a coarse clock. It goes through the hub for a
 * non-blocking poll if 2 ms have passed since the last poll. Every greenlet that was ready
 * after that poll must also have had its turn. Polling in the middle of such a round would
 * only make epoll report again the fds whose greenlets are still queued.
 */
#include "hub.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "deadlock.h"
#include "dump.h"
#include "hibernate.h"
#include "local.h"
#include "overflow.h"
#include "ownfd.h"
#include "threadsafe.h"
#include "tick.h"
#include "wait.h"

#define POLL_EVERY 256         /* dispatches between clock checks; a power of two */
#define POLL_INTERVAL 0.002    /* seconds of dispatching without a poll before forcing one */
#define SPIN_MAX 50e-6         /* the longest spin for another hub's call before sleeping */
#define SPIN_MIN 2e-6          /* spins shorter than this stop until SPIN_RETRY idle polls */
#define SPIN_RETRY 16

__thread struct green__hub *green__hub_tls __attribute__((tls_model("initial-exec")));
static __thread green_t main_greenlet; /* general-dynamic: a dlopened libgreen.so may use it */
static pthread_key_t hub_key;
/* What the forking greenlet carries into the child's fresh hub (green__hub_fork_child). */
static __thread struct green__locals *fork_locals;
static __thread char fork_name[GREEN_NAME_MAX];
static pthread_once_t hub_key_once = PTHREAD_ONCE_INIT;

#define ID_BATCH 256
static uint64_t ids_taken = 1; /* ids handed out to hubs; 0 stays the hub greenlets' */
green__list_t green__hubs = {&green__hubs, &green__hubs};
size_t green__nhubs;
static pthread_mutex_t hubs_mutex = PTHREAD_MUTEX_INITIALIZER;

void green__hubs_lock(void) { pthread_mutex_lock(&hubs_mutex); }
void green__hubs_unlock(void) { pthread_mutex_unlock(&hubs_mutex); }
int green__hubs_trylock(void) { return pthread_mutex_trylock(&hubs_mutex) == 0; }

uint64_t green__hub_take_ids(struct green__hub *h) {
  h->next_id = __atomic_fetch_add(&ids_taken, ID_BATCH, __ATOMIC_RELAXED);
  h->ids_left = ID_BATCH - 1;
  return h->next_id++;
}

/* Hubs by number, so that a handle finds its hub from any thread. Numbers are handed out
 * round the table, so one is reused as late as can be (a stale handle misses anyway). */
static struct green__hub *numbered[GREEN__HUB_NUMBERS];
static unsigned number_next = 1;

struct green__hub *green__hubs_numbered(unsigned number) {
  return number && number < GREEN__HUB_NUMBERS ? numbered[number] : NULL;
}

static void take_number(struct green__hub *h) {
  unsigned i, n;
  green__hubs_lock();
  for (i = 1; i < GREEN__HUB_NUMBERS && !h->number; i++) {
    n = (number_next + i - 2) % (GREEN__HUB_NUMBERS - 1) + 1;
    if (!numbered[n]) {
      numbered[n] = h;
      h->number = n;
      number_next = n % (GREEN__HUB_NUMBERS - 1) + 1;
    }
  }
  green__hubs_unlock();
}

static void hubs_add(struct green__hub *h) {
  static uint32_t serial;
  green__hubs_lock();
  h->home_id = ++serial << 2; /* past the flag bits of a home word (share.h) */
  green__list_push_back(&green__hubs, &h->all_link);
  __atomic_store_n(&green__nhubs, green__nhubs + 1, __ATOMIC_RELAXED);
  green__hubs_unlock();
}

/* fork: the child starts with no hub. The forking thread's hub is forgotten (see
 * green__hub_fork_child): its parked greenlets are the parent's, and so is its epoll
 * instance. The thread's next call makes a fresh hub. */
static void hubs_before_fork(void) { green__hubs_lock(); }
static void hubs_after_fork_parent(void) { green__hubs_unlock(); }
static void hubs_after_fork_child(void) {
  green__list_init(&green__hubs);
  green__nhubs = 0;
  memset(numbered, 0, sizeof numbered);
  pthread_mutex_init(&hubs_mutex, NULL);
  green__hub_fork_child();
}

static void hubs_remove(struct green__hub *h) {
  green__hubs_lock();
  green__list_remove(&h->all_link);
  __atomic_store_n(&green__nhubs, green__nhubs - 1, __ATOMIC_RELAXED);
  if (h->number) numbered[h->number] = NULL;
  green__hubs_unlock();
}

void green__fatal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("libgreen: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

/* The OS thread's signal mask becomes `mask` (the kernel's 64-bit set), but for SIGSEGV and
 * SIGBUS. A green thread that blocks all signals may still touch a hibernated stack: its fault
 * must reach the runtime's handler (hibernate.c). A blocked fault kills the process. */
__attribute__((noinline, cold)) void green__hub_apply_sigmask(uint64_t mask) {
  mask &= ~((1ull << (SIGSEGV - 1)) | (1ull << (SIGBUS - 1)));
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, sizeof mask);
}

/* `to` runs with its own signal mask from the switch on. glibc's swapcontext saves and
 * restores a mask per context by itself. Where a layer on top keeps the masks, the context
 * gets the greenlet's word (the hub's changes while it is switched out). */
static inline void switch_sigmask(struct green__hub *h, green_t *from, green_t *to) {
#if GREEN_CTX_UCONTEXT
  (void)from;
  if (h->sigmasks) memcpy(&to->ctx.uc.uc_sigmask, &to->sigmask, sizeof to->sigmask);
#else
  (void)h;
  if (green__unlikely(from->sigmask != to->sigmask)) green__hub_apply_sigmask(to->sigmask);
#endif
}

/* The rare work of a switch: `from`'s canary, `to`'s hibernated stack. */
__attribute__((noinline, cold)) static void switch_rare(struct green__hub *h, green_t *from,
                                                        green_t *to) {
  if (from->flags & GREEN__CANARY) green__overflow_check(from);
  if (to->flags & GREEN__HIBERNATED) green__hibernate_wake(h, to);
}

/* Switch from the running greenlet to `to`; returns when someone switches back to `from`. */
static void switch_to(struct green__hub *h, green_t *from, green_t *to) {
  if (green__unlikely((from->flags & GREEN__CANARY) | (to->flags & GREEN__HIBERNATED)))
    switch_rare(h, from, to);
  switch_sigmask(h, from, to);
  h->current = to;
  to->state = GREEN_RUNNING;
  h->switches++;
  from->saved_errno = *h->errnop;
  green__stack_switch_begin(from->state == GREEN_DEAD ? NULL : &from->asan_fake_stack,
                            to->stack_lo, to->stack_size, to->tsan_fiber);
  green__ctx_switch(&from->ctx, &to->ctx);
  green__stack_switch_end(from->asan_fake_stack);
  *h->errnop = from->saved_errno;
  if (green__unlikely(from->threadvars != NULL) && h->threadvars_owner != from)
    green__threadvars_switch(h, from);
}

void (*green__threadvars_switch)(struct green__hub *h, green_t *g);

void green__hub_switch(struct green__hub *h, green_t *to) { switch_to(h, h->current, to); }

void green__hub_preempt(struct green__hub *h) {
  green_t *self = h->current;
  h->yield_due = 0;
  if (self == &h->hub || self->state != GREEN_RUNNING) return;
  h->preemptions++;
  self->state = GREEN_READY;
  h->requeue = self;
  switch_to(h, self, &h->hub);
}

static green_t *pop_ready(struct green__hub *h) {
  green__list_t *n = green__list_pop_front(&h->ready);
  if (!n) return NULL;
  h->nready--;
  if (h->round_left) h->round_left--;
  return green__container_of(n, green_t, run_link);
}

static int poll_due(struct green__hub *h) {
  if (green__likely(++h->dispatches & (POLL_EVERY - 1))) return 0;
  return h->round_left == 0 && green__coarse_now() - h->last_poll >= POLL_INTERVAL;
}

void green__hub_schedule(struct green__hub *h) {
  green_t *self = h->current;
  green_t *next = (!green__list_empty(&h->ready) && !poll_due(h)) ? pop_ready(h) : &h->hub;
  if (next == self) {
    self->state = GREEN_RUNNING;
    return;
  }
  switch_to(h, self, next);
}

/* Every greenlet is parked and nothing the loop watches can wake any of them. Fail the main
 * greenlet's blocking call with EDEADLK. Go would panic; gevent raises LoopExit in main. */
static void report_deadlock(struct green__hub *h) {
  green_t *g = h->main;
  while (g->resumed) g = g->resumed; /* main waits for a generator: fail the generator's call */
  green__dump_deadlock(h);
  if (g->state != GREEN_BLOCKED || (g->flags & GREEN__GEN_WAIT))
    green__fatal("deadlock: every greenlet is parked and nothing can wake them");
  green__wake(h, g, -EDEADLK);
}

/* Whether a poll can still wake a greenlet. It can when one waits on an fd or a timer, or a
 * timed call is pending. It can also when another thread may call in (threadsafe.c), or when
 * one waits on an object that greenlets of another hub may use. With several hubs, only these
 * last two may be left: the hub is stuck, and when every hub is, deadlock.c reports it. */
static int can_wake(struct green__hub *h) {
  int hubs = __atomic_load_n(&green__nhubs, __ATOMIC_RELAXED) > 1;
  if (h->nloop_waits || h->calls.nheap) return 1;
  if (!green__threadsafe_busy(h) && !(h->nhome_waits && hubs)) return 0;
  if (hubs) green__deadlock_stuck(h);
  return 1;
}

/* Before an idle poll, while another hub may hand one of h's greenlets an object: spin a
 * little for its call, and run it. A hand-off that comes meanwhile costs no wake-up of a
 * sleeping thread, and its sender no write. The spin doubles while calls come in time and
 * halves while they do not. Below SPIN_MIN it stops, and is tried again after SPIN_RETRY
 * idle polls. */
static int spin_for_call(struct green__hub *h) {
  if (!h->nhome_waits || __atomic_load_n(&green__nhubs, __ATOMIC_RELAXED) < 2) return 0;
  if (h->spin == 0) {
    if (++h->spin_skips < SPIN_RETRY) return 0;
    h->spin_skips = 0;
    h->spin = SPIN_MIN;
  }
  if (green__threadsafe_spin(h, h->spin)) {
    h->spin = fmin(h->spin * 2, SPIN_MAX);
    return 1;
  }
  h->spin = h->spin / 2 < SPIN_MIN ? 0 : h->spin / 2;
  return 0;
}

static void poll_loop(struct green__hub *h) {
  double away = green__coarse_now() - h->last_poll;
  if (away > h->longest_away) h->longest_away = away;
  if (!green__list_empty(&h->ready) || !green__list_empty(&h->calls.soon) || h->requeue) {
    ev_run(h->loop, EVRUN_NOWAIT);
  } else if (spin_for_call(h)) { /* before can_wake, which may mark h stuck (deadlock.c) */
    /* Its calls made greenlets ready. They run first while the last poll is recent. */
    if (green__coarse_now() - h->last_poll < POLL_INTERVAL) return;
    ev_run(h->loop, EVRUN_NOWAIT);
  } else if (!can_wake(h)) {
    report_deadlock(h);
  } else {
    green__stack_trim(&h->stacks);
    green__hub_publish_runnable(h); /* none, while it sleeps */
    h->idle_poll = 1;
    green__tick_sleep(h);
    ev_run(h->loop, EVRUN_ONCE);
    h->idle_poll = 0;
  }
  h->polls++;
  h->dispatches = 0;
  h->last_poll = green__coarse_now();
  h->round_left = h->nready;
  green__tick_polled(h);
}

/* The hub greenlet: poll, run the soon calls, then hand the CPU to the first ready greenlet.
 * Runs forever. It may be let in through the ready queue only to run soon calls: it is then
 * out of the queue and calls wait. In that case it polls only if the last poll is
 * POLL_INTERVAL old. So callbacks that keep scheduling callbacks cannot starve I/O either. */
static void hub_main(void *arg) {
  struct green__hub *h = arg;
  green__stack_switch_end(NULL);
  for (;;) {
    green_t *next;
    int for_calls = green__list_empty(&h->hub.run_link) && !green__list_empty(&h->calls.soon);
    if (!for_calls || green__coarse_now() - h->last_poll >= POLL_INTERVAL || h->requeue) poll_loop(h);
    if (h->requeue) {
      green__hub_push_ready(h, h->requeue);
      h->requeue = NULL;
    }
    green__hub_publish_runnable(h); /* what this round will run */
    green__hub_unqueue_self(h);
    green__calls_run_soon(h);
    if (!green__list_empty(&h->calls.soon)) green__hub_push_ready(h, &h->hub); /* next round */
    if ((next = pop_ready(h)) && next != &h->hub) switch_to(h, &h->hub, next);
  }
}

static void init_system_greenlet(struct green__hub *h, green_t *g) {
  g->hub = h;
  g->magic = GREEN__MAGIC;
  g->state = GREEN_RUNNING;
  g->deadline = INFINITY;
  green__list_init(&g->run_link);
  green__list_init(&g->wait_link);
  green__greenlet_init_handle(g);
}

#if GREEN_HAVE_ASAN
static void main_stack_bounds(green_t *g) {
  pthread_attr_t attr;
  void *lo;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
    g->stack_lo = lo;
    g->stack_size = size;
  }
  pthread_attr_destroy(&attr);
}
#endif

void green__hub_on_destroy(struct green__hub *h, green__hub_teardown_t *t,
                           void (*fn)(struct green__hub *h, green__hub_teardown_t *t)) {
  t->fn = fn;
  green__list_push_front(&h->teardowns, &t->link);
}

/* Each node leaves the list before it runs: fn may free it, or add another. */
static void run_teardowns(struct green__hub *h) {
  green__list_t *n;
  while ((n = green__list_pop_front(&h->teardowns))) {
    green__hub_teardown_t *t = green__container_of(n, green__hub_teardown_t, link);
    t->fn(h, t);
  }
}

static void abandon_wait(green_t *g, void *h) { green__wait_abandon(h, g); }

static void hub_destroy(void *arg) {
  struct green__hub *h = arg;
  run_teardowns(h); /* the hub is still whole */
  green__greenlet_each(h, abandon_wait, h); /* other hubs may still use their objects */
  hubs_remove(h); /* takers of its objects wait out its uses while it is listed */
  green__tick_stop(h);
  green__threadsafe_exit(h); /* other threads' calls are refused from here on */
  if (h->main->locals) green__local_end(h->main); /* the thread's own greenlet ends here */
  run_teardowns(h); /* what its destructors set up again */
  green__calls_destroy(h);
  green__hibernate_stop(h);
  green__greenlet_free_all(h);
  green__fdtab_destroy(h);
  green__ownfd_depth++;
  ev_loop_destroy(h->loop);
  green__ownfd_depth--;
  green__stack_fiber_free(h->hub.tsan_fiber);
  green__stack_pool_destroy(&h->stacks);
  green__overflow_hub_stop(h);
  if (green__hub_tls == h) green__hub_tls = NULL;
  free(h);
}

/* What every hub shares, set up by the first one: several threads may make their first hubs
 * at once. */
static void set_up_process(void) {
  pthread_key_create(&hub_key, hub_destroy);
  pthread_atfork(hubs_before_fork, hubs_after_fork_parent, hubs_after_fork_child);
  green__tick_configure_from_env();
  green__dump_configure_from_env();
}

/* Give h its handle (green_hub_t) from the start: other hubs reach it through that, to spawn,
 * join or hand it an object. It holds the hub's own reference. Made now, its eventfd is
 * there before a program counts its fds. */
static int make_reachable(struct green__hub *h) {
  int err;
  green_hub_t *hb = green__hub_ref(h, &err);
  if (!hb) return err;
  green__hub_unref(hb);
  return 0;
}

static int start_hub_greenlet(struct green__hub *h) {
  int err;
  green_t *g = &h->hub;
  init_system_greenlet(h, g);
  g->slot = GREEN__SLOT_HUB;
  g->stack = green__stack_acquire(&h->stacks, 0, &err);
  if (!g->stack) return err;
  g->stack_lo = g->stack->lo;
  g->stack_size = g->stack->size;
  g->tsan_fiber = green__stack_fiber_new();
  green__overflow_arm(g);
  green__ctx_make(&g->ctx, g->stack->lo, g->stack->size, hub_main, h);
  return 0;
}

/* In the child of fork, the greenlet that forked is the new hub's main greenlet. It keeps its
 * local values and its name. */
static void adopt_forking_greenlet(green_t *g) {
  g->locals = fork_locals;
  fork_locals = NULL;
  memcpy(g->name, fork_name, sizeof g->name);
  fork_name[0] = '\0';
}

static struct green__hub *hub_create(void) {
  struct green__hub *h = calloc(1, sizeof *h);
  if (!h) goto nomem;
  green__list_init(&h->ready);
  green__list_init(&h->free_handles);
  green__list_init(&h->teardowns);
  green__stack_pool_init(&h->stacks);
  green__fdtab_init(&h->fds);
  green__ownfd_depth++; /* its epoll fd and any fd libev makes are the runtime's (ownfd.h) */
  h->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
  green__ownfd_depth--;
  if (!h->loop) goto nomem;
  ev_set_userdata(h->loop, h);
  green__calls_init(h);
  green__hibernate_init(h);
  h->spin = SPIN_MAX;
  h->errnop = &errno;
  h->main = &main_greenlet;
  memset(h->main, 0, sizeof *h->main); /* a forked child's record was its parent's */
  init_system_greenlet(h, h->main);
  h->main->slot = GREEN__SLOT_MAIN;
  adopt_forking_greenlet(h->main);
  h->main->tsan_fiber = green__stack_fiber_current();
#if GREEN_HAVE_ASAN
  main_stack_bounds(h->main);
#endif
  if (start_hub_greenlet(h) < 0 || make_reachable(h) < 0) goto nomem;
  green__overflow_hub_start(h);
  take_number(h);
  h->main->id = green__hub_new_id(h);
  h->main->handle = green__greenlet_make_handle(h->number, h->main->id, GREEN__SLOT_MAIN);
  h->hub.handle = green__greenlet_make_handle(h->number, h->main->id, GREEN__SLOT_HUB);
  h->tid = (pid_t)syscall(SYS_gettid);
  h->current = h->main;
  h->last_poll = green__coarse_now();
  pthread_once(&hub_key_once, set_up_process);
  pthread_setspecific(hub_key, h);
  green__hub_tls = h;
  hubs_add(h);
  green__tick_start(h); /* a hub works without its timers */
  return h;
nomem:
  green__ownfd_depth++;
  if (h && h->loop) ev_loop_destroy(h->loop);
  green__ownfd_depth--;
  if (h) green__stack_pool_destroy(&h->stacks);
  free(h);
  errno = ENOMEM;
  return NULL;
}

struct green__hub *green__hub_peek(void) { return green__hub_tls; }

green_t *green__hub_main_greenlet(void) { return &main_greenlet; }

struct green__hub *green__hub_get(void) {
  return green__likely(green__hub_tls != NULL) ? green__hub_tls : hub_create();
}

void green__hub_fork_child(void) {
  struct green__hub *h = green__hub_tls;
  if (!h) return;
  green__tick_forget(h); /* its timers were the parent's: the child has none */
  green__hibernate_forked(h);
  fork_locals = h->current->locals; /* the parent's hub is never freed here: no double free */
  h->current->locals = NULL;
  memcpy(fork_name, h->current->name, sizeof fork_name);
  green__ownfd_depth++;
  ev_loop_destroy(h->loop); /* its epoll fd is the parent's epoll instance */
  green__ownfd_depth--;
  green__hub_tls = NULL;
  pthread_setspecific(hub_key, NULL); /* no destructor for the parent's hub at thread exit */
}

/* A live greenlet's stack of its own size is in no slab of the pool: count it apart. */
static void add_lone_stack(green_t *g, void *arg) {
  if (g->stack && !g->stack->slab) *(size_t *)arg += green__stack_resident(g->stack);
}

int green_stats(green_stats_t *st) {
  struct green__hub *h = green__hub_get();
  if (!h) return -1;
  if (!st) return green__fail(-EINVAL);
  memset(st, 0, sizeof *st);
  st->greenlets = h->ngreenlets;
  st->greenlets_peak = h->peak;
  st->ready = h->nready - !green__list_empty(&h->hub.run_link); /* not the hub itself */
  st->blocked = h->nblocked;
  st->fds = h->fds.active;
  st->stacks_in_use = h->stacks.in_use - 1; /* the hub's own stack is not a greenlet's */
  st->stacks_pooled = h->stacks.nhot;
  st->stacks_guarded = h->stacks.guarded;
  st->stacks_unguarded = h->stacks.unguarded;
  st->stack_bytes_reserved = h->stacks.mapped;
  st->stack_bytes_committed = green__stack_pool_resident(&h->stacks);
  green__greenlet_each(h, add_lone_stack, &st->stack_bytes_committed);
  st->spawns = h->spawns;
  st->switches = h->switches;
  st->preemptions = h->preemptions;
  memcpy(st->parks, h->parks, sizeof st->parks);
  st->polls = h->polls;
  st->longest_away = h->longest_away;
  st->stacks_hibernated = h->stacks.hibernated;
  st->hibernated_bytes = h->stacks.hibernated_bytes;
  st->hibernations = h->hibernations;
  st->restores = h->restores;
  return 0;
}
