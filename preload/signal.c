/* SPDX-License-Identifier: MIT */
/*
 * signal, sigaction, pause, sigsuspend, sigwait, sigwaitinfo, sigtimedwait, and the delivery
 * of EINTR and SIGCHLD to parked greenlets.
 *
 * Handlers. A handler the program installs is recorded. The kernel gets the trampoline
 * instead, with the program's mask and flags. sigaction reports the program's own action
 * back. The trampoline counts the thread's handler depth around the call. The gate passes
 * every call made inside a handler straight to libc. A handler that leaves by longjmp leaves
 * the count raised, so the shim then stays out of that thread's way. Then the trampoline
 * interrupts the thread's parked call, as the kernel would have. The target is the greenlet
 * parked in a p*-call or sigsuspend with a signal mask. Else it is the thread's main
 * greenlet. In green mode that is the process's main thread, the thread the kernel picks for
 * a process-directed signal. Else it is another parked green thread. It is never one whose
 * own mask (sigmask.c) blocks the signal. Whether the call ends with EINTR follows
 * signal(7). Sleeps, poll, select, epoll and sockets with a timeout always end. Other calls
 * end only when the handler lacks SA_RESTART. The trampoline only marks the target and pokes
 * the hub with ev_async_send (async-signal-safe). The hub wakes the target.
 *
 * SIGCHLD. waitpid parks until a SIGCHLD. The first blocking wait installs the trampoline for
 * SIGCHLD, even where the program left SIG_DFL. It installs it with SA_RESTART; the program
 * still reads SIG_DFL back. The trampoline writes to one eventfd per hub that waits for
 * children, for up to SLOTS hubs. Each eventfd stays open for the process's life, so the
 * handler never writes to a reused fd. Each hub's watcher wakes its waiters. The program may
 * ignore SIGCHLD (SIG_IGN, SA_NOCLDWAIT: the kernel reaps) or block it. Then waiters poll
 * every 10 ms instead. In any case they poll every second (a safety net).
 */
#include "signal.h"

#include <math.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../src/dump.h"
#include "../src/overflow.h"
#include "../src/tick.h"
#include "../src/wait.h"
#include "../src/ownfd.h"
#include "sigmask.h"
#include "threads.h"

/* ---- the program's actions --------------------------------------------------------------
 * sigaction may run on any hub's thread, and the trampoline on any thread. Writers take
 * act_lock with every signal blocked, so no handler of their own thread can wait for it.
 * What the trampoline reads (the function and flags) is published under a sequence count per
 * signal: odd while being written. A reader on another thread retries until it reads both
 * from the same write. The rest (prog, wrapped, tick_prog, dump_prog) is read under the lock. */

static struct sigaction prog[_NSIG];   /* valid where wrapped[sig] */
static void *prog_fn[_NSIG];          /* what the trampoline calls (read in the handler) */
static int prog_flags[_NSIG];
static unsigned prog_seq[_NSIG];      /* odd while prog_fn/prog_flags are being written */
static unsigned char wrapped[_NSIG];  /* the kernel has the trampoline for sig */
static int chld_wanted;               /* a waitpid needs SIGCHLD notifications */
static int chld_active;               /* ... and gets them */
static int act_lock;                  /* a spin lock, held with every signal blocked */
static uint64_t fork_mask;            /* the forking thread's, while it holds act_lock */

/* Take act_lock; *old gets the thread's signal mask to give back to act_unlock. */
static void act_lock_take(uint64_t *old) {
  uint64_t all = ~0ull;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, old, sizeof all);
  while (__atomic_exchange_n(&act_lock, 1, __ATOMIC_ACQUIRE))
    while (__atomic_load_n(&act_lock, __ATOMIC_RELAXED)) green__cpu_relax();
}

static void act_unlock(const uint64_t *old) {
  __atomic_store_n(&act_lock, 0, __ATOMIC_RELEASE);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, sizeof *old);
}

/* What the trampoline calls for sig, and how (act_lock held). */
static void publish(int sig, void *fn, int flags) {
  unsigned seq = prog_seq[sig];
  __atomic_store_n(&prog_seq[sig], seq + 1, __ATOMIC_RELAXED);
  /* release: a reader that sees either new value then sees the odd count */
  __atomic_store_n(&prog_fn[sig], fn, __ATOMIC_RELEASE);
  __atomic_store_n(&prog_flags[sig], flags, __ATOMIC_RELEASE);
  __atomic_store_n(&prog_seq[sig], seq + 2, __ATOMIC_RELEASE);
}

/* The function and flags of one publish for sig. Async-signal-safe: a writer of this thread
 * blocks signals, and one of another thread finishes without waiting for anything. */
static void *published(int sig, int *flags) {
  for (;;) {
    unsigned seq = __atomic_load_n(&prog_seq[sig], __ATOMIC_ACQUIRE);
    void *fn = __atomic_load_n(&prog_fn[sig], __ATOMIC_ACQUIRE); /* before the count again */
    *flags = __atomic_load_n(&prog_flags[sig], __ATOMIC_ACQUIRE);
    if (!(seq & 1) && __atomic_load_n(&prog_seq[sig], __ATOMIC_RELAXED) == seq) return fn;
  }
}

static __thread ev_async intr_async;
static __thread green_t *intr_target;   /* set by the trampoline, taken by the hub */
static __thread green_t *mask_waiter;   /* parked in a call with a signal mask */

static int is_function(void *fn) { return fn != (void *)SIG_DFL && fn != (void *)SIG_IGN; }

static void chld_notify(void);

/* The green thread pthread_kill or pthread_sigqueue sent sig to last, until a trampoline on
 * its hub takes it (green__shim_signal_send). */
static green_t *directed[_NSIG];

/* Take the green thread of this hub sig was sent to, if it was sent to one. */
static green_t *take_directed(struct green__hub *h, int sig) {
  green_t *g = __atomic_load_n(&directed[sig], __ATOMIC_ACQUIRE);
  if (!g || g->hub != h) return NULL; /* a greenlet's hub never changes */
  return __atomic_compare_exchange_n(&directed[sig], &g, NULL, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED) ? g : NULL;
}

/* The green thread a signal interrupts: the one it was sent to. Else the one parked with a
 * signal mask, else the main thread (main()'s, not a hub thread's first greenlet), else
 * another parked one of this hub. Never one that blocks the signal. */
static green_t *interrupted(struct green__hub *h, int sig) {
  green_t *g = take_directed(h, sig);
  if (g) return green__shim_sigmask_blocks(g, sig) ? NULL : g;
  if (mask_waiter && !green__shim_sigmask_blocks(mask_waiter, sig)) return mask_waiter;
  if (h->tid == getpid() && !green__shim_sigmask_blocks(h->main, sig)) return h->main;
  return green__shim_threads_unblocked(h, sig);
}

/* Interrupt the thread's parked call, if a signal interrupts it (see the top comment). */
static void interrupt(int sig, int restart) {
  green__shim_tls_t *t = &green__shim_tls;
  struct green__hub *h = t->hub;
  green__shim_thread_t *rec;
  green_t *g;
  if (!h || t->busy || !ev_is_active(&intr_async) || !(g = interrupted(h, sig))) return;
  rec = g->ext;
  if (!rec || rec->intr == GREEN__INTR_NEVER || (rec->intr == GREEN__INTR_RESTART && restart))
    return;
  __atomic_store_n(&intr_target, g, __ATOMIC_RELAXED);
  ev_async_send(h->loop, &intr_async);
}

/* SA_RESETHAND: the kernel has reset the disposition already; so does the program's view. */
static void reset_hand(int sig) {
  uint64_t old;
  act_lock_take(&old);
  wrapped[sig] = 0;
  publish(sig, (void *)SIG_DFL, 0);
  act_unlock(&old);
}

static void trampoline(int sig, siginfo_t *si, void *uc) {
  int saved = errno, flags;
  void *fn = published(sig, &flags);
  if (flags & SA_RESETHAND) reset_hand(sig);
  green__shim_tls.sigdepth++;
  if (is_function(fn)) {
    if (flags & SA_SIGINFO) ((void (*)(int, siginfo_t *, void *))fn)(sig, si, uc);
    else ((void (*)(int))fn)(sig);
  }
  green__shim_tls.sigdepth--;
  if (sig == SIGCHLD) chld_notify();
  if (is_function(fn)) interrupt(sig, flags & SA_RESTART);
  errno = saved;
}

/* Whether the kernel should get the trampoline for this action of the program. */
static int needs_trampoline(int sig, const struct sigaction *act) {
  if (is_function((void *)act->sa_handler)) return 1;
  return sig == SIGCHLD && chld_wanted && act->sa_handler == SIG_DFL &&
         !(act->sa_flags & SA_NOCLDWAIT);
}

/* The kernel's action for sig. The runtime's overflow handler may have SIGSEGV and SIGBUS
 * (src/overflow.c). For those, it is the action that handler passes the program's own faults
 * on to. */
static int kernel_sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (green__overflow_owns_signal(sig)) return green__overflow_chain(sig, act, old);
  return green__real.sigaction(sig, act, old);
}

/* Install the program's action `act` for sig (the trampoline where needed); *old gets what
 * the program had (its own view). */
static int install(int sig, const struct sigaction *act, struct sigaction *old) {
  struct sigaction prev, tramp;
  int was = wrapped[sig], r;
  if (was) prev = prog[sig];
  if (!act || !needs_trampoline(sig, act)) {
    r = kernel_sigaction(sig, act, was ? NULL : &prev);
    if (r == 0 && act) wrapped[sig] = 0;
    if (r == 0 && act && sig == SIGCHLD)
      __atomic_store_n(&chld_active,
                       act->sa_handler == SIG_DFL && !(act->sa_flags & SA_NOCLDWAIT),
                       __ATOMIC_RELAXED);
  } else {
    prog[sig] = *act;
    publish(sig, (void *)act->sa_handler, act->sa_flags);
    tramp = *act;
    tramp.sa_sigaction = trampoline;
    tramp.sa_flags |= SA_SIGINFO;
    if (sig == SIGCHLD && !is_function((void *)act->sa_handler)) tramp.sa_flags |= SA_RESTART;
    r = kernel_sigaction(sig, &tramp, was ? NULL : &prev);
    if (r == 0) wrapped[sig] = 1;
    if (r == 0 && sig == SIGCHLD)
      __atomic_store_n(&chld_active, !(act->sa_flags & SA_NOCLDWAIT), __ATOMIC_RELAXED);
  }
  if (r == 0 && old) *old = prev;
  return r;
}

/* The timer signal of preemption and the watchdog (src/tick.c) stays the runtime's. The
 * program's action for it is only recorded and reported back. It is called for the signals
 * that are not ticks (kill, out-of-band data). SIG_DFL and SIG_IGN both ignore SIGURG. So does
 * the dump signal (--dump-signal), whose program action is never called. */
static struct sigaction tick_prog, dump_prog; /* the program's view; all-zero is SIG_DFL */

static int keep_install(int sig, const struct sigaction *act, struct sigaction *old) {
  struct sigaction *kept = sig == GREEN__TICK_SIGNAL ? &tick_prog : &dump_prog;
  struct sigaction prev = *kept;
  if (act) {
    *kept = *act;
    publish(sig, (void *)act->sa_handler, act->sa_flags);
  }
  if (old) *old = prev;
  return 0;
}

void green__shim_signal_foreign(int sig, siginfo_t *si, void *uc) {
  int flags;
  uint64_t old;
  if (!is_function(published(sig, &flags))) return;
  if (flags & SA_RESETHAND) {
    act_lock_take(&old);
    memset(&tick_prog, 0, sizeof tick_prog);
    act_unlock(&old);
  }
  trampoline(sig, si, uc);
}

GREEN__SHIM_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  uint64_t mask;
  int r;
  green__real_ready();
  if (sig <= 0 || sig >= _NSIG || sig == SIGKILL || sig == SIGSTOP)
    return green__real.sigaction(sig, act, old);
  act_lock_take(&mask);
  if ((sig == GREEN__TICK_SIGNAL && green__tick_owns_signal()) || sig == green__dump_signal ||
      sig == green__stats_signal)
    r = keep_install(sig, act, old);
  else
    r = install(sig, act, old);
  act_unlock(&mask);
  return r;
}

/* glibc's signal(): BSD semantics, restarting calls. */
GREEN__SHIM_EXPORT __sighandler_t signal(int sig, __sighandler_t handler) {
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  sigemptyset(&act.sa_mask);
  if (sig > 0 && sig < _NSIG) sigaddset(&act.sa_mask, sig);
  act.sa_flags = SA_RESTART;
  return sigaction(sig, &act, &old) == 0 ? old.sa_handler : SIG_ERR;
}

/* ---- interrupting parked calls ---------------------------------------------------------- */

/* Runs on the hub's stack. */
static void intr_cb(struct ev_loop *loop, ev_async *w, int revents) {
  struct green__hub *h = ev_userdata(loop);
  green_t *g = __atomic_exchange_n(&intr_target, NULL, __ATOMIC_RELAXED);
  green__shim_thread_t *rec = g ? g->ext : NULL;
  (void)w, (void)revents;
  if (g && g->state == GREEN_BLOCKED && rec && rec->intr != GREEN__INTR_NEVER)
    green__wake(h, g, -EINTR);
}

void green__shim_signal_attach(struct green__hub *h) {
  ev_async_init(&intr_async, intr_cb);
  green__ownfd_depth++; /* the loop's first async watcher makes its wake-up fd */
  ev_async_start(h->loop, &intr_async);
  green__ownfd_depth--;
}

void green__shim_mask_begin(struct green__hub *h, const sigset_t *mask,
                            green__shim_mask_save_t *saved) {
  green_t *g = h->current;
  sigset_t set;
  uint64_t w;
  mask_waiter = g;
  saved->word = g->sigmask;
  if (!mask) return;
  if (green__shim_config.native) {
    pthread_sigmask(SIG_SETMASK, mask, &saved->set);
    return;
  }
  set = *mask;
  sigdelset(&set, SIGKILL);
  sigdelset(&set, SIGSTOP);
  memcpy(&w, &set, sizeof w);
  green__shim_sigmask_set(h, g, w);
}

void green__shim_mask_end(struct green__hub *h, const sigset_t *mask,
                          const green__shim_mask_save_t *saved) {
  if (mask && green__shim_config.native) pthread_sigmask(SIG_SETMASK, &saved->set, NULL);
  else if (mask) green__shim_sigmask_set(h, h->current, saved->word);
  mask_waiter = NULL;
}

/* pause and sigsuspend: park, with the mask, until a handler's return interrupts. */
static int suspend(struct green__hub *h, const sigset_t *mask, const char *call) {
  green__shim_wait_t w = {.kind = GREEN_WAIT_CALL, .call = call, .at = INFINITY,
                          .loop_wait = 1, .intr = GREEN__INTR_ALWAYS, .signal_first = 1,
                          .mask = mask};
  while (green__shim_park(h, &w) != -EINTR) {
  }
  return green__fail(-EINTR);
}

/* raise: a safe point, then libc's. So a thread that loops raising a signal lets the others
 * run when its time slice is up. */
GREEN__SHIM_EXPORT int raise(int sig) {
  green__real_ready();
  green__shim_hub();
  return green__real.raise(sig);
}

GREEN__SHIM_EXPORT int pause(void) {
  struct green__hub *h;
  green__real_ready();
  if (!(h = green__shim_hub())) return green__real.pause();
  return suspend(h, NULL, "pause");
}

GREEN__SHIM_EXPORT int sigsuspend(const sigset_t *mask) {
  struct green__hub *h;
  green__real_ready();
  if (!(h = green__shim_hub())) return green__real.sigsuspend(mask);
  return suspend(h, mask, "sigsuspend");
}

/* ---- sigwait and friends: a signalfd the greenlet parks on ------------------------------ */

/* Take one signal of `set` that is pending for the thread. Returns its number, or -EAGAIN
 * when `at` passed, or -EINTR when a handler of another signal interrupted. */
static int take_signal(struct green__hub *h, const sigset_t *set, siginfo_t *info, double at,
                       int intr, const char *call) {
  struct signalfd_siginfo si;
  int fd = green__ownfd_move(signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC)), r;
  if (fd < 0) return -errno;
  for (;;) {
    ssize_t n = green__real.read(fd, &si, sizeof si);
    if (n == (ssize_t)sizeof si) {
      r = (int)si.ssi_signo;
      break;
    }
    r = green__shim_wait_fd(h, fd, GREEN_READ, at, intr, call);
    if (r < 0) {
      r = r == -ETIMEDOUT ? -EAGAIN : r;
      break;
    }
  }
  green__ownfd_close(fd);
  if (r > 0 && info) {
    memset(info, 0, sizeof *info);
    info->si_signo = r;
    info->si_errno = si.ssi_errno;
    info->si_code = si.ssi_code;
    info->si_pid = (pid_t)si.ssi_pid;
    info->si_uid = (uid_t)si.ssi_uid;
    info->si_status = si.ssi_status;
    info->si_value.sival_ptr = (void *)(uintptr_t)si.ssi_ptr;
  }
  return r;
}

GREEN__SHIM_EXPORT int sigwait(const sigset_t *restrict set, int *restrict sig) {
  struct green__hub *h;
  int r;
  green__real_ready();
  if (!(h = green__shim_hub())) return green__real.sigwait(set, sig);
  while ((r = take_signal(h, set, NULL, INFINITY, GREEN__INTR_NEVER, "sigwait")) == -EINTR) {
  }
  if (r < 0) return -r;
  *sig = r;
  return 0;
}

GREEN__SHIM_EXPORT int sigtimedwait(const sigset_t *restrict set, siginfo_t *restrict info,
                                    const struct timespec *restrict ts) {
  struct green__hub *h;
  double s = 0;
  int r;
  green__real_ready();
  if (!(h = green__shim_hub()) || (ts && (s = green__ts_checked(ts)) < 0))
    return green__real.sigtimedwait(set, info, ts);
  r = take_signal(h, set, info, ts ? green_now() + s : INFINITY, GREEN__INTR_ALWAYS,
                  "sigtimedwait");
  return r < 0 ? green__fail(r) : r;
}

GREEN__SHIM_EXPORT int sigwaitinfo(const sigset_t *restrict set, siginfo_t *restrict info) {
  green__real_ready();
  if (!green__shim_hub()) return green__real.sigwaitinfo(set, info);
  return sigtimedwait(set, info, NULL);
}

/* ---- SIGCHLD ---------------------------------------------------------------------------- */

enum { SLOTS = 64 };

static int chld_efd[SLOTS] = {[0 ... SLOTS - 1] = -1};
static unsigned chld_generation;
static __thread int chld_slot = -1;
static __thread ev_io chld_io;
static __thread green__list_t chld_waiters;

static void chld_notify(void) {
  uint64_t one = 1;
  int i, fd;
  __atomic_add_fetch(&chld_generation, 1, __ATOMIC_RELEASE);
  for (i = 0; i < SLOTS; i++)
    if ((fd = __atomic_load_n(&chld_efd[i], __ATOMIC_ACQUIRE)) >= 0)
      if (syscall(SYS_write, fd, &one, sizeof one) < 0) continue; /* full counter: fine */
}

unsigned green__shim_chld_gen(void) { return __atomic_load_n(&chld_generation, __ATOMIC_ACQUIRE); }

/* Runs on the hub's stack: drain the eventfd, wake every waiter of this hub. */
static void chld_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct green__hub *h = ev_userdata(loop);
  uint64_t n;
  green__list_t *l;
  (void)revents;
  while (green__real.read(w->fd, &n, sizeof n) > 0) {
  }
  while ((l = chld_waiters.next) != &chld_waiters)
    green__wake(h, green__container_of(l, green_t, wait_link), 0);
}

/* This hub's notification slot and watcher, and the SIGCHLD trampoline; 0 or -1. */
static int chld_setup(struct green__hub *h) {
  struct sigaction cur;
  int fd, i, none = -1;
  if (chld_slot < 0) {
    if ((fd = green__ownfd_move(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))) < 0) return -1;
    for (i = 0; i < SLOTS; i++, none = -1)
      if (__atomic_compare_exchange_n(&chld_efd[i], &none, fd, 0, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE))
        break;
    if (i == SLOTS) {
      green__ownfd_close(fd);
      return -1;
    }
    chld_slot = i;
    green__list_init(&chld_waiters);
    ev_io_init(&chld_io, chld_cb, fd, EV_READ);
    ev_io_start(h->loop, &chld_io);
  }
  if (!__atomic_exchange_n(&chld_wanted, 1, __ATOMIC_ACQ_REL)) {
    uint64_t old;
    act_lock_take(&old);
    if (!wrapped[SIGCHLD] && green__real.sigaction(SIGCHLD, NULL, &cur) == 0 &&
        cur.sa_handler == SIG_DFL)
      install(SIGCHLD, &cur, NULL);
    act_unlock(&old);
  }
  return 0;
}

int green__shim_chld_park(struct green__hub *h, unsigned gen) {
  sigset_t mask;
  double interval = 1.0;
  int r;
  if (chld_setup(h) < 0 || !__atomic_load_n(&chld_active, __ATOMIC_RELAXED) ||
      (pthread_sigmask(SIG_SETMASK, NULL, &mask) == 0 && sigismember(&mask, SIGCHLD)))
    interval = 0.01;
  if (green__shim_chld_gen() != gen) return 0;
  r = green__shim_park(h, &(green__shim_wait_t){.kind = GREEN_WAIT_CALL, .call = "waitpid",
                                                .at = green_now() + interval,
                                                .loop_wait = chld_slot >= 0,
                                                .intr = GREEN__INTR_RESTART,
                                                .list = chld_slot >= 0 ? &chld_waiters : NULL});
  return r == GREEN__TIMER ? 0 : r;
}

void green__shim_signal_after_fork(void) {
  int i, fd;
  for (i = 0; i < SLOTS; i++)
    if ((fd = chld_efd[i]) >= 0) {
      green__ownfd_close(fd);
      chld_efd[i] = -1;
    }
  chld_slot = -1;
  intr_target = mask_waiter = NULL;
  memset(directed, 0, sizeof directed); /* the parent's green threads */
  act_unlock(&fork_mask);
}

/* ---- pthread_kill and pthread_sigqueue of a green thread --------------------------------- */

/* sig (with value, for pthread_sigqueue) to OS thread tid of this process: 0 or an errno. */
static int send_to(pid_t tid, int sig, const union sigval *value) {
  siginfo_t si;
  pid_t pid = getpid();
  long r;
  if (!value) {
    r = syscall(SYS_tgkill, pid, tid, sig);
  } else {
    memset(&si, 0, sizeof si);
    si.si_signo = sig;
    si.si_code = SI_QUEUE;
    si.si_pid = pid;
    si.si_uid = getuid();
    si.si_value = *value;
    r = syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, &si);
  }
  return r < 0 ? errno : 0;
}

int green__shim_signal_send(green_t *g, int sig, const union sigval *value) {
  struct green__hub *h = g->hub;
  int saved = errno, r;
  if (sig < 0 || sig >= _NSIG) return EINVAL;
  if (sig) __atomic_store_n(&directed[sig], g, __ATOMIC_RELEASE);
  r = send_to(h ? h->tid : (pid_t)syscall(SYS_gettid), sig, value);
  errno = saved;
  return r;
}

/* ---- fork ------------------------------------------------------------------------------- */

void green__shim_signal_before_fork(void) { act_lock_take(&fork_mask); }

void green__shim_signal_after_fork_parent(void) { act_unlock(&fork_mask); }

/* For syscall() (syscall.c). */
GREEN__SHIM_HOOK_ALIAS(pause);
