/* SPDX-License-Identifier: MIT */
/*
 * Hibernation (hibernate.h).
 *
 * When. A greenlet's first park lists it in its hub's hib_listed (a branch and a list push;
 * parks of a listed greenlet cost one branch). The first listing starts the sweep timer. A
 * sweep runs every half threshold. It drops the greenlets that ran since they were listed,
 * and hibernates those parked longer than the threshold. A pass hibernates at most
 * SWEEP_BATCH, then lets the loop turn: a million due greenlets never stop the hub for
 * seconds. A sweep that leaves the list empty stops the timer. So a hub whose greenlets all
 * hibernated is not woken again.
 *
 * Which. Greenlets parked through green__park (I/O, sleeps, locks, channels, joins), with a
 * default-size stack. Not suspended generators, nor the main or hub greenlets.
 *
 * Where it is safe. Copying out and releasing the pages are two steps: a write by another
 * thread between them would be lost. A restore copies the bytes into fresh zero pages: a
 * read by another thread meanwhile would see zeros. So a sweep hibernates only while the
 * process has one thread, the hub's (counted in /proc/self/task). Before the runtime starts
 * a thread itself (more hubs, the thread pool), it restores every stack. A thread started
 * without libgreen (a program's own, or glibc's timer thread) may still touch a hibernated
 * stack: the fault handler restores it on any thread. But that thread may race the owner's
 * own restore and read zeros. Set GREEN_HIBERNATE_MS=0 for such a program.
 *
 * It also needs the kernel's guard regions (Linux 6.13), the runtime's fault handler in place
 * (not under AddressSanitizer, nor after a program replaced it), and the assembly switch. It
 * is off under ThreadSanitizer and Valgrind.
 */
#include "hibernate.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "overflow.h"
#include "stack.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GREEN_HAVE_VALGRIND 1
#endif
#endif

enum { DEFAULT_MS = 1000 };
enum { SWEEP_BATCH = 256 }; /* hibernations a pass makes: about 1 ms of the hub's time */
#define SWEEP_AGAIN 1e-6    /* seconds to the next pass when a pass left some due */

static green__stack_pool_t *last_pool;   /* of the hub that hibernated a stack last */
static green__stack_pool_t *forked_pool; /* the newest left behind by fork, if hibernated */

/* GREEN_HIBERNATE_MS in seconds: the default when unset or not a count of milliseconds. */
static double threshold(void) {
  const char *s = getenv("GREEN_HIBERNATE_MS");
  char *end;
  long ms;
  if (!s || !*s || (ms = strtol(s, &end, 10)) < 0 || *end) ms = DEFAULT_MS;
  return (double)ms / 1000;
}

/* What this build and machine allow at all. */
static int possible(void) {
#if GREEN_CTX_UCONTEXT || GREEN_HAVE_ASAN || GREEN_HAVE_TSAN
  return 0;
#else
#if GREEN_HAVE_VALGRIND
  if (RUNNING_ON_VALGRIND) return 0;
#endif
  return green__stack_guard_regions();
#endif
}

/* What a sweep needs now: no thread but the hub's, and the runtime's fault handler. */
static int safe_now(void) {
  struct stat st;
  return stat("/proc/self/task", &st) == 0 && st.st_nlink == 3 && green__overflow_has_faults();
}

static void hibernate(struct green__hub *h, green_t *g) {
#if GREEN_CTX_UCONTEXT
  (void)h, (void)g;
#else
  if (green__stack_hibernate(&h->stacks, g->stack, g->ctx.sp) == 0) {
    g->flags |= GREEN__HIBERNATED;
    h->hibernations++;
    __atomic_store_n(&last_pool, &h->stacks, __ATOMIC_RELEASE);
  }
#endif
}

/* Make n the first of list l, the ones before it the last: the next pass starts at n. */
static void rotate_to(green__list_t *l, green__list_t *n) {
  if (l->next == n) return;
  green__list_remove(l);
  l->prev = n->prev;
  l->next = n;
  n->prev->next = l;
  n->prev = l;
}

static void sweep(struct ev_loop *loop, ev_timer *w, int revents) {
  struct green__hub *h = green__container_of(w, struct green__hub, hib_sweep);
  double now = green__coarse_now();
  green__list_t *n, *next;
  int safe = -1, done = 0; /* safe: asked at the first greenlet due */
  (void)revents;
  for (n = h->hib_listed.next; n != &h->hib_listed && done < SWEEP_BATCH; n = next) {
    green_t *g = green__container_of(n, green_t, hib_link);
    next = n->next;
    if (g->state == GREEN_BLOCKED && now - g->wait_since < h->hib_after) continue;
    green__list_remove(n);
    if (g->state != GREEN_BLOCKED) continue; /* listed again at its next park */
    if (safe < 0) safe = safe_now();
    if (safe) hibernate(h, g), done++;
  }
  if (green__list_empty(&h->hib_listed)) {
    ev_timer_stop(loop, w);
    return;
  }
  w->repeat = h->hib_after / 2;
  if (n != &h->hib_listed) { /* more may be due: the next pass at the loop's next turn */
    rotate_to(&h->hib_listed, n);
    w->repeat = SWEEP_AGAIN;
  }
  ev_timer_again(loop, w);
}

void green__hibernate_init(struct green__hub *h) {
  green__list_init(&h->hib_listed);
  ev_timer_init(&h->hib_sweep, sweep, 0., 0.);
  h->hib_after = possible() ? threshold() : 0;
}

void green__hibernate_stop(struct green__hub *h) {
  green__stack_pool_t *mine = &h->stacks;
  ev_timer_stop(h->loop, &h->hib_sweep);
  __atomic_compare_exchange_n(&last_pool, &mine, NULL, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

void green__hibernate_list(struct green__hub *h, green_t *g) {
  if (h->hib_after <= 0 || !g->stack || !g->stack->slab) {
    g->hib_link.next = g->hib_link.prev = NULL;
    return;
  }
  green__list_push_back(&h->hib_listed, &g->hib_link);
  if (ev_is_active(&h->hib_sweep)) return;
  ev_timer_set(&h->hib_sweep, h->hib_after, h->hib_after / 2);
  ev_timer_start(h->loop, &h->hib_sweep);
}

void green__hibernate_wake(struct green__hub *h, green_t *g) {
  green__stack_wake(&h->stacks, g->stack);
  g->flags &= ~GREEN__HIBERNATED;
  h->restores++;
}

static void restore_one(green_t *g, void *arg) {
  (void)arg;
  if (g->flags & GREEN__HIBERNATED) green__stack_restore(g->stack);
}

/* addr in a hibernated stack of p (not NULL), restored now. */
static int restored_in(green__stack_pool_t *p, const void *addr) {
  return p && green__stack_fault(p, addr);
}

int green__hibernate_fault(const void *addr) {
  struct green__hub *h = green__hub_tls;
  green__stack_pool_t *last = __atomic_load_n(&last_pool, __ATOMIC_ACQUIRE);
  if (h && restored_in(&h->stacks, addr)) return 1;
  /* A thread the runtime did not start (glibc's timer thread, say) may touch a stack that
   * hibernated before it existed. Its hub is the last to hibernate: stacks hibernate only
   * while the process has one thread. */
  if (last && (!h || last != &h->stacks) && restored_in(last, addr)) return 1;
  return restored_in(forked_pool, addr);
}

void green__hibernate_forked(struct green__hub *h) {
  if (h->stacks.hibernated) forked_pool = &h->stacks;
}

void green__hibernate_restore_all(struct green__hub *h) {
  if (h && h->stacks.hibernated) green__greenlet_each(h, restore_one, NULL);
}
