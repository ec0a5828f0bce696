/* SPDX-License-Identifier: MIT */
/*
 * The hub's timer signal (tick.h): preemption and the watchdog, sharing one handler.
 *
 * Two POSIX timers per hub send GREEN__TICK_SIGNAL to the hub's own thread (SIGEV_THREAD_ID).
 * - The slice timer counts the thread's CPU time, every half slice. A thread that sleeps in its
 *   loop or blocks in a system call uses none, so the timer never fires then. Preemption alone
 *   thus never interrupts a blocking call. The running greenlet is due to yield when it has not
 *   switched for a whole slice and others are waiting. It yields at once, from the handler,
 *   when the interrupted code is a safe point (below). Else it yields where a layer on top
 *   checks h->yield_due (at the program's next call it intercepts), or at a later tick.
 * - The watchdog timer counts wall time. The loop re-arms it after its polls (at most 16
 *   times a period) and disarms it before it sleeps. So it fires only when the hub has not
 *   polled for about a whole period. The handler writes one report if the hub keeps another
 *   greenlet waiting: one ready, or waiting for an fd or a timer. It does not when the thread
 *   is merely descheduled by a busy machine. The report gives the call the thread is in, the
 *   greenlet and a backtrace. The timer then stays disarmed until the next poll. That one
 *   signal may interrupt the blocking call: poll, nanosleep and timed futex waits end with
 *   EINTR even with SA_RESTART. That is one per episode, where the program is stuck anyway.
 * Both timers are armed only once a second greenlet exists.
 *
 * A safe point is code of the program's own. The interrupted frame and every caller up to the
 * thread's start are outside libc, the loader, the runtime (libgreen's object), libev, c-ares,
 * the unwinder, allocators and sanitizers. So no lock of theirs is held. Below the program's
 * frames, only the runtime's and libc's start frames may follow. Such code is written for OS
 * threads, which may be preempted anywhere: its own locks are pthread's, and green. The walk
 * uses libunwind. It is loaded with RTLD_LOCAL, so its _Unwind_* functions never replace
 * libgcc's. Without it there is no preemption from the handler, and the report has no
 * backtrace. Code not in any loaded object (JIT code) is not a safe point.
 *
 * The preempted greenlet is switched out inside the handler. With SA_NODEFER, the next
 * greenlet runs with the same signal mask. When the preempted one is switched back, the
 * handler returns and the kernel restores every register it saved.
 */
#include "tick.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "hub.h"
#include "internal.h"
#include "ownfd.h"
#include "dump.h"
#include "report.h"
#include "threadsafe.h"

#define SLICE_TICKS 2      /* slice timer periods per slice */
#define DOG_REARMS 16      /* watchdog re-arms per period, at most */
#define MAX_FRAMES 64      /* frames a safe-point walk looks at */

struct green__tick {
  timer_t slice_timer, dog_timer;
  uint8_t have_slice, have_dog;
  uint8_t in_handler;
  uint8_t dog_armed;
  uint8_t slice_armed;
  uint8_t reported;           /* this episode's report is written */
  unsigned slice_ticks;       /* slice periods without a switch */
  unsigned long long seen_switches;
  double dog_armed_at;
  double dog_armed_cpu;       /* the thread's CPU time then */
  double last_poll;           /* when the loop last polled (CLOCK_MONOTONIC) */
};

static struct {
  int configured;
  int stopped;                /* green__tick_stop_all: no timer is armed again */
  double slice, watchdog;
  green__tick_ops_t ops;
  int handler_installed;
  uintptr_t runtime_base;     /* load address of the object libgreen is in */
  int runtime_in_program;     /* libgreen is linked into the executable: no safe points */
} cfg;

static const char slice_tag, dog_tag; /* the timers' sigev_value */

/* ---- which code an address is --------------------------------------------------------- */

/* Whether a program frame found below the runtime's is a start frame (the executable's entry
 * point, which calls __libc_start_main). */
static int start_frame(unw_cursor_t *c) {
  unw_proc_info_t pi;
  return green__unw.get_proc_info(c, &pi) == 0 && pi.start_ip == getauxval(AT_ENTRY);
}

/* Whether the code uc interrupted is a safe point (the top comment). */
static int safe_point(ucontext_t *uc) {
  unw_cursor_t c;
  unw_word_t ip;
  int n, below = 0, r;
  if (!green__unw.ready || cfg.runtime_in_program) return 0;
  if (green__unw.init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) < 0) return 0;
  for (n = 0; n < MAX_FRAMES; n++) {
    if (green__unw.get_reg(&c, UNW_REG_IP, &ip) < 0) return 0;
    switch (green__code_of((uintptr_t)ip - (n > 0))) { /* a return address may be past its call */
    case GREEN__CODE_NONE:
      return 0;
    case GREEN__CODE_PROGRAM:
      if (below && !start_frame(&c)) return 0; /* program code called back from the runtime */
      break;
    default:
      if (n == 0) return 0;
      below = 1;
    }
    if ((r = green__unw.step(&c)) <= 0) return below; /* the stack's end, or a start frame's edge */
  }
  return 0;
}

/* ---- timers --------------------------------------------------------------------------- */


static struct timespec ts_of(double s) {
  struct timespec ts;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  return ts;
}

static int make_timer(clockid_t clock, const char *tag, timer_t *t) {
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = GREEN__TICK_SIGNAL;
  sev.sigev_value.sival_ptr = (void *)tag;
  sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  return timer_create(clock, &sev, t) == 0 ? 0 : -errno;
}

static void set_timer(timer_t t, double first, double every) {
  struct itimerspec its;
  its.it_value = ts_of(first);
  its.it_interval = ts_of(every);
  timer_settime(t, 0, &its, NULL);
}

/* Whether a greenlet other than the running one exists or may be woken. Only then can a
 * greenlet that keeps the CPU, or a blocked hub, hold anybody up. */
static int others_exist(struct green__hub *h) {
  return h->ngreenlets || h->nloop_waits || h->calls.nheap || !green__list_empty(&h->calls.soon);
}

/* libunwind is loaded when the timers are first armed, never in the handler. A program with
 * one thread never loads it, so it has no fd of it. */
static void unwinder_ready(void) { green__unwind_load(); }

static int stopped(void) { return __atomic_load_n(&cfg.stopped, __ATOMIC_ACQUIRE); }

static void arm_slice(struct green__tick *t) {
  if (!t->have_slice || t->slice_armed || stopped()) return;
  unwinder_ready();
  set_timer(t->slice_timer, cfg.slice / SLICE_TICKS, cfg.slice / SLICE_TICKS);
  t->slice_armed = 1;
}


static void arm_watchdog(struct green__tick *t, double now) {
  if (stopped()) return;
  unwinder_ready();
  set_timer(t->dog_timer, cfg.watchdog, 0);
  t->dog_armed_at = now;
  t->dog_armed_cpu = green__clock_seconds(CLOCK_THREAD_CPUTIME_ID);
  t->dog_armed = 1;
}

void green__tick_polled(struct green__hub *h) {
  struct green__tick *t = h->tick;
  double now;
  if (!t) return;
  if (!others_exist(h)) { /* a program with one thread is never interrupted */
    green__tick_sleep(h);
    return;
  }
  arm_slice(t);
  if (!t->have_dog) return;
  now = h->last_poll; /* the loop's coarse clock, read just now: CLOCK_MONOTONIC's */
  __atomic_store_n(&t->reported, 0, __ATOMIC_RELAXED);
  t->last_poll = now;
  if (!t->dog_armed || now - t->dog_armed_at >= cfg.watchdog / DOG_REARMS) arm_watchdog(t, now);
}

void green__tick_spawned(struct green__hub *h) {
  struct green__tick *t = h->tick;
  if (!t || (t->slice_armed && (t->dog_armed || !t->have_dog))) return;
  arm_slice(t);
  if (t->have_dog && !t->dog_armed) arm_watchdog(t, t->last_poll = green_now());
}

void green__tick_sleep(struct green__hub *h) {
  struct green__tick *t = h->tick;
  if (!t || !t->dog_armed) return;
  set_timer(t->dog_timer, 0, 0);
  t->dog_armed = 0;
}

/* ---- the report ----------------------------------------------------------------------- */

/* System calls a blocked hub is likely found in, and whether their first argument is an fd. */
static const struct {
  long nr;
  const char *name;
  int fd;
} calls[] = {
#ifdef __x86_64__
    {0, "read", 1}, {1, "write", 1}, {7, "poll", 0}, {17, "pread64", 1}, {18, "pwrite64", 1},
    {19, "readv", 1}, {20, "writev", 1}, {23, "select", 0}, {34, "pause", 0},
    {35, "nanosleep", 0}, {40, "sendfile", 1}, {42, "connect", 1}, {43, "accept", 1},
    {44, "sendto", 1}, {45, "recvfrom", 1}, {46, "sendmsg", 1}, {47, "recvmsg", 1},
    {61, "wait4", 0}, {64, "semget", 0}, {65, "semop", 0}, {69, "msgsnd", 0},
    {70, "msgrcv", 0}, {72, "fcntl", 1}, {73, "flock", 1}, {128, "rt_sigtimedwait", 0},
    {130, "rt_sigsuspend", 0}, {202, "futex", 0}, {220, "semtimedop", 0},
    {230, "clock_nanosleep", 0}, {232, "epoll_wait", 1}, {242, "mq_timedsend", 1},
    {243, "mq_timedreceive", 1}, {247, "waitid", 0}, {257, "openat", 0}, {270, "pselect6", 0},
    {271, "ppoll", 0}, {275, "splice", 1}, {281, "epoll_pwait", 1}, {288, "accept4", 1},
    {299, "recvmmsg", 1}, {307, "sendmmsg", 1}, {426, "io_uring_enter", 1},
#endif
    {-1, NULL, 0}};

/* The system call uc interrupted, if any: *nr and its first argument. *nr is -1 when the call
 * ended with EINTR and its number is gone. */
static int interrupted_call(const ucontext_t *uc, long *nr, long *arg0) {
#ifdef __x86_64__
  const unsigned char *ip = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
  long ax = (long)uc->uc_mcontext.gregs[REG_RAX];
  *arg0 = (long)uc->uc_mcontext.gregs[REG_RDI];
  if (ip[0] == 0x0f && ip[1] == 0x05) { /* rewound to restart: ax is the number again */
    *nr = ax;
    return 1;
  }
  if (ip[-2] == 0x0f && ip[-1] == 0x05 && ax == -EINTR) {
    *nr = -1;
    return 1;
  }
#else
  (void)uc, (void)nr, (void)arg0;
#endif
  return 0;
}

static void put_call(green__report_t *o, const ucontext_t *uc) {
  long nr, arg0;
  size_t i;
  if (!interrupted_call(uc, &nr, &arg0)) {
    green__report_put(o, "running (in no system call)");
    return;
  }
  for (i = 0; calls[i].name && calls[i].nr != nr; i++) {
  }
  if (!calls[i].name) {
    green__report_put(o, nr < 0 ? "in a system call (which this report's signal interrupted)" : "in system call %ld", nr);
    return;
  }
  if (calls[i].fd) green__report_put(o, "in %s(fd %ld, %s)", calls[i].name, arg0, green__report_fd_kind((int)arg0));
  else green__report_put(o, "in %s()", calls[i].name);
}

static void report(struct green__hub *h, ucontext_t *uc, double blocked) {
  green__report_t o;
  char indent[128];
  snprintf(indent, sizeof indent, "%s:   ", green__report_prefix());
  green__report_init(&o, 2);
  green__report_put(&o, "%s: the hub ", green__report_prefix());
  if (__atomic_load_n(&green__nhubs, __ATOMIC_RELAXED) > 1) /* say which */
    green__report_put(&o, "of thread %d (number %u) ", (int)h->tid, h->number);
  green__report_put(&o, "has been blocked for %.1f s ", blocked);
  put_call(&o, uc);
  green__report_put(&o, ", ");
  green__report_name(&o, h->current);
  green__report_put(&o, "\n");
  green__report_flush(&o);
  green__report_backtrace_signal(&o, uc, indent);
  green__report_flush(&o);
}

/* ---- the handler ---------------------------------------------------------------------- */

/* Whether the running greenlet keeps others from their turn: greenlets ready, fds or timers
 * to poll, soon calls, or calls that other hubs have queued (a thread born there, a wake-up). */
static int others_ready(struct green__hub *h) {
  size_t hub_queued = !green__list_empty(&h->hub.run_link);
  return h->nready > hub_queued || h->nloop_waits || h->calls.nheap ||
         !green__list_empty(&h->calls.soon) || green__threadsafe_queued(h);
}

static void on_slice(struct green__hub *h, struct green__tick *t, ucontext_t *uc) {
  if (h->switches != t->seen_switches || h->current == &h->hub) {
    t->seen_switches = h->switches;
    t->slice_ticks = 0;
    return;
  }
  if (++t->slice_ticks < SLICE_TICKS || !others_ready(h)) return;
  h->yield_due = 1;
  if (h->current->nopreempt || !safe_point(uc)) return; /* at its next hooked call, or later */
  t->slice_ticks = 0;
  green__report_leave();
  green__ownfd_depth--;
  t->in_handler = 0;
  green__hub_preempt(h); /* returns when the greenlet's turn comes again */
  t->in_handler = 1;
  green__ownfd_depth++;
  green__report_enter();
}

/* Whether the hub keeps a greenlet waiting. That is a greenlet other than the running one that
 * could run now, or as soon as the loop polls. It waits for an fd or a timer, or a timed call
 * is pending. Greenlets that wait for the running one (a join, a lock it holds) are not kept
 * waiting. */
static int others_kept_waiting(struct green__hub *h) {
  return others_ready(h) || h->nloop_waits || h->calls.nheap;
}

/* The thread computed (in no system call) but had the CPU for under half the time. So the
 * machine is busy with other processes, not the hub with one greenlet. */
static int descheduled(struct green__tick *t, const ucontext_t *uc, double now) {
  long nr, arg0;
  return !interrupted_call(uc, &nr, &arg0) &&
         green__clock_seconds(CLOCK_THREAD_CPUTIME_ID) - t->dog_armed_cpu < (now - t->dog_armed_at) / 2;
}

static void look_again(struct green__tick *t, double in, double now) {
  if (stopped()) return;
  set_timer(t->dog_timer, in, 0);
  t->dog_armed_at = now;
  t->dog_armed_cpu = green__clock_seconds(CLOCK_THREAD_CPUTIME_ID);
  t->dog_armed = 1;
}

static void on_watchdog(struct green__hub *h, struct green__tick *t, ucontext_t *uc) {
  double now = green_now(), blocked = now - t->last_poll;
  t->dog_armed = 0; /* one-shot: re-armed by the next poll */
  if (t->reported || !others_kept_waiting(h)) return;
  if (blocked < cfg.watchdog * (DOG_REARMS - 1) / DOG_REARMS) {
    look_again(t, cfg.watchdog - blocked, now); /* early: the rest of the period */
  } else if (descheduled(t, uc, now)) {
    look_again(t, cfg.watchdog / 4, now);
  } else {
    t->reported = 1;
    report(h, uc, blocked);
  }
}

/* Another thread's dump asks for this hub's section. */
static void answer_dump(struct green__hub *h, ucontext_t *uc) {
  green__ownfd_depth++;
  green__report_enter();
  green__dump_answer(h, uc);
  green__report_leave();
  green__ownfd_depth--;
}

static void on_tick(int sig, siginfo_t *si, void *ucv) {
  struct green__hub *h = green__hub_peek();
  struct green__tick *t = h ? h->tick : NULL;
  int saved = errno;
  const void *tag = si->si_code == SI_TIMER ? si->si_value.sival_ptr : NULL;
  if (si->si_code == SI_QUEUE && si->si_pid == getpid() && si->si_value.sival_ptr == &green__dump_tag) {
    if (h) answer_dump(h, ucv);
    errno = saved;
    return;
  }
  if (tag != &slice_tag && tag != &dog_tag) {
    if (cfg.ops.foreign) cfg.ops.foreign(sig, si, ucv);
    errno = saved;
    return;
  }
  if (!t || t->in_handler || stopped()) goto out; /* a tick sent before the stop */
  t->in_handler = 1;
  green__ownfd_depth++;
  green__report_enter();
  if (tag == &slice_tag) on_slice(h, t, ucv);
  else on_watchdog(h, t, ucv);
  green__report_leave();
  green__ownfd_depth--;
  t->in_handler = 0;
out:
  errno = saved;
}

/* ---- set-up --------------------------------------------------------------------------- */

static void find_runtime(void) {
  Dl_info self, prog;
  if (!dladdr((void *)green__tick_configure, &self)) return;
  cfg.runtime_base = (uintptr_t)self.dli_fbase;
  cfg.runtime_in_program =
      dladdr((void *)getauxval(AT_ENTRY), &prog) && prog.dli_fbase == self.dli_fbase;
}


static void install_handler(void) {
  struct sigaction sa;
  if (cfg.handler_installed) return;
  find_runtime();
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_tick;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(GREEN__TICK_SIGNAL, &sa, NULL) == 0) cfg.handler_installed = 1;
}

void green__tick_configure(double slice, double watchdog, const green__tick_ops_t *ops) {
  cfg.configured = 1;
  __atomic_store_n(&cfg.stopped, 0, __ATOMIC_RELEASE);
  cfg.slice = slice > 0 ? slice : 0;
  cfg.watchdog = watchdog > 0 ? watchdog : 0;
  if (ops) cfg.ops = *ops;
  if (cfg.slice || cfg.watchdog || cfg.ops.foreign) install_handler();
}

int green__tick_claim_signal(void) {
  struct sigaction old;
  if (!cfg.handler_installed && sigaction(GREEN__TICK_SIGNAL, NULL, &old) == 0 &&
      !(old.sa_flags & SA_SIGINFO) && (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN))
    install_handler();
  return cfg.handler_installed;
}

int green__tick_owns_signal(void) { return cfg.handler_installed; }

/* Under the hubs' lock: green__tick_stop_all reads the record from another thread. */
static int make_timers(struct green__hub *h) {
  struct green__tick *t = h->tick;
  int r;
  if (!t && !(t = h->tick = calloc(1, sizeof *t))) return -ENOMEM;
  t->last_poll = green_now();
  if (cfg.slice && !t->have_slice) {
    if ((r = make_timer(CLOCK_THREAD_CPUTIME_ID, &slice_tag, &t->slice_timer))) return r;
    t->have_slice = 1;
  }
  if (cfg.watchdog && !t->have_dog) {
    if ((r = make_timer(CLOCK_MONOTONIC, &dog_tag, &t->dog_timer))) return r;
    t->have_dog = 1;
  }
  return 0;
}

int green__tick_start(struct green__hub *h) {
  int r;
  if (!cfg.handler_installed || (!cfg.slice && !cfg.watchdog) || stopped()) return 0;
  green__hubs_lock();
  r = make_timers(h);
  green__hubs_unlock();
  if (r) return r;
  green__tick_polled(h);
  return 0;
}

void green__tick_forget(struct green__hub *h) {
  free(h->tick);
  h->tick = NULL;
}

void green__tick_stop(struct green__hub *h) {
  struct green__tick *t = h->tick;
  if (!t) return;
  green__hubs_lock(); /* green__tick_stop_all may be disarming it */
  h->tick = NULL;
  green__hubs_unlock();
  if (t->have_slice) timer_delete(t->slice_timer);
  if (t->have_dog) timer_delete(t->dog_timer);
  free(t);
}

/* Another hub's timers are only disarmed: its thread owns its record. POSIX timers belong to
 * the process, so any thread may set them. The lock keeps each record alive meanwhile. */
void green__tick_stop_all(void) {
  struct green__hub *self = green__hub_peek();
  green__list_t *n;
  __atomic_store_n(&cfg.stopped, 1, __ATOMIC_RELEASE);
  green__hubs_lock();
  for (n = green__hubs.next; n != &green__hubs; n = n->next) {
    struct green__hub *h = green__container_of(n, struct green__hub, all_link);
    struct green__tick *t = h->tick;
    if (!t || h == self) continue;
    if (t->have_slice) set_timer(t->slice_timer, 0, 0);
    if (t->have_dog) set_timer(t->dog_timer, 0, 0);
  }
  green__hubs_unlock();
  if (self) green__tick_stop(self);
}

static double env_seconds(const char *name) {
  const char *s = getenv(name);
  return s ? atof(s) / 1000 : 0;
}

void green__tick_configure_from_env(void) {
  if (cfg.configured) return;
  green__tick_configure(env_seconds("GREEN_TIMESLICE_MS"), env_seconds("GREEN_WATCHDOG_MS"), NULL);
}

double green__tick_watchdog_period(void) { return cfg.watchdog; }

int green__tick_set(struct green__hub *h, double slice, double watchdog) {
  if (!(slice >= 0) || !(watchdog >= 0)) return -EINVAL;
  if (!cfg.runtime_base) find_runtime();
  if (slice > 0 && cfg.runtime_in_program) return -ENOTSUP;
  green__tick_configure(slice, watchdog, NULL);
  if (!h) return 0;
  green__tick_stop(h);
  return green__tick_start(h);
}

int green_set_timeslice(double seconds) {
  int r = green__tick_set(green__hub_peek(), seconds, cfg.watchdog);
  return r ? green__fail(r) : 0;
}

int green_set_watchdog(double seconds) {
  int r = green__tick_set(green__hub_peek(), cfg.slice, seconds);
  return r ? green__fail(r) : 0;
}
