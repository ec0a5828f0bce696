/* SPDX-License-Identifier: MIT */
/*
 * Stack overflow reports (overflow.h).
 *
 * Guarded stacks. A greenlet that runs off the bottom of its stack touches the guard page
 * below it (stack.c: a guard region, or PROT_NONE). The runtime's SIGSEGV and SIGBUS handler
 * runs on an alternate signal stack, since the faulting stack has no room left. There is one
 * per hub thread, made with the hub when the thread has none. A fault is reported when its
 * address is in a guard page. That is the guard page of the greenlet running on the faulting
 * thread, or of the hub's own stack.
 * The report gives the greenlet's name and stack size. Then comes the backtrace of the
 * faulting context: its innermost and outermost frames (a runaway recursion is deep). Then
 * abort(). libunwind is loaded when the handler is installed, never in it.
 *
 * Every other fault is not ours: the thread's own stack, other threads, a NULL pointer. It gets
 * the action installed before the handler (chained). Or it gets the one the program installs
 * later. That happens where a layer on top intercepts sigaction and sets the action here, not
 * in the kernel. For the default action the handler puts SIG_DFL back and returns. The faulting
 * instruction runs again and the process dies of SIGSEGV, with a core, as without libgreen. In
 * library mode, a handler the program installs after the first hub replaces the runtime's.
 * There are no reports then.
 *
 * Unguarded stacks (past the guard budget). The lowest CANARY_BYTES of such a stack are its
 * canary: zeros, as the kernel hands out untouched pages. A free stack that was used is clean
 * too: its last greenlet would have been reported. Reading the canary maps the kernel's shared
 * zero page. So it costs no memory, where a random canary would commit a page per stack. A
 * kernel without the zero page (as in some sandboxes) commits one for the read too: 4 KiB per
 * unguarded greenlet. Every switch-out of the greenlet checks it. That is one branch on a flag in
 * switch_to, and none for guarded stacks. A frame that ran over it left non-zero bytes there.
 * The report comes at the latest when the greenlet next parks. The report runs on a fresh
 * mapping, not on the spent stack. It shows the greenlet's backtrace from the context it saved.
 * Some frames jump over the canary without writing it (a large array left unwritten). Others
 * write only zeros there. Neither is seen; what they wrote below is a neighbour's stack.
 *
 * Under AddressSanitizer the guard pages' faults are ASan's: no handler is installed.
 */
#include "overflow.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hibernate.h"
#include "hub.h"
#include "internal.h"
#include "report.h"

enum {
  CANARY_BYTES = 64,         /* one cache line at the bottom of an unguarded stack */
  ALT_STACK = 64 * 1024,     /* the handler's frames and libunwind's walk, beside the kernel's */
  REPORT_STACK = 64 * 1024,  /* the canary report's */
};

static const int fault_signals[2] = {SIGSEGV, SIGBUS};
static struct sigaction chained[2]; /* what a fault that is not an overflow gets */
static int owned[2];                /* the handler is installed for fault_signals[i] */
static size_t page_size;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static int slot(int sig) { return sig == SIGSEGV ? 0 : sig == SIGBUS ? 1 : -1; }

/* ---- the reports ---------------------------------------------------------------------- */

static void put_size(green__report_t *r, size_t size) {
  if (size % (1024 * 1024) == 0) green__report_put(r, "%zu MiB", size / (1024 * 1024));
  else green__report_put(r, "%zu KiB", size / 1024);
}

/* "libgreen: greenlet 42 "conn-handler" overflowed its 256 KiB stack<how>", then g's
 * backtrace. It comes from the signal's context, else from the one g saved (parked), else
 * from here. */
__attribute__((noreturn)) static void report(green_t *g, const char *how, ucontext_t *uc,
                                             int parked) {
  green__report_t r;
  char indent[112];
  green__report_enter();
  green__report_init(&r, 2);
  r.deep = 1;
  green__report_put(&r, "%s: ", green__report_prefix());
  green__report_name(&r, g);
  green__report_put(&r, " overflowed its ");
  put_size(&r, g->stack->size);
  green__report_put(&r, " stack%s\n", how);
  green__report_flush(&r);
  snprintf(indent, sizeof indent, "%s:   ", green__report_prefix());
  if (uc) green__report_backtrace_signal(&r, uc, indent);
  else if (parked) green__report_backtrace_parked(&r, g, indent);
  else green__report_backtrace_here(&r, indent, NULL);
  green__report_flush(&r);
  green__report_leave();
  abort();
}

/* ---- guard pages: the fault handler --------------------------------------------------- */

static int in_guard(const green_t *g, const char *addr) {
  const green__stack_t *s = g->stack;
  return s && s->guarded && addr >= s->lo - page_size && addr < s->lo;
}

/* The greenlet of the faulting thread whose guard page the fault hit, or NULL. */
static green_t *overflowed(const siginfo_t *si) {
  struct green__hub *h = green__hub_tls;
  if (!h || si->si_code <= 0) return NULL; /* no hub, or sent by a process: not a fault */
  if (in_guard(h->current, si->si_addr)) return h->current;
  if (in_guard(&h->hub, si->si_addr)) return &h->hub;
  return NULL;
}

static void set_default(int sig) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  __atomic_store_n(&owned[slot(sig)], 0, __ATOMIC_RELEASE);
  sigaction(sig, &dfl, NULL);
}

/* What the kernel would have done with the fault without the runtime's handler. */
static void chain(int sig, siginfo_t *si, void *uc) {
  int i = slot(sig);
  struct sigaction a = chained[i];
  if (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN) {
    if (a.sa_flags & SA_RESETHAND) chained[i].sa_handler = SIG_DFL;
    pthread_sigmask(SIG_BLOCK, &a.sa_mask, NULL); /* the handler's return restores the mask */
    if (a.sa_flags & SA_SIGINFO) a.sa_sigaction(sig, si, uc);
    else a.sa_handler(sig);
    return;
  }
  if (a.sa_handler == SIG_IGN && si->si_code <= 0) return; /* a kill(2) the program ignores */
  set_default(sig); /* a fault cannot be ignored: the kernel kills for it then too */
  if (si->si_code <= 0) raise(sig); /* delivered when the handler returns */
}

static void on_fault(int sig, siginfo_t *si, void *uc) {
  int saved = errno;
  green_t *g;
  if (si->si_code > 0 && green__hibernate_fault(si->si_addr)) {
    errno = saved;
    return;
  }
  g = overflowed(si);
  if (g) report(g, "", uc, 0);
  chain(sig, si, uc);
  errno = saved;
}

int green__overflow_has_faults(void) {
  struct sigaction now;
  if (!green__overflow_owns_signal(SIGSEGV) || sigaction(SIGSEGV, NULL, &now) != 0) return 0;
  return (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_fault;
}

int green__overflow_owns_signal(int sig) {
  int i = slot(sig);
  return i >= 0 && __atomic_load_n(&owned[i], __ATOMIC_ACQUIRE);
}

int green__overflow_chain(int sig, const struct sigaction *act, struct sigaction *old) {
  int i = slot(sig);
  struct sigaction prev = chained[i];
  if (act) chained[i] = *act;
  if (old) *old = prev;
  return 0;
}

/* Once per process, at the first hub: the handler, and libunwind for the reports. */
static void setup(void) {
  struct sigaction sa;
  int i;
  page_size = (size_t)sysconf(_SC_PAGESIZE);
#if !GREEN_HAVE_ASAN
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (i = 0; i < 2; i++)
    if (sigaction(fault_signals[i], &sa, &chained[i]) == 0)
      __atomic_store_n(&owned[i], 1, __ATOMIC_RELEASE);
#else
  (void)sa, (void)i, (void)on_fault, (void)fault_signals;
#endif
  green__unwind_load(); /* its calls pass straight to libc: the hub is not made yet */
}

/* An alternate signal stack for the calling thread, with a guard page below. Returns its
 * mapping, or NULL when the thread has one already (or none can be made). */
static void *altstack_make(void) {
  stack_t cur, ss;
  size_t size = ALT_STACK;
  char *base;
#ifdef _SC_SIGSTKSZ
  size += (size_t)sysconf(_SC_SIGSTKSZ); /* the kernel's frame: larger with AVX-512 or AMX */
#endif
  size = (size + page_size - 1) & ~(page_size - 1);
  if (sigaltstack(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE)) return NULL;
  base = mmap(NULL, page_size + size, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) return NULL;
  mprotect(base, page_size, PROT_NONE);
  ss.ss_sp = base + page_size;
  ss.ss_size = size;
  ss.ss_flags = 0;
  if (sigaltstack(&ss, NULL) != 0) {
    munmap(base, page_size + size);
    return NULL;
  }
  return base;
}

void green__overflow_hub_start(struct green__hub *h) {
  pthread_once(&setup_once, setup);
  if (__atomic_load_n(&owned[0], __ATOMIC_ACQUIRE)) h->altstack = altstack_make();
}

void green__overflow_hub_stop(struct green__hub *h) {
  stack_t cur, off;
  char *lo = (char *)h->altstack + page_size;
  if (!h->altstack || sigaltstack(NULL, &cur) != 0) return;
  if (cur.ss_sp != lo) return; /* the program put its own in place: ours may be saved there */
  memset(&off, 0, sizeof off);
  off.ss_flags = SS_DISABLE;
  if (sigaltstack(&off, NULL) == 0) munmap(h->altstack, page_size + cur.ss_size);
  h->altstack = NULL;
}

/* ---- unguarded stacks: the canary ----------------------------------------------------- */

/* Not instrumented: an overflow's frames may have left ASan's redzones poisoned down there. */
__attribute__((no_sanitize_address)) static int canary_intact(const green__stack_t *s) {
  const uint64_t *w = (const uint64_t *)(const void *)s->lo;
  uint64_t any = 0;
  size_t i;
  for (i = 0; i < CANARY_BYTES / sizeof *w; i++) any |= w[i];
  return any == 0;
}

static void canary_report_main(void *arg) {
  green__stack_switch_end(NULL);
  report(arg, " (no guard page: found by its canary at its switch-out)", NULL, 1);
}

/* Report g, the running greenlet, from a fresh stack: g's is spent, and what lies below it is
 * a neighbour's. The switch saves g's context, which its backtrace starts from. */
__attribute__((noreturn, noinline)) static void report_canary(green_t *g) {
  green__ctx_t ctx;
  char *lo = mmap(NULL, REPORT_STACK, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (lo == MAP_FAILED)
    report(g, " (no guard page: found by its canary at its switch-out)", NULL, 0);
  green__ctx_make(&ctx, lo, REPORT_STACK, canary_report_main, g);
  green__stack_switch_begin(NULL, lo, REPORT_STACK, green__stack_fiber_new());
  green__ctx_switch(&g->ctx, &ctx);
  abort(); /* never resumed */
}

void green__overflow_check(green_t *g) {
  if (green__unlikely(!canary_intact(g->stack))) report_canary(g);
}
