/* SPDX-License-Identifier: MIT */
/*
 * futex(2) for green threads, reached through syscall(SYS_futex, ...) (syscall.c).
 *
 * In green mode a FUTEX_WAIT of a green thread first compares *uaddr with val as the kernel
 * does (EAGAIN when they differ). Then it parks the thread in the table. The table is a hash
 * of addresses to FIFO wait queues; the records live on the waiters' stacks. It is one for
 * every hub. A green FUTEX_WAKE on any hub's thread takes waiters out in order. It hands each
 * its wake on its own hub. This follows share.h's waiter protocol, with one lock for the
 * table. REQUEUE and CMP_REQUEUE move green waiters to the other address's queue. WAKE_OP
 * applies its operation with a compare-and-swap and wakes both queues by its rule. Bitsets
 * match as the kernel's.
 *
 * Nothing is lost between the table and the kernel:
 *  - Waits made in the kernel through syscall() are counted. They come from an OS thread
 *    the shim does not run green, a signal handler, or native mode. A green wake that has
 *    not woken enough also wakes the kernel's waiters when that count is not zero. For a
 *    shared futex it always does, since its waiters may be in another process.
 *  - A wake from an OS thread without a hub or from a signal handler goes to the kernel.
 *    While green threads wait, it is also posted: a fixed ring, and an ev_async of each hub
 *    whose green threads wait. The post takes no lock, makes no allocation, and is
 *    async-signal-safe. The first hub to run takes the wake from the ring. The wake's count
 *    is the kernel's alone. It may wake green waiters beyond it, spuriously, as futex(2)
 *    allows. A ring that is full wakes every green waiter.
 *  - The counter and the waiter's comparison of *uaddr are ordered (sequentially
 *    consistent). So either a waker that changed the word sees the waiter, or the waiter
 *    sees the new value.
 * A shared futex's green waiter also rereads the word on a back-off timer (1 ms doubling to
 * 10 ms). It returns 0 when the word changed: another process's wake reaches the kernel only.
 *
 * Signals end a green wait as they end the kernel's. A wait with a timeout ends with EINTR.
 * One without ends only when the handler lacks SA_RESTART; else the kernel restarts it.
 * syscall() is no cancellation point. A pthread_cancel that wakes the wait makes it return
 * 0, a spurious wake-up. The PI operations, WAIT_REQUEUE_PI and CMP_REQUEUE_PI go to the
 * kernel.
 */
#include <linux/futex.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "../src/sync.h"
#include "syscall.h"
#include "threads.h"

enum { BUCKET_BITS = 6, PENDING = 32, MAX_HUBS = 64 };

#define BACKOFF_FIRST 0.001
#define BACKOFF_MAX 0.01
#define ALL_BITS 0xffffffffu

/* A green waiter, on its stack. Its fields are read and written with table_home entered. */
typedef struct waiter {
  green__list_t link;   /* in the bucket of addr while it waits */
  green__list_t armed;  /* its greenlet's wait_link while it is parked (share.h) */
  uint32_t *addr;       /* a requeue changes it */
  uint32_t bitset;
  green_t *g;
  uint8_t woken;        /* a wake took it out of its bucket */
} waiter_t;

/* A wake posted from another thread or a signal handler. state: 0 free, 1 being written,
 * 2 ready for a hub, 3 being taken by one. */
typedef struct pending {
  uint32_t *addr;
  int n;
  uint32_t bitset;
  int state;
} pending_t;

/* A hub whose green threads have waited in the table: its watcher for posted wakes. */
typedef struct hub_slot {
  struct green__hub *hub;         /* NULL: free */
  ev_async poke;                  /* a wake was posted */
  green__hub_teardown_t teardown; /* frees the slot with the hub */
  unsigned waiters;               /* its green threads in the table */
} hub_slot_t;

/* The table: every hub's green waiters, FIFO per address. One lock, the home word, guards all
 * buckets and waiter records. A requeue moves a waiter between buckets. The waiter's own
 * timeout must find it under the same lock (g->wait_home). One hub alone takes it with no
 * atomic operation (share.h). */
static uint32_t table_home;
static green__list_t buckets[1 << BUCKET_BITS]; /* all-zero: empty, made circular on first use */
static hub_slot_t slots[MAX_HUBS];
static __thread hub_slot_t *own_slot; /* the calling hub's slot */
static pending_t pending[PENDING];
static int pending_overflow;
static unsigned green_waiters;      /* green threads in the table, of every hub */
static unsigned kernel_waiters;     /* threads in a kernel FUTEX_WAIT made through syscall() */

static long kernel(long a0, long a1, long a2, long a3, long a4, long a5) {
  return green__real.syscall(SYS_futex, a0, a1, a2, a3, a4, a5);
}

/* addr's bucket; table_home entered. */
static green__list_t *bucket(const uint32_t *addr) {
  green__list_t *b = &buckets[((uint32_t)((uintptr_t)addr >> 2) * 0x9e3779b1u) >> (32 - BUCKET_BITS)];
  if (!b->next) green__list_init(b);
  return b;
}

/* ---- the table: any hub's thread, table_home entered ------------------------------------ */

/* Take w out of its bucket for a wake. A parked greenlet goes on `woken`, handed once the
 * table is left; after that only it touches w (on its stack). One between two parks (its
 * timer ran, it has not entered the table again) is not parked: it finds `woken` set. */
static void take(waiter_t *w, green__taken_t *woken) {
  green__list_remove(&w->link);
  w->woken = 1;
  if (green__list_empty(&w->armed)) return; /* running already: it reads `woken` in the table */
  green__list_remove(&w->g->wait_link); /* its own timeout now leaves it to the hand-off */
  green__taken_add(woken, w->g);
}

/* Take up to n (at least one, as the kernel) waiters of addr whose bitset meets `bitset`. */
static int take_waiters(uint32_t *addr, int n, uint32_t bitset, green__taken_t *woken) {
  green__list_t *b = bucket(addr), *l, *next;
  int count = 0;
  if (n <= 0) n = 1;
  for (l = b->next; l != b && count < n; l = next) {
    waiter_t *w = green__container_of(l, waiter_t, link);
    next = l->next;
    if (w->addr != addr || !(w->bitset & bitset)) continue;
    take(w, woken);
    count++;
  }
  return count;
}

/* The kernel's requeue: take nwake waiters of addr, and move up to nreq more to addr2.
 * Returns how many it took or moved. A moved waiter keeps table_home as its lock. */
static int requeue_waiters(uint32_t *addr, int nwake, int nreq, uint32_t *addr2,
                           green__taken_t *woken) {
  green__list_t *b = bucket(addr), *l, *next;
  int count = 0;
  for (l = b->next; l != b; l = next) {
    waiter_t *w = green__container_of(l, waiter_t, link);
    next = l->next;
    if (w->addr != addr) continue;
    if (count - nwake >= nreq) break;
    if (++count <= nwake) {
      take(w, woken);
    } else {
      green__list_remove(&w->link);
      w->addr = addr2;
      green__list_push_back(bucket(addr2), &w->link);
    }
  }
  return count;
}

static void take_every_waiter(green__taken_t *woken) {
  size_t i;
  for (i = 0; i < sizeof buckets / sizeof buckets[0]; i++)
    while (buckets[i].next && !green__list_empty(&buckets[i]))
      take(green__container_of(buckets[i].next, waiter_t, link), woken);
}

/* Wake up to n (at least one) green waiters of addr matching bitset, of any hub. */
static int wake_green(struct green__hub *h, uint32_t *addr, int n, uint32_t bitset) {
  green__taken_t woken = GREEN__TAKEN_INIT(woken);
  int how = green__home_enter(&table_home, h), count = take_waiters(addr, n, bitset, &woken);
  green__home_leave(&table_home, h, how);
  green__waitq_hand_all(h, &woken);
  return count;
}

static int requeue_green(struct green__hub *h, uint32_t *addr, int nwake, int nreq,
                         uint32_t *addr2) {
  green__taken_t woken = GREEN__TAKEN_INIT(woken);
  int how = green__home_enter(&table_home, h),
      count = requeue_waiters(addr, nwake, nreq, addr2, &woken);
  green__home_leave(&table_home, h, how);
  green__waitq_hand_all(h, &woken);
  return count;
}

static void wake_every_waiter(struct green__hub *h) {
  green__taken_t woken = GREEN__TAKEN_INIT(woken);
  int how = green__home_enter(&table_home, h);
  take_every_waiter(&woken);
  green__home_leave(&table_home, h, how);
  green__waitq_hand_all(h, &woken);
}

/* Runs on a hub's stack: the wakes other threads and signal handlers posted. Any hub may run
 * any of them: a waiter of another hub is handed its wake by a message. */
static void foreign_cb(struct ev_loop *loop, ev_async *a, int revents) {
  struct green__hub *h = ev_userdata(loop);
  size_t i;
  (void)a, (void)revents;
  for (i = 0; i < PENDING; i++) {
    int ready = 2;
    if (__atomic_compare_exchange_n(&pending[i].state, &ready, 3, 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
      pending_t p = pending[i];
      __atomic_store_n(&pending[i].state, 0, __ATOMIC_RELEASE);
      wake_green(h, p.addr, p.n, p.bitset);
    }
  }
  if (__atomic_exchange_n(&pending_overflow, 0, __ATOMIC_ACQ_REL)) wake_every_waiter(h);
}

/* Runs on h's thread as it goes away: its watcher goes, its slot is free again. */
static void slot_release(struct green__hub *h, green__hub_teardown_t *t) {
  hub_slot_t *s = green__container_of(t, hub_slot_t, teardown);
  ev_async_stop(h->loop, &s->poke);
  __atomic_store_n(&s->hub, NULL, __ATOMIC_RELEASE);
  own_slot = NULL;
}

/* The calling hub's slot, taken on its first use of the table. NULL when all are taken: its
 * green threads then wait in the kernel. */
static hub_slot_t *table_attach(struct green__hub *h) {
  size_t i;
  if (green__likely(own_slot && __atomic_load_n(&own_slot->hub, __ATOMIC_RELAXED) == h))
    return own_slot;
  for (i = 0; i < MAX_HUBS; i++) {
    struct green__hub *none = NULL;
    hub_slot_t *s = &slots[i];
    if (!__atomic_compare_exchange_n(&s->hub, &none, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
      continue;
    s->waiters = 0;
    ev_async_init(&s->poke, foreign_cb);
    ev_async_start(h->loop, &s->poke);
    green__hub_on_destroy(h, &s->teardown, slot_release);
    return own_slot = s;
  }
  return NULL;
}

/* Tell every hub with green waiters that a wake was posted. Async-signal-safe. */
static void poke_hubs(void) {
  size_t i;
  for (i = 0; i < MAX_HUBS; i++) {
    struct green__hub *h = __atomic_load_n(&slots[i].hub, __ATOMIC_ACQUIRE);
    if (h && __atomic_load_n(&slots[i].waiters, __ATOMIC_SEQ_CST))
      ev_async_send(h->loop, &slots[i].poke);
  }
}

/* From any thread, async-signal-safe: have a hub wake n green waiters of addr. */
static void post_wake(uint32_t *addr, int n, uint32_t bitset) {
  int i, free;
  __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the program's store to the word comes first */
  if (__atomic_load_n(&green_waiters, __ATOMIC_SEQ_CST) == 0) return;
  for (i = 0; i < PENDING; i++) {
    free = 0;
    if (__atomic_compare_exchange_n(&pending[i].state, &free, 1, 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
      break;
  }
  if (i == PENDING) {
    __atomic_store_n(&pending_overflow, 1, __ATOMIC_RELEASE);
  } else {
    pending[i].addr = addr;
    pending[i].n = n;
    pending[i].bitset = bitset;
    __atomic_store_n(&pending[i].state, 2, __ATOMIC_RELEASE);
  }
  poke_hubs();
}

/* The child has one thread: the parent's waiters and hubs are not its own. */
void green__shim_futex_after_fork(void) {
  table_home = 0;
  memset(buckets, 0, sizeof buckets);
  memset(slots, 0, sizeof slots);
  own_slot = NULL;
  green_waiters = kernel_waiters = 0;
  pending_overflow = 0;
  memset(pending, 0, sizeof pending);
}

/* ---- waiting ---------------------------------------------------------------------------- */

/* The hub when the calling greenlet may park in the table: green mode, past the gate. */
static struct green__hub *green_waiter(void) { return green__shim_gate(GREEN__GATE_GREEN); }

/* The hub when the caller may use the table itself: green mode, on a hub's thread, outside
 * a signal handler (which may have interrupted a use of the table). */
static struct green__hub *table_user(void) {
  return green__shim_gate(GREEN__GATE_GREEN | GREEN__GATE_EXISTING | GREEN__GATE_CALLBACK);
}

static long kernel_wait(const long a[6]) {
  long r;
  __atomic_add_fetch(&kernel_waiters, 1, __ATOMIC_SEQ_CST);
  r = kernel(a[0], a[1], a[2], a[3], a[4], a[5]);
  __atomic_sub_fetch(&kernel_waiters, 1, __ATOMIC_SEQ_CST);
  return r;
}

/* When the wait ends on green_now()'s clock; NAN for an invalid timeout. */
static double wait_until(const struct timespec *ts, int absolute, clockid_t clock) {
  double s;
  if (!ts) return INFINITY;
  if ((s = green__ts_checked(ts)) < 0) return NAN;
  if (absolute) s = green__ts_left(clock, ts);
  return green_now() + s;
}

/* Another thread or a signal may wake it: never a deadlock. Not a cancellation point. The
 * table is left first: w's greenlet is armed, so a waker of any hub may take it now. */
static int park(struct green__hub *h, waiter_t *w, double at, int intr, int how) {
  const uint32_t *on = w->addr; /* a requeue may change it once the table is left */
  green__waiter_arm(&w->armed, w->g, &table_home);
  green__home_leave(&table_home, h, how);
  return green__shim_park(h, &(green__shim_wait_t){.kind = GREEN_WAIT_FUTEX, .what = on,
                                                    .call = "futex", .at = at, .loop_wait = 1,
                                                    .intr = intr, .cancel = GREEN__CANCEL_NONE});
}

/* The parks of a green wait on addr, the table entered as `how`; left on return. 0 when
 * woken (or, shared, when the word changed), or -errno. */
static int park_until_woken(struct green__hub *h, waiter_t *w, uint32_t *addr, uint32_t val,
                            double at, int shared, int how) {
  int intr = at < INFINITY ? GREEN__INTR_ALWAYS : GREEN__INTR_RESTART, r;
  double backoff = BACKOFF_FIRST, until;
  for (;;) {
    until = shared && w->addr == addr ? fmin(at, green_now() + backoff) : at;
    r = park(h, w, until, intr, how);
    how = green__home_enter(&table_home, h);
    if (w->woken || r != GREEN__TIMER || until >= at) break;
    if (__atomic_load_n(addr, __ATOMIC_ACQUIRE) != val) break; /* another process's wake */
    backoff = fmin(backoff * 2, BACKOFF_MAX);
  }
  green__list_remove(&w->link);
  green__home_leave(&table_home, h, how);
  if (w->woken) return 0;
  if (r == GREEN__TIMER) return until >= at ? -ETIMEDOUT : 0;
  return r == -EINTR || r == -ETIMEDOUT ? r : 0; /* a wake, or a cancellation: spurious */
}

/* A green FUTEX_WAIT: 0 when woken (or, shared, when the word changed), or -errno. Without a
 * slot (more than MAX_HUBS hubs) it waits in the kernel. */
static long wait_green(struct green__hub *h, const long a[6], uint32_t *addr, uint32_t val,
                       double at, uint32_t bitset, int shared) {
  waiter_t w = {.addr = addr, .bitset = bitset, .g = h->current};
  hub_slot_t *s = table_attach(h);
  int how, r;
  if (!s) return kernel_wait(a) < 0 ? -errno : 0;
  green__list_init(&w.link);
  green__list_init(&w.armed);
  __atomic_add_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST); /* before green_waiters: poke_hubs */
  __atomic_add_fetch(&green_waiters, 1, __ATOMIC_SEQ_CST);
  how = green__home_enter(&table_home, h);
  if (__atomic_load_n(addr, __ATOMIC_SEQ_CST) != val) {
    green__home_leave(&table_home, h, how);
    r = -EAGAIN;
  } else {
    green__list_push_back(bucket(addr), &w.link);
    r = park_until_woken(h, &w, addr, val, at, shared, how);
  }
  __atomic_sub_fetch(&green_waiters, 1, __ATOMIC_SEQ_CST);
  __atomic_sub_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
  return r;
}

/* FUTEX_WAIT and FUTEX_WAIT_BITSET. */
static long futex_wait(const long a[6], int cmd) {
  uint32_t *addr = (uint32_t *)a[0];
  struct green__hub *h = green_waiter();
  uint32_t bitset = cmd == FUTEX_WAIT ? ALL_BITS : (uint32_t)a[5];
  clockid_t clock = (a[1] & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
  double at;
  long r;
  if (!h || !addr || ((uintptr_t)addr & 3) || !bitset) return kernel_wait(a);
  if (isnan(at = wait_until((const struct timespec *)a[3], cmd == FUTEX_WAIT_BITSET, clock)))
    return green__fail(-EINVAL);
  r = wait_green(h, a, addr, (uint32_t)a[2], at, bitset, !(a[1] & FUTEX_PRIVATE_FLAG));
  return r < 0 ? green__fail((int)r) : 0;
}

/* ---- waking ----------------------------------------------------------------------------- */

/* Whether waiters of this futex may sleep in the kernel. For a shared one, another
 * process's may. This process's other threads may, when any waits there. */
static int kernel_may_wait(int op) {
  if (!(op & FUTEX_PRIVATE_FLAG)) return 1;
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return __atomic_load_n(&kernel_waiters, __ATOMIC_SEQ_CST) != 0;
}

/* Add the kernel's count to `woken`; an error of the kernel's only when nobody was woken. */
static long with_kernel(long woken, long k) { return k >= 0 ? woken + k : woken ? woken : k; }

/* Wake n (at least one) waiters of addr matching bitset, green ones first. */
static long wake(struct green__hub *h, int op, uint32_t *addr, int n, uint32_t bitset) {
  long woken = wake_green(h, addr, n, bitset);
  if (woken >= (n > 0 ? n : 1) || !kernel_may_wait(op)) return woken;
  return with_kernel(woken, kernel((long)addr, FUTEX_WAKE_BITSET | (op & FUTEX_PRIVATE_FLAG),
                                   n - woken, 0, 0, bitset));
}

static long futex_wake(const long a[6], int cmd) {
  uint32_t *addr = (uint32_t *)a[0];
  uint32_t bitset = cmd == FUTEX_WAKE ? ALL_BITS : (uint32_t)a[5];
  struct green__hub *h = table_user();
  long r;
  if (!h || !addr || ((uintptr_t)addr & 3) || !bitset) {
    r = kernel(a[0], a[1], a[2], a[3], a[4], a[5]);
    if (r >= 0) post_wake(addr, (int)a[2], bitset);
    return r;
  }
  return wake(h, (int)a[1], addr, (int)a[2], bitset);
}

static long futex_requeue(const long a[6], int cmd) {
  uint32_t *addr = (uint32_t *)a[0], *addr2 = (uint32_t *)a[4];
  struct green__hub *h = table_user();
  int nwake = (int)a[2], nreq = (int)a[3], gw, n;
  long r;
  if (!h || !addr || !addr2 || (((uintptr_t)addr | (uintptr_t)addr2) & 3) || nwake < 0 ||
      nreq < 0) {
    r = kernel(a[0], a[1], a[2], a[3], a[4], a[5]);
    if (r >= 0) post_wake(addr, INT32_MAX, ALL_BITS); /* they look again */
    return r;
  }
  if (cmd == FUTEX_CMP_REQUEUE && __atomic_load_n(addr, __ATOMIC_SEQ_CST) != (uint32_t)a[5])
    return green__fail(-EAGAIN);
  n = requeue_green(h, addr, nwake, nreq, addr2);
  if (n >= (long)nwake + nreq || !kernel_may_wait((int)a[1])) return n;
  gw = n < nwake ? n : nwake;
  r = kernel(a[0], a[1], nwake - gw, nreq - (n - gw), a[4], a[5]);
  return r == -1 && errno == EAGAIN ? n : with_kernel(n, r);
}

static int sign12(uint32_t v) { return (int)(v & 0xfff) - ((v & 0x800) ? 0x1000 : 0); }

/* WAKE_OP's operation on *addr2. Returns 0 and sets *hit, the comparison with the old value.
 * Returns -ENOSYS for an operation or comparison the kernel does not know. */
static int wake_op_apply(uint32_t *addr2, uint32_t enc, int *hit) {
  int op = (enc >> 28) & 7, cmp = (enc >> 24) & 15, oparg = sign12(enc >> 12),
      cmparg = sign12(enc);
  uint32_t old, new;
  if (enc & ((uint32_t)FUTEX_OP_OPARG_SHIFT << 28)) oparg = (int)(1u << (oparg & 31));
  if (op > FUTEX_OP_XOR) return -ENOSYS;
  old = __atomic_load_n(addr2, __ATOMIC_RELAXED);
  do {
    switch (op) {
    case FUTEX_OP_SET: new = (uint32_t)oparg; break;
    case FUTEX_OP_ADD: new = old + (uint32_t)oparg; break;
    case FUTEX_OP_OR: new = old | (uint32_t)oparg; break;
    case FUTEX_OP_ANDN: new = old & ~(uint32_t)oparg; break;
    default: new = old ^ (uint32_t)oparg; break;
    }
  } while (!__atomic_compare_exchange_n(addr2, &old, new, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
  switch (cmp) {
  case FUTEX_OP_CMP_EQ: *hit = (int)old == cmparg; return 0;
  case FUTEX_OP_CMP_NE: *hit = (int)old != cmparg; return 0;
  case FUTEX_OP_CMP_LT: *hit = (int)old < cmparg; return 0;
  case FUTEX_OP_CMP_LE: *hit = (int)old <= cmparg; return 0;
  case FUTEX_OP_CMP_GT: *hit = (int)old > cmparg; return 0;
  case FUTEX_OP_CMP_GE: *hit = (int)old >= cmparg; return 0;
  default: return -ENOSYS;
  }
}

static long futex_wake_op(const long a[6]) {
  uint32_t *addr = (uint32_t *)a[0], *addr2 = (uint32_t *)a[4];
  struct green__hub *h = table_user();
  int hit = 0, e;
  long r, r2;
  if (!h || !addr || !addr2 || (((uintptr_t)addr | (uintptr_t)addr2) & 3)) {
    r = kernel(a[0], a[1], a[2], a[3], a[4], a[5]);
    if (r >= 0) {
      post_wake(addr, (int)a[2], ALL_BITS);
      post_wake(addr2, (int)a[3], ALL_BITS); /* maybe spuriously: the comparison is unknown */
    }
    return r;
  }
  if ((e = wake_op_apply(addr2, (uint32_t)a[5], &hit)) < 0) return green__fail(e);
  r = wake(h, (int)a[1], addr, (int)a[2], ALL_BITS);
  if (r < 0 || !hit) return r;
  r2 = wake(h, (int)a[1], addr2, (int)a[3], ALL_BITS);
  return r2 < 0 ? r : r + r2;
}

long green__shim_futex(const long a[6]) {
  int op = (int)a[1], cmd = op & FUTEX_CMD_MASK;
  if ((op & FUTEX_CLOCK_REALTIME) && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET)
    return kernel(a[0], a[1], a[2], a[3], a[4], a[5]); /* ENOSYS, or a PI call */
  switch (cmd) {
  case FUTEX_WAIT:
  case FUTEX_WAIT_BITSET: return futex_wait(a, cmd);
  case FUTEX_WAKE:
  case FUTEX_WAKE_BITSET: return futex_wake(a, cmd);
  case FUTEX_REQUEUE:
  case FUTEX_CMP_REQUEUE: return futex_requeue(a, cmd);
  case FUTEX_WAKE_OP: return futex_wake_op(a);
  default: return kernel(a[0], a[1], a[2], a[3], a[4], a[5]);
  }
}
