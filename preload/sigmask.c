/* SPDX-License-Identifier: MIT */
/*
 * sigprocmask and pthread_sigmask in green mode. Every green thread has a signal mask of its
 * own: the sigmask word of its greenlet. While a green thread runs, the OS thread's mask is
 * its word. The hub's switch applies the next greenlet's word only when the two differ. So
 * the common switch (every mask the same) makes no system call. A new thread starts with its
 * creator's mask; green__greenlet_new copies the word. The child of fork starts with the
 * forking thread's: the OS thread's mask at the fork.
 *
 * The hub's own greenlet waits in epoll_wait while every green thread is parked. It runs
 * with the signals every green thread of its hub blocks. A signal one thread does not block
 * is delivered then, as the kernel would deliver it to that thread. One they all block stays
 * pending, for sigwait or until one of them unblocks it. The trampoline (signal.c) picks the
 * thread the signal interrupts among those of the hub that do not block it.
 *
 * With several hubs (greenrun -j N) each hub counts its own green threads, in its OS
 * thread's TLS. So every call here runs on the hub's own thread. The kernel then sends a
 * process-directed signal to a hub thread whose mask lets it in, as it picks among threads.
 * A hub of its own thread (not main()'s) counts no thread for its first greenlet, which runs
 * no program code. With no green thread of its own, such a hub blocks every signal.
 */
#include "sigmask.h"

#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "threads.h"

enum { BITS = 64 };

/* This OS thread's hub: how many of its green threads block each signal. */
static __thread unsigned blocking[BITS];
static __thread unsigned nthreads;
static __thread uint8_t main_counted; /* the hub's first greenlet is a program thread */

/* SIGKILL and SIGSTOP cannot be blocked; glibc keeps its own two (SIGCANCEL, SIGSETXID)
 * out of every mask the program sets. */
static const uint64_t UNBLOCKABLE =
    1ull << (SIGKILL - 1) | 1ull << (SIGSTOP - 1) | 1ull << (32 - 1) | 1ull << (33 - 1);

/* What a hub with no green thread blocks: all but the faults, which the kernel forces (a
 * forced signal that is blocked kills). */
static const uint64_t FAULTS = 1ull << (SIGSEGV - 1) | 1ull << (SIGBUS - 1) |
                               1ull << (SIGILL - 1) | 1ull << (SIGFPE - 1) |
                               1ull << (SIGTRAP - 1) | 1ull << (SIGSYS - 1);

static uint64_t word_of(const sigset_t *set) {
  uint64_t w;
  memcpy(&w, set, sizeof w);
  return w & ~UNBLOCKABLE;
}

static void count(uint64_t w, int delta) {
  int i;
  for (i = 0; w; i++, w >>= 1)
    if (w & 1) blocking[i] += (unsigned)delta;
}

/* The hub's greenlet blocks what every green thread of the hub blocks; all it can when the
 * hub has none. */
static uint64_t hub_mask(void) {
  uint64_t all = 0;
  int i;
  if (!nthreads) return ~(UNBLOCKABLE | FAULTS);
  for (i = 0; i < BITS; i++)
    if (blocking[i] == nthreads) all |= 1ull << i;
  return all;
}

/* A change made while the hub's greenlet runs is applied now. A thread born by another hub's
 * message, for one, makes such a change. The switch to a green thread with the same word would
 * not apply it. */
static void update_hub(struct green__hub *h) {
  uint64_t all = hub_mask();
  if (all == h->hub.sigmask) return;
  h->hub.sigmask = all;
  if (h->current == &h->hub) green__hub_apply_sigmask(all);
}

/* The thread that runs main() (or the child of fork's only one): its first greenlet is a
 * program thread. A hub thread's is not. */
static int runs_program(const struct green__hub *h) { return h->tid == getpid(); }

void green__shim_sigmask_attach(struct green__hub *h) {
  uint64_t w = 0;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &w, sizeof w);
  h->main->sigmask = h->hub.sigmask = w;
  if (green__shim_config.native) return;
  h->sigmasks = 1;
  memset(blocking, 0, sizeof blocking);
  nthreads = 0;
  if ((main_counted = runs_program(h))) {
    nthreads = 1;
    count(w, 1);
  }
  update_hub(h);
}

void green__shim_sigmask_born(struct green__hub *h, green_t *g) {
  nthreads++;
  count(g->sigmask, 1);
  if (g->sigmask || h->hub.sigmask) update_hub(h);
}

void green__shim_sigmask_ended(struct green__hub *h, green_t *g) {
  nthreads--;
  count(g->sigmask, -1);
  if (g->sigmask || h->hub.sigmask || !nthreads) update_hub(h); /* idle: blocks all */
}

void green__shim_sigmask_set(struct green__hub *h, green_t *g, uint64_t mask) {
  int counted = g != h->main || main_counted;
  if (mask == g->sigmask) return;
  if (counted) count(g->sigmask, -1);
  if (counted) count(mask, 1);
  g->sigmask = mask;
  if (g == h->current) green__hub_apply_sigmask(mask);
  update_hub(h);
}

/* The running green thread's mask after `how` with `set`: 0, or -EINVAL. */
static int change(struct green__hub *h, int how, const sigset_t *set, sigset_t *old) {
  uint64_t cur = h->current->sigmask, want = cur;
  if (set) {
    uint64_t w = word_of(set);
    if (how == SIG_BLOCK) want = cur | w;
    else if (how == SIG_UNBLOCK) want = cur & ~w;
    else if (how == SIG_SETMASK) want = w;
    else return -EINVAL;
  }
  if (old) memcpy(old, &cur, sizeof cur); /* the kernel writes its 64 bits, no more */
  green__shim_sigmask_set(h, h->current, want);
  return 0;
}

/* The hub whose green thread's mask a call changes: green mode, a program thread's call. */
static struct green__hub *mask_hub(void) { return green__shim_gate(GREEN__GATE_GREEN); }

GREEN__SHIM_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old) {
  struct green__hub *h;
  green__real_ready();
  if (!(h = mask_hub())) return green__real.pthread_sigmask(how, set, old);
  return -change(h, how, set, old);
}

GREEN__SHIM_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old) {
  struct green__hub *h;
  int r;
  green__real_ready();
  if (!(h = mask_hub())) return green__real.sigprocmask(how, set, old);
  return (r = change(h, how, set, old)) < 0 ? green__fail(r) : 0;
}
