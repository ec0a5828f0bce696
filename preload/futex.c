/* SPDX-License-Identifier: MIT */
/*
 * futex(2) for green threads, reached through syscall(SYS_futex, ...) (syscall.c).
 *
 * In green mode a FUTEX_WAIT of a green thread first compares *uaddr with val as the kernel
 * does (EAGAIN when they differ). Then it parks the thread in a table of the hub. The table
 * is a hash of addresses to FIFO wait queues; the records live on the waiters' stacks.
 * FUTEX_WAKE on the hub's thread takes waiters out of the table in order and wakes them.
 * REQUEUE and CMP_REQUEUE move green waiters to the other address's queue. WAKE_OP applies
 * its operation with a compare-and-swap and wakes both queues by its rule. Bitsets match as
 * the kernel's.
 *
 * Nothing is lost between the table and the kernel:
 *  - Waits made in the kernel through syscall() are counted. They come from an OS thread
 *    the shim does not run green, a signal handler, or native mode. A green wake that has
 *    not woken enough also wakes the kernel's waiters when that count is not zero. For a
 *    shared futex it always does, since its waiters may be in another process.
 *  - A wake from another OS thread or from a signal handler goes to the kernel. While green
 *    threads wait, it is also posted to the hub: a fixed ring and an ev_async. The post
 *    takes no lock, makes no allocation, and is async-signal-safe. The hub wakes those green
 *    waiters when it next runs. The wake's count is the kernel's alone. It may wake green
 *    waiters beyond it, spuriously, as futex(2) allows. A ring that is full wakes every
 *    green waiter.
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
#include <sys/syscall.h>
#include <time.h>

#include "../src/wait.h"
#include "syscall.h"
#include "threads.h"

enum { BUCKET_BITS = 6, PENDING = 32 };

#define BACKOFF_FIRST 0.001
#define BACKOFF_MAX 0.01
#define ALL_BITS 0xffffffffu

typedef struct waiter {
  green__list_t link;   /* in the bucket of addr while it waits */
  uint32_t *addr;       /* a requeue changes it */
  uint32_t bitset;
  green_t *g;
  uint8_t woken;        /* a wake took it out of its bucket */
} waiter_t;

/* A wake posted from another thread or a signal handler. state: 0 free, 1 being written,
 * 2 ready for the hub. */
typedef struct pending {
  uint32_t *addr;
  int n;
  uint32_t bitset;
  int state;
} pending_t;

static green__list_t buckets[1 << BUCKET_BITS];
static struct green__hub *table_hub; /* the hub whose green threads wait in the table */
static ev_async foreign;            /* pokes table_hub when a wake is posted */
static pending_t pending[PENDING];
static int pending_overflow;
static unsigned green_waiters;      /* green threads in the table */
static unsigned kernel_waiters;     /* threads in a kernel FUTEX_WAIT made through syscall() */

static long kernel(long a0, long a1, long a2, long a3, long a4, long a5) {
  return green__real.syscall(SYS_futex, a0, a1, a2, a3, a4, a5);
}

static green__list_t *bucket(const uint32_t *addr) {
  return &buckets[((uint32_t)((uintptr_t)addr >> 2) * 0x9e3779b1u) >> (32 - BUCKET_BITS)];
}

/* ---- the table, on the hub's thread ----------------------------------------------------- */

/* Wake up to n (at least one, as the kernel) waiters of addr whose bitset meets `bitset`. */
static int wake_green(struct green__hub *h, uint32_t *addr, int n, uint32_t bitset) {
  green__list_t *b = bucket(addr), *l, *next;
  int woken = 0;
  if (n <= 0) n = 1;
  for (l = b->next; l != b && woken < n; l = next) {
    waiter_t *w = green__container_of(l, waiter_t, link);
    next = l->next;
    if (w->addr != addr || !(w->bitset & bitset)) continue;
    green__list_remove(&w->link);
    w->woken = 1;
    green__wake(h, w->g, 0);
    woken++;
  }
  return woken;
}

/* The kernel's requeue: wake nwake waiters of addr, and move up to nreq more to addr2.
 * Returns how many it woke or moved. */
static int requeue_green(struct green__hub *h, uint32_t *addr, int nwake, int nreq,
                         uint32_t *addr2) {
  green__list_t *b = bucket(addr), *l, *next;
  int count = 0;
  for (l = b->next; l != b; l = next) {
    waiter_t *w = green__container_of(l, waiter_t, link);
    next = l->next;
    if (w->addr != addr) continue;
    if (count - nwake >= nreq) break;
    green__list_remove(&w->link);
    if (++count <= nwake) {
      w->woken = 1;
      green__wake(h, w->g, 0);
    } else {
      w->addr = addr2;
      green__list_push_back(bucket(addr2), &w->link);
    }
  }
  return count;
}

static void wake_every_waiter(struct green__hub *h) {
  size_t i;
  for (i = 0; i < sizeof buckets / sizeof buckets[0]; i++)
    while (!green__list_empty(&buckets[i])) {
      waiter_t *w = green__container_of(buckets[i].next, waiter_t, link);
      green__list_remove(&w->link);
      w->woken = 1;
      green__wake(h, w->g, 0);
    }
}

/* Runs on the hub's stack: the wakes other threads and signal handlers posted. */
static void foreign_cb(struct ev_loop *loop, ev_async *a, int revents) {
  struct green__hub *h = ev_userdata(loop);
  size_t i;
  (void)a, (void)revents;
  for (i = 0; i < PENDING; i++)
    if (__atomic_load_n(&pending[i].state, __ATOMIC_ACQUIRE) == 2) {
      pending_t p = pending[i];
      __atomic_store_n(&pending[i].state, 0, __ATOMIC_RELEASE);
      wake_green(h, p.addr, p.n, p.bitset);
    }
  if (__atomic_exchange_n(&pending_overflow, 0, __ATOMIC_ACQ_REL)) wake_every_waiter(h);
}

static void table_attach(struct green__hub *h) {
  size_t i;
  if (table_hub == h) return;
  for (i = 0; i < sizeof buckets / sizeof buckets[0]; i++) green__list_init(&buckets[i]);
  ev_async_init(&foreign, foreign_cb);
  ev_async_start(h->loop, &foreign);
  __atomic_store_n(&table_hub, h, __ATOMIC_RELEASE);
}

/* From any thread, async-signal-safe: have the hub wake n green waiters of addr. */
static void post_wake(uint32_t *addr, int n, uint32_t bitset) {
  struct green__hub *h = __atomic_load_n(&table_hub, __ATOMIC_ACQUIRE);
  int i, free;
  __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the program's store to the word comes first */
  if (!h || __atomic_load_n(&green_waiters, __ATOMIC_SEQ_CST) == 0) return;
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
  ev_async_send(h->loop, &foreign);
}

void green__shim_futex_after_fork(void) {
  size_t i;
  table_hub = NULL;
  green_waiters = kernel_waiters = 0;
  pending_overflow = 0;
  for (i = 0; i < PENDING; i++) pending[i].state = 0;
}

/* ---- waiting ---------------------------------------------------------------------------- */

/* The hub when the calling greenlet may park in the table: green mode, past the gate. */
static struct green__hub *green_waiter(void) { return green__shim_gate(GREEN__GATE_GREEN); }

/* The hub when the caller may touch the table itself: green mode, on the hub's thread,
 * outside a signal handler. */
static struct green__hub *table_owner(void) {
  struct green__hub *own = green__shim_gate(GREEN__GATE_GREEN | GREEN__GATE_EXISTING |
                                             GREEN__GATE_CALLBACK);
  struct green__hub *h = __atomic_load_n(&table_hub, __ATOMIC_ACQUIRE);
  if (!own) return NULL;
  if (!h) table_attach(h = own); /* a wake before any wait: no system call */
  return own == h ? h : NULL;
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

/* Another thread or a signal may wake it: never a deadlock. Not a cancellation point. */
static int park(struct green__hub *h, const uint32_t *addr, double at, int intr) {
  return green__shim_park(h, &(green__shim_wait_t){.kind = GREEN_WAIT_FUTEX, .what = addr,
                                                    .call = "futex", .at = at, .loop_wait = 1,
                                                    .intr = intr, .cancel = GREEN__CANCEL_NONE});
}

/* A green FUTEX_WAIT: 0 when woken (or, shared, when the word changed), or -errno. */
static long wait_green(struct green__hub *h, uint32_t *addr, uint32_t val, double at,
                       uint32_t bitset, int shared) {
  waiter_t w = {.addr = addr, .bitset = bitset, .g = h->current};
  int intr = at < INFINITY ? GREEN__INTR_ALWAYS : GREEN__INTR_RESTART, r;
  double backoff = BACKOFF_FIRST, until;
  table_attach(h);
  green__list_init(&w.link);
  __atomic_add_fetch(&green_waiters, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(addr, __ATOMIC_SEQ_CST) != val) {
    r = -EAGAIN;
  } else {
    green__list_push_back(bucket(addr), &w.link);
    for (;;) {
      until = shared && w.addr == addr ? fmin(at, green_now() + backoff) : at;
      r = park(h, addr, until, intr);
      if (w.woken || r != GREEN__TIMER || until >= at) break;
      if (__atomic_load_n(addr, __ATOMIC_ACQUIRE) != val) break; /* another process's wake */
      backoff = fmin(backoff * 2, BACKOFF_MAX);
    }
    green__list_remove(&w.link);
    if (r == GREEN__TIMER) r = until >= at ? -ETIMEDOUT : 0;
    else if (r != -EINTR && r != -ETIMEDOUT) r = 0; /* a wake, or a cancellation: spurious */
    if (w.woken) r = 0;
  }
  __atomic_sub_fetch(&green_waiters, 1, __ATOMIC_SEQ_CST);
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
  r = wait_green(h, addr, (uint32_t)a[2], at, bitset, !(a[1] & FUTEX_PRIVATE_FLAG));
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
  struct green__hub *h = table_owner();
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
  struct green__hub *h = table_owner();
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
  struct green__hub *h = table_owner();
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
