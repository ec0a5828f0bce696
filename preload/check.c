/* SPDX-License-Identifier: MIT */
/*
 * greenrun --check (GREEN_CHECK=1): which blocking calls still reach the kernel behind the
 * shim's back.
 *
 * Syscall User Dispatch (prctl PR_SET_SYSCALL_USER_DISPATCH, Linux 5.11) turns every system
 * call of a thread into a SIGSYS while the thread's selector byte says BLOCK. Calls made from
 * one allowed region are exempt: here check-x86_64.S, a few instructions of the shim's own.
 * The selector says BLOCK on every managed thread from main() on, so every call traps. That
 * includes the program's calls and the hooks' own: hooks call libc, whose syscall
 * instructions lie outside the region. The handler carries each call out itself through the
 * region's stub. It puts the result in the trapped context's rax and returns. The program
 * goes on as before. The handler reports a call only when all three hold:
 *  - Its number is one that can block, with arguments that let it block. Examples: no
 *    WNOHANG, no zero timeout, no MSG_DONTWAIT, a futex wait, a FIFO open ... An fd it works
 *    on is one the shim would run green: a socket, pipe, tty or anonymous-inode fd the
 *    program left blocking.
 *  - The gate would have let a hook run it green. So it is a managed thread, main() runs,
 *    and no signal handler runs. It is not the hub's own greenlet (libev's epoll_wait), and
 *    not the shim setting up.
 *  - The stack walk finds no hook on the way. The walk starts at the trapped instruction and
 *    passes libc and the other neutral objects (the loader, libgcc, the allocators, the
 *    sanitizers). The first frame after them is the program's, not the shim's, libev's or
 *    c-ares's.
 * Each (call, program frame) pair is reported once, with the trapped context's backtrace.
 *
 * Some calls mean something else when made inside a signal handler. They are emulated on
 * the trapped context:
 *  - rt_sigprocmask edits the mask the handler's return restores. It never blocks SIGSYS: a
 *    SIGSYS forced while blocked kills the process.
 *  - rt_sigreturn returns from the handler it was made for. glibc's restorer is outside the
 *    region.
 *  - sigaltstack is copied into the context.
 *  - clone onto a new stack lets the child resume on that stack, where the trapped call
 *    would have returned.
 *  - A forked child traps again. vfork is fork.
 * SIGSYS stays out of every other mask (sigaction's, ppoll's, sigsuspend's ...). The
 * program's own SIGSYS action is kept aside: seccomp's and kill's SIGSYS go to it.
 */
#include "check.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "../src/report.h"
#include "shim.h"


#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#endif
#define PR_SYS_DISPATCH_OFF 0
#define PR_SYS_DISPATCH_ON 1
#define SYSCALL_DISPATCH_FILTER_ALLOW 0
#define SYSCALL_DISPATCH_FILTER_BLOCK 1
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2 /* SIGSYS's si_code */
#endif
#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif
#define KERNEL_SA_RESTORER 0x04000000
#define SIGBIT(sig) (1ull << ((sig) - 1))

#if defined(__x86_64__)

extern char green__check_region_start[], green__check_region_end[];
long green__check_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
__attribute__((noreturn)) void green__check_sigreturn(void *sp);
long green__check_clone(const long regs[13]);
void green__check_restorer(void);

/* The kernel's struct sigaction (x86_64). */
typedef struct ksigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint64_t mask;
} ksigaction_t;

/* clone3's arguments, as far as the handler looks (CLONE_ARGS_SIZE_VER0). */
typedef struct clone_args0 {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
} clone_args0_t;

static __thread char selector __attribute__((tls_model("initial-exec")));
static ksigaction_t prog_sys; /* the program's SIGSYS action: its view */
static int ready;             /* the handler is installed */

#define SITES 1024
static uintptr_t sites[SITES]; /* (call, site) pairs reported, open addressing */

static void set_selector(char v) {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  __atomic_store_n(&selector, v, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static long call6(long nr, const long a[6]) {
  return green__check_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ---- which calls can block ------------------------------------------------------------ */

enum { TEST_NONE, TEST_FD, TEST_NONBLOCK, TEST_FIFO };

typedef struct blocking_call {
  const char *name;
  int fd;       /* shown in the report; -1: none */
  int test;     /* what decides whether it can block: the fd's kind and mode, its mode, a path */
  const char *path;
  int dir;
} blocking_call_t;

static int zero_ts(long p) {
  const struct timespec *ts = (const struct timespec *)p;
  return ts && ts->tv_sec == 0 && ts->tv_nsec == 0;
}

static int zero_tv(long p) {
  const struct timeval *tv = (const struct timeval *)p;
  return tv && tv->tv_sec == 0 && tv->tv_usec == 0;
}

static int futex_waits(long op) {
  switch (op & FUTEX_CMD_MASK) {
  case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_LOCK_PI: case FUTEX_WAIT_REQUEUE_PI:
  case 13: /* FUTEX_LOCK_PI2 */
    return 1;
  }
  return 0;
}

static int sem_waits(long ops, long n) {
  const struct sembuf *b = (const struct sembuf *)ops;
  long i;
  for (i = 0; b && i < n && i < 64; i++)
    if (!(b[i].sem_flg & IPC_NOWAIT)) return 1;
  return n > 64;
}

static int fd_call(blocking_call_t *c, const char *name, long fd, int test) {
  c->name = name;
  c->fd = (int)fd;
  c->test = test;
  return 1;
}

static int plain_call(blocking_call_t *c, const char *name) { return fd_call(c, name, -1, TEST_NONE); }

static int fifo_open(blocking_call_t *c, const char *name, int dir, long path, long flags) {
  if ((flags & (O_NONBLOCK | O_PATH | O_CREAT)) || (flags & O_ACCMODE) == O_RDWR) return 0;
  c->path = (const char *)path;
  c->dir = dir;
  return fd_call(c, name, -1, TEST_FIFO);
}

/* Whether call nr with arguments a can block; *c says how to tell more. */
static int blocking(long nr, const long *a, blocking_call_t *c) {
  switch (nr) {
  case SYS_read: return fd_call(c, "read", a[0], TEST_FD);
  case SYS_write: return fd_call(c, "write", a[0], TEST_FD);
  case SYS_readv: return fd_call(c, "readv", a[0], TEST_FD);
  case SYS_writev: return fd_call(c, "writev", a[0], TEST_FD);
  case SYS_preadv2: return !(a[5] & RWF_NOWAIT) && fd_call(c, "preadv2", a[0], TEST_FD);
  case SYS_pwritev2: return !(a[5] & RWF_NOWAIT) && fd_call(c, "pwritev2", a[0], TEST_FD);
  case SYS_recvfrom: return !(a[3] & MSG_DONTWAIT) && fd_call(c, "recvfrom", a[0], TEST_FD);
  case SYS_sendto: return !(a[3] & MSG_DONTWAIT) && fd_call(c, "sendto", a[0], TEST_FD);
  case SYS_recvmsg: return !(a[2] & MSG_DONTWAIT) && fd_call(c, "recvmsg", a[0], TEST_FD);
  case SYS_sendmsg: return !(a[2] & MSG_DONTWAIT) && fd_call(c, "sendmsg", a[0], TEST_FD);
  case SYS_recvmmsg: return !(a[3] & MSG_DONTWAIT) && fd_call(c, "recvmmsg", a[0], TEST_FD);
  case SYS_sendmmsg: return !(a[3] & MSG_DONTWAIT) && fd_call(c, "sendmmsg", a[0], TEST_FD);
  case SYS_accept: return fd_call(c, "accept", a[0], TEST_FD);
  case SYS_accept4: return fd_call(c, "accept4", a[0], TEST_FD);
  case SYS_connect: return fd_call(c, "connect", a[0], TEST_FD);
  case SYS_sendfile: return fd_call(c, "sendfile", a[0], TEST_FD);
  case SYS_splice: return !(a[5] & SPLICE_F_NONBLOCK) && fd_call(c, "splice", a[0], TEST_NONE);
  case SYS_tee: return !(a[3] & SPLICE_F_NONBLOCK) && fd_call(c, "tee", a[0], TEST_NONE);
  case SYS_vmsplice: return !(a[3] & SPLICE_F_NONBLOCK) && fd_call(c, "vmsplice", a[0], TEST_NONE);
  case SYS_poll: return a[2] != 0 && plain_call(c, "poll");
  case SYS_ppoll: return !zero_ts(a[2]) && plain_call(c, "ppoll");
  case SYS_select: return !zero_tv(a[4]) && plain_call(c, "select");
  case SYS_pselect6: return !zero_ts(a[4]) && plain_call(c, "pselect6");
  case SYS_epoll_wait: return a[3] != 0 && fd_call(c, "epoll_wait", a[0], TEST_NONE);
  case SYS_epoll_pwait: return a[3] != 0 && fd_call(c, "epoll_pwait", a[0], TEST_NONE);
  case SYS_epoll_pwait2: return !zero_ts(a[3]) && fd_call(c, "epoll_pwait2", a[0], TEST_NONE);
  case SYS_pause: return plain_call(c, "pause");
  case SYS_rt_sigsuspend: return plain_call(c, "rt_sigsuspend");
  case SYS_rt_sigtimedwait: return !zero_ts(a[2]) && plain_call(c, "rt_sigtimedwait");
  case SYS_nanosleep: return plain_call(c, "nanosleep");
  case SYS_clock_nanosleep: return plain_call(c, "clock_nanosleep");
  case SYS_wait4: return !(a[2] & WNOHANG) && plain_call(c, "wait4");
  case SYS_waitid: return !(a[3] & WNOHANG) && plain_call(c, "waitid");
  case SYS_futex: return futex_waits(a[1]) && plain_call(c, "futex");
  case SYS_futex_waitv: return plain_call(c, "futex_waitv");
  case SYS_flock: return !(a[1] & LOCK_NB) && fd_call(c, "flock", a[0], TEST_NONE);
  case SYS_fcntl:
    return (a[1] == F_SETLKW || a[1] == F_OFD_SETLKW) && fd_call(c, "fcntl", a[0], TEST_NONE);
  case SYS_msgsnd: return !(a[3] & IPC_NOWAIT) && plain_call(c, "msgsnd");
  case SYS_msgrcv: return !(a[4] & IPC_NOWAIT) && plain_call(c, "msgrcv");
  case SYS_semop: return sem_waits(a[1], a[2]) && plain_call(c, "semop");
  case SYS_semtimedop: return sem_waits(a[1], a[2]) && plain_call(c, "semtimedop");
  case SYS_mq_timedsend: return fd_call(c, "mq_timedsend", a[0], TEST_NONBLOCK);
  case SYS_mq_timedreceive: return fd_call(c, "mq_timedreceive", a[0], TEST_NONBLOCK);
  case SYS_open: return fifo_open(c, "open", AT_FDCWD, a[0], a[1]);
  case SYS_openat: return fifo_open(c, "openat", (int)a[0], a[1], a[2]);
  case SYS_io_uring_enter: return (a[3] & 1) && a[2] > 0 && fd_call(c, "io_uring_enter", a[0], TEST_NONE);
  }
  return 0;
}

/* Whether fd is one the shim runs green, and the program left it blocking. Green fds are
 * sockets, pipes, ttys and anonymous-inode fds: eventfd, timerfd, signalfd, inotify. */
static int green_fd(int fd, int test) {
  struct stat st;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || (fl & O_NONBLOCK)) return 0;
  if (test == TEST_NONBLOCK) return 1;
  if (fstat(fd, &st) < 0) return 0;
  switch (st.st_mode & S_IFMT) {
  case S_IFSOCK: case S_IFIFO: case 0: return 1;
  case S_IFCHR: return isatty(fd);
  }
  return 0;
}

static int can_block(const blocking_call_t *c) {
  struct stat st;
  switch (c->test) {
  case TEST_FD: case TEST_NONBLOCK: return green_fd(c->fd, c->test);
  case TEST_FIFO: return fstatat(c->dir, c->path, &st, 0) == 0 && S_ISFIFO(st.st_mode);
  }
  return 1;
}

/* ---- whose code a frame is ------------------------------------------------------------ */

/* Whether the call uc trapped came from the program with no hook on the way. Walk up from its
 * syscall instruction, past neutral frames. The first other frame must be the program's. *at
 * is then that frame. */
static int bypassed(ucontext_t *uc, unw_cursor_t *at) {
  unw_word_t ip;
  int n;
  if (!green__unw.ready) return 0;
  if (green__unw.init_local2(at, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) < 0) return 0;
  for (n = 0; n < 64; n++) {
    if (green__unw.get_reg(at, UNW_REG_IP, &ip) < 0 || ip == 0) return 0;
    switch (green__code_of((uintptr_t)ip - (n > 0))) { /* a return address may be past its call */
    case GREEN__CODE_RUNTIME: return 0;
    case GREEN__CODE_PROGRAM:
    case GREEN__CODE_NONE: return 1; /* code in no object (JIT code) is the program's */
    }
    if (green__unw.step(at) <= 0) return 0; /* libc's own thread, or an unwinding gap */
  }
  return 0;
}

/* ---- the report ----------------------------------------------------------------------- */

/* Whether this (call, site) pair is new; a full table reports no more. */
static int first_time(long nr, uintptr_t site) {
  uintptr_t key = site ^ ((uintptr_t)nr << 52), v;
  size_t i = (size_t)((key >> 2) * 0x9e3779b97f4a7c15ull % SITES), n;
  for (n = 0; n < SITES; n++, i = (i + 1) % SITES) {
    v = __atomic_load_n(&sites[i], __ATOMIC_RELAXED);
    if (v == 0 && __atomic_compare_exchange_n(&sites[i], &v, key, 0, __ATOMIC_RELAXED,
                                              __ATOMIC_RELAXED))
      return 1;
    if (v == key) return 0;
  }
  return 0;
}


static void put_frame(green__report_t *r, unw_cursor_t *c) {
  unw_word_t ip, off = 0;
  char name[160];
  Dl_info info;
  const char *object;
  green__unw.get_reg(c, UNW_REG_IP, &ip);
  if (green__unw.get_proc_name(c, name, sizeof name, &off) < 0) strcpy(name, "??");
  object = dladdr((void *)ip, &info) && info.dli_fname ? info.dli_fname : "?";
  if (strrchr(object, '/')) object = strrchr(object, '/') + 1;
  green__report_put(r, "%s+%#lx (%s)", name, (unsigned long)off, object);
}

/* Where reports go: stderr, or the file GREEN_CHECK names (opened for each report, so the
 * program never sees the fd). */
static int report_fd(void) {
  const char *log = green__shim_config.check_log;
  int fd = *log ? open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
  return fd >= 0 ? fd : 2;
}

/* The green thread (the OS thread in native mode) that made the call. */
static void put_thread(green__report_t *r, struct green__hub *h) {
  long tid = green__check_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0);
  if (h && !green__shim_config.native) green__report_name(r, h->current);
  else if (tid == getpid()) green__report_put(r, "the main thread");
  else green__report_put(r, "OS thread %ld", tid);
}

static void report(ucontext_t *uc, const blocking_call_t *c, unw_cursor_t *site) {
  green__report_t r;
  char indent[128];
  snprintf(indent, sizeof indent, "%s:   ", green__report_prefix());
  green__report_init(&r, report_fd());
  green__report_put(&r, "%s: check: %s(", green__report_prefix(), c->name);
  if (c->fd >= 0) green__report_put(&r, "fd %d, %s", c->fd, green__report_fd_kind(c->fd));
  else if (c->test == TEST_FIFO) green__report_put(&r, "\"%s\", a FIFO", c->path);
  green__report_put(&r, ") bypassed the shim at ");
  put_frame(&r, site);
  green__report_put(&r, ", in ");
  put_thread(&r, green__shim_tls.hub);
  green__report_put(&r, "\n");
  green__report_backtrace_signal(&r, uc, indent);
  green__report_flush(&r);
  if (r.fd != 2) close(r.fd);
}

/* Whether the gate would have run a hooked call green here. */
static int checked_now(void) { return green__shim_gate_open(0); }

static void look(ucontext_t *uc, long nr, const long *a) {
  blocking_call_t c;
  unw_cursor_t site;
  unw_word_t ip;
  memset(&c, 0, sizeof c);
  /* the fd or path first: no walk for the loader's reads of a library (its lock is held) */
  if (!checked_now() || !blocking(nr, a, &c) || !can_block(&c) || !bypassed(uc, &site)) return;
  green__unw.get_reg(&site, UNW_REG_IP, &ip);
  if (first_time(nr, (uintptr_t)ip)) report(uc, &c, &site);
}

/* ---- calls carried out on the trapped context ----------------------------------------- */

static long sigprocmask_on(ucontext_t *uc, const long *a) {
  uint64_t cur, set = 0, next;
  if (a[3] != 8) return -EINVAL;
  memcpy(&cur, &uc->uc_sigmask, 8);
  if (a[1]) {
    memcpy(&set, (const void *)a[1], 8);
    if (a[0] == SIG_BLOCK) next = cur | set;
    else if (a[0] == SIG_UNBLOCK) next = cur & ~set;
    else if (a[0] == SIG_SETMASK) next = set;
    else return -EINVAL;
  }
  if (a[2]) memcpy((void *)a[2], &cur, 8);
  if (a[1]) {
    next &= ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP) | SIGBIT(SIGSYS));
    memcpy(&uc->uc_sigmask, &next, 8);
  }
  return 0;
}

/* The program's action for SIGSYS is only recorded; others keep SIGSYS out of their mask. */
static long sigaction_on(long *a) {
  const ksigaction_t *act = (const ksigaction_t *)a[1];
  ksigaction_t copy, prev;
  if (a[3] != 8) return call6(SYS_rt_sigaction, a);
  if (a[0] == SIGSYS) {
    prev = prog_sys;
    if (act) prog_sys = *act;
    if (a[2]) memcpy((void *)a[2], &prev, sizeof prev);
    return 0;
  }
  if (act && (act->mask & SIGBIT(SIGSYS))) {
    copy = *act;
    copy.mask &= ~SIGBIT(SIGSYS);
    a[1] = (long)&copy;
  }
  return call6(SYS_rt_sigaction, a);
}

/* sigreturn restores the context's alternate stack: a change must land there. */
static long sigaltstack_on(ucontext_t *uc, const long *a) {
  stack_t cur;
  long r = call6(SYS_sigaltstack, a);
  if (r == 0 && a[0] && green__check_syscall(SYS_sigaltstack, 0, (long)&cur, 0, 0, 0, 0) == 0)
    uc->uc_stack = cur;
  return r;
}

/* The mask argument at a[i] (a kernel sigset) without SIGSYS, in *copy. */
static void unmask_sigsys(long *a, int i, uint64_t *copy) {
  if (!a[i]) return;
  memcpy(copy, (const void *)a[i], 8);
  if (!(*copy & SIGBIT(SIGSYS))) return;
  *copy &= ~SIGBIT(SIGSYS);
  a[i] = (long)copy;
}

/* A new process: its thread traps again, and reports what the parent has reported too. */
static long forked(long r) {
  if (r != 0) return r;
  memset(sites, 0, sizeof sites);
  green__check_syscall(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
                       (long)green__check_region_start,
                       green__check_region_end - green__check_region_start, (long)&selector, 0);
  return r;
}

/* A child on a stack of its own (a thread, posix_spawn's child). It resumes where the trapped
 * call returns, with the trapped registers, from the stack top `top`. The stack argument
 * a[i] is lowered by the return address pushed there. */
static long clone_on_stack(const greg_t *g, long nr, long *a, uintptr_t top) {
  long regs[13] = {nr, a[0], a[1], a[2], a[3], a[4], a[5], g[REG_RBX], g[REG_RBP],
                   g[REG_R12], g[REG_R13], g[REG_R14], g[REG_R15]};
  ((uintptr_t *)top)[-1] = (uintptr_t)g[REG_RIP];
  return green__check_clone(regs);
}

static long clone_on(const greg_t *g, long *a) {
  if (a[1]) {
    a[1] -= 8;
    return clone_on_stack(g, SYS_clone, a, (uintptr_t)a[1] + 8);
  }
  if ((a[0] & (CLONE_VM | CLONE_VFORK)) == (CLONE_VM | CLONE_VFORK))
    a[0] &= ~(long)(CLONE_VM | CLONE_VFORK); /* vfork: fork (the child would reuse our stack) */
  return forked(call6(SYS_clone, a));
}

static long clone3_on(const greg_t *g, long *a) {
  union {
    clone_args0_t args;
    char bytes[128];
  } copy;
  size_t size = (size_t)a[1];
  if (size < sizeof copy.args || size > sizeof copy) return call6(SYS_clone3, a);
  memcpy(&copy, (const void *)a[0], size);
  a[0] = (long)&copy;
  if (copy.args.stack && copy.args.stack_size > 8) {
    copy.args.stack_size -= 8;
    return clone_on_stack(g, SYS_clone3, a, copy.args.stack + copy.args.stack_size + 8);
  }
  if ((copy.args.flags & (CLONE_VM | CLONE_VFORK)) == (CLONE_VM | CLONE_VFORK))
    copy.args.flags &= ~(uint64_t)(CLONE_VM | CLONE_VFORK);
  return forked(call6(SYS_clone3, a));
}

/* The calls carried out on the trapped context: *r gets the result. Returns 0 for the others.
 * Once look() has seen them, the handler makes those as they are (their masks without
 * SIGSYS). */
static int carry_out(ucontext_t *uc, long nr, long *a, long *r) {
  greg_t *g = uc->uc_mcontext.gregs;
  switch (nr) {
  case SYS_rt_sigprocmask: *r = sigprocmask_on(uc, a); return 1;
  case SYS_rt_sigaction: *r = sigaction_on(a); return 1;
  case SYS_sigaltstack: *r = sigaltstack_on(uc, a); return 1;
  case SYS_fork: case SYS_vfork: *r = forked(green__check_syscall(SYS_fork, 0, 0, 0, 0, 0, 0)); return 1;
  case SYS_clone: *r = clone_on(g, a); return 1;
  case SYS_clone3: *r = clone3_on(g, a); return 1;
  case SYS_prctl: /* a program's own Syscall User Dispatch would replace the checker's */
    if (a[0] != PR_SET_SYSCALL_USER_DISPATCH) return 0;
    *r = -EINVAL;
    return 1;
  }
  look(uc, nr, a);
  return 0;
}

/* Signal masks given to a call are rewritten without SIGSYS into *copy and *pair. A mask is
 * in the argument a[i]; for pselect6, in its {set, size} pair. */
static void unmask_call(long nr, long *a, uint64_t *copy, long pair[2]) {
  switch (nr) {
  case SYS_rt_sigsuspend: unmask_sigsys(a, 0, copy); break;
  case SYS_ppoll: unmask_sigsys(a, 3, copy); break;
  case SYS_epoll_pwait: case SYS_epoll_pwait2: unmask_sigsys(a, 4, copy); break;
  case SYS_pselect6:
    if (!a[5]) break;
    memcpy(pair, (const void *)a[5], 2 * sizeof *pair);
    unmask_sigsys(pair, 0, copy);
    a[5] = (long)pair;
    break;
  }
}

/* A SIGSYS that is not a trap (seccomp's, kill's): the program's action. */
static void foreign(int sig, siginfo_t *si, void *uc) {
  ksigaction_t act = prog_sys;
  ksigaction_t dfl = {SIG_DFL, 0, NULL, 0};
  uint64_t unblock = SIGBIT(SIGSYS);
  if (act.handler == SIG_IGN && si->si_code != SYS_SECCOMP) return;
  if (act.handler == SIG_DFL || act.handler == SIG_IGN) { /* dies of it, as it would have */
    green__check_syscall(SYS_rt_sigaction, SIGSYS, (long)&dfl, 0, 8, 0, 0);
    green__check_syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&unblock, 0, 8, 0, 0);
    green__check_syscall(SYS_tgkill, green__check_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0),
                         green__check_syscall(SYS_gettid, 0, 0, 0, 0, 0, 0), SIGSYS, 0, 0, 0);
    return;
  }
  if (act.flags & SA_RESETHAND) prog_sys.handler = SIG_DFL;
  if (act.flags & SA_SIGINFO) ((void (*)(int, siginfo_t *, void *))act.handler)(sig, si, uc);
  else ((void (*)(int))act.handler)(sig);
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  greg_t *g = uc->uc_mcontext.gregs;
  long nr = g[REG_RAX], r;
  long a[6] = {g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]};
  char prev = selector;
  uint64_t mask;
  long pair[2];
  int saved, done;
  if (si->si_code != SYS_USER_DISPATCH) {
    foreign(sig, si, ucv);
    return;
  }
  if (nr == SYS_rt_sigreturn) green__check_sigreturn((void *)g[REG_RSP]);
  set_selector(SYSCALL_DISPATCH_FILTER_ALLOW); /* the handler's own calls */
  saved = errno;
  done = carry_out(uc, nr, a, &r);
  errno = saved;
  set_selector(prev); /* a handler that runs meanwhile, and leaves by longjmp, is checked */
  if (!done) {
    unmask_call(nr, a, &mask, pair);
    r = call6(nr, a);
  }
  g[REG_RAX] = r;
}

/* ---- turning it on -------------------------------------------------------------------- */

static void say(const char *what, long err) {
  green__report_t r;
  green__report_init(&r, 2);
  green__report_put(&r, "%s: check: %s (%s): nothing is checked\n", green__report_prefix(), what,
                    strerror((int)-err));
  green__report_flush(&r);
}

static int enable(void) {
  long r = green__check_syscall(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
                                (long)green__check_region_start,
                                green__check_region_end - green__check_region_start,
                                (long)&selector, 0);
  if (r < 0) return (int)r;
  set_selector(SYSCALL_DISPATCH_FILTER_BLOCK);
  return 0;
}

void green__check_start(void) {
  ksigaction_t sa = {(void *)on_sigsys, SA_SIGINFO | SA_NODEFER | KERNEL_SA_RESTORER,
                     (void *)green__check_restorer, 0};
  long r;
  if (!ready) {
    green__unwind_load();
    if ((r = green__check_syscall(SYS_rt_sigaction, SIGSYS, (long)&sa, (long)&prog_sys, 8, 0, 0)) < 0)
      return say("no SIGSYS handler", r);
    ready = 1;
  }
  if ((r = enable()) < 0) say("Syscall User Dispatch is not available", r);
}

void green__check_thread(void) {
  if (ready) enable();
}

void green__check_stop(void) {
  if (ready) set_selector(SYSCALL_DISPATCH_FILTER_ALLOW);
}

#else /* Syscall User Dispatch is checked on x86_64 only */

void green__check_start(void) {
  green__report_t r;
  green__report_init(&r, 2);
  green__report_put(&r, "%s: check: not available on this architecture: nothing is checked\n",
                    green__report_prefix());
  green__report_flush(&r);
}

void green__check_thread(void) {}
void green__check_stop(void) {}

#endif
