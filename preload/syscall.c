/* SPDX-License-Identifier: MIT */
/*
 * The syscall() function. The numbers that can block go to the shim's own hooks, or to the
 * green futex. Their arguments are taken from the raw call's shapes where those differ from
 * libc's. Such shapes are ppoll's and pselect6's signal sets, and the remaining time the raw
 * ppoll and pselect6 write back. Others are clock_nanosleep's error and waitid's rusage. The
 * thread ids are translated (tid.c). Everything else goes straight to libc's syscall(). The
 * return convention is syscall()'s: the result, or -1 and errno.
 */
#include <linux/futex.h>
#include <math.h>
#include <string.h>
#include <sys/syscall.h>

#include "syscall.h"
#include "threads.h"

#define HOOK(name) extern __typeof__(name) green__hook_##name
HOOK(read); HOOK(write); HOOK(readv); HOOK(writev);
HOOK(recvfrom); HOOK(sendto); HOOK(recvmsg); HOOK(sendmsg); HOOK(recvmmsg); HOOK(sendmmsg);
HOOK(accept); HOOK(accept4); HOOK(connect);
HOOK(poll); HOOK(ppoll); HOOK(select); HOOK(pselect);
HOOK(epoll_wait); HOOK(epoll_pwait); HOOK(epoll_pwait2);
HOOK(nanosleep); HOOK(clock_nanosleep); HOOK(sched_yield); HOOK(pause);
HOOK(wait4); HOOK(waitid);
#undef HOOK

#define KERNEL_SIGSET 8
#define IOPRIO_WHO_PROCESS 1 /* linux/ioprio.h */ /* the kernel's sigset_t: the size the raw calls must be given */

typedef struct pselect6_sigmask {
  const void *set;
  size_t size;
} pselect6_sigmask_t;

static long pass(long nr, const long a[6]) {
  return green__real.syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* The kernel's signal set (size bytes at p) as libc's sigset_t in *set: NULL for none;
 * EINVAL for a size the kernel refuses. */
static int sigset_arg(const void *p, size_t size, sigset_t *set, const sigset_t **out) {
  *out = NULL;
  if (!p) return 0;
  if (size != KERNEL_SIGSET) return -EINVAL;
  sigemptyset(set);
  memcpy(set, p, KERNEL_SIGSET);
  *out = set;
  return 0;
}

/* The raw ppoll and pselect6 write the time left back into their timeout (libc's do not). */
static void write_back_left(struct timespec *ts, double at) {
  double left = fmax(at - green_now(), 0);
  ts->tv_sec = (time_t)left;
  ts->tv_nsec = (long)((left - (double)ts->tv_sec) * 1e9);
  if (ts->tv_nsec > 999999999L) ts->tv_nsec = 999999999L;
}

static double end_of(const struct timespec *ts) {
  double s = ts ? green__ts_checked(ts) : -1;
  return s < 0 ? NAN : green_now() + s;
}

static long raw_ppoll(const long a[6]) {
  struct timespec *ts = (struct timespec *)a[2];
  const sigset_t *mask;
  sigset_t set;
  double at = end_of(ts);
  long r;
  if (sigset_arg((const void *)a[3], (size_t)a[4], &set, &mask) < 0)
    return green__fail(-EINVAL);
  r = green__hook_ppoll((struct pollfd *)a[0], (nfds_t)a[1], ts, mask);
  if (!isnan(at)) write_back_left(ts, at);
  return r;
}

static long raw_pselect6(const long a[6]) {
  const pselect6_sigmask_t *sm = (const pselect6_sigmask_t *)a[5];
  struct timespec *ts = (struct timespec *)a[4];
  const sigset_t *mask = NULL;
  sigset_t set;
  double at = end_of(ts);
  long r;
  if (sm && sigset_arg(sm->set, sm->size, &set, &mask) < 0) return green__fail(-EINVAL);
  r = green__hook_pselect((int)a[0], (fd_set *)a[1], (fd_set *)a[2], (fd_set *)a[3], ts, mask);
  if (!isnan(at)) write_back_left(ts, at);
  return r;
}

static long raw_epoll_pwait(const long a[6], int two) {
  const sigset_t *mask;
  sigset_t set;
  if (sigset_arg((const void *)a[4], (size_t)a[5], &set, &mask) < 0)
    return green__fail(-EINVAL);
  if (two)
    return green__hook_epoll_pwait2((int)a[0], (struct epoll_event *)a[1], (int)a[2],
                                    (const struct timespec *)a[3], mask);
  return green__hook_epoll_pwait((int)a[0], (struct epoll_event *)a[1], (int)a[2], (int)a[3],
                                 mask);
}

/* Only the clocks a green sleep follows. For the others, libc answers differently from the
 * kernel: EINVAL for a thread's CPU clock, where the kernel says EOPNOTSUPP. */
static long raw_clock_nanosleep(const long a[6]) {
  clockid_t c = (clockid_t)a[0];
  int e;
  if (c != CLOCK_REALTIME && c != CLOCK_MONOTONIC && c != CLOCK_BOOTTIME && c != CLOCK_TAI)
    return pass(SYS_clock_nanosleep, a);
  e = green__hook_clock_nanosleep((clockid_t)a[0], (int)a[1], (const struct timespec *)a[2],
                                      (struct timespec *)a[3]);
  return e ? green__fail(-e) : 0;
}

/* The raw waitid has a fifth argument, libc's has not. */
static long raw_waitid(const long a[6]) {
  if (a[4]) return green__shim_waitid_rusage((idtype_t)a[0], (id_t)a[1], (siginfo_t *)a[2],
                                             (int)a[3], (struct rusage *)a[4]);
  return green__hook_waitid((idtype_t)a[0], (id_t)a[1], (siginfo_t *)a[2], (int)a[3]);
}

/* The I/O and socket calls: the same arguments as libc's. */
static long io_call(long nr, const long a[6], int *routed) {
  *routed = 1;
  switch (nr) {
  case SYS_read: return green__hook_read((int)a[0], (void *)a[1], (size_t)a[2]);
  case SYS_write: return green__hook_write((int)a[0], (const void *)a[1], (size_t)a[2]);
  case SYS_readv: return green__hook_readv((int)a[0], (const struct iovec *)a[1], (int)a[2]);
  case SYS_writev: return green__hook_writev((int)a[0], (const struct iovec *)a[1], (int)a[2]);
  case SYS_recvfrom:
    return green__hook_recvfrom((int)a[0], (void *)a[1], (size_t)a[2], (int)a[3],
                                (struct sockaddr *)a[4], (socklen_t *)a[5]);
  case SYS_sendto:
    return green__hook_sendto((int)a[0], (const void *)a[1], (size_t)a[2], (int)a[3],
                              (const struct sockaddr *)a[4], (socklen_t)a[5]);
  case SYS_recvmsg: return green__hook_recvmsg((int)a[0], (struct msghdr *)a[1], (int)a[2]);
  case SYS_sendmsg: return green__hook_sendmsg((int)a[0], (const struct msghdr *)a[1], (int)a[2]);
  case SYS_recvmmsg:
    return green__hook_recvmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned)a[2], (int)a[3],
                                (struct timespec *)a[4]);
  case SYS_sendmmsg:
    return green__hook_sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned)a[2], (int)a[3]);
  case SYS_accept: return green__hook_accept((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2]);
  case SYS_accept4:
    return green__hook_accept4((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2], (int)a[3]);
  case SYS_connect:
    return green__hook_connect((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]);
  }
  *routed = 0;
  return 0;
}

/* The waits and sleeps. */
static long wait_call(long nr, const long a[6], int *routed) {
  *routed = 1;
  switch (nr) {
#ifdef SYS_poll
  case SYS_poll: return green__hook_poll((struct pollfd *)a[0], (nfds_t)a[1], (int)a[2]);
#endif
#ifdef SYS_select
  case SYS_select:
    return green__hook_select((int)a[0], (fd_set *)a[1], (fd_set *)a[2], (fd_set *)a[3],
                              (struct timeval *)a[4]);
#endif
#ifdef SYS_epoll_wait
  case SYS_epoll_wait:
    return green__hook_epoll_wait((int)a[0], (struct epoll_event *)a[1], (int)a[2], (int)a[3]);
#endif
#ifdef SYS_pause
  case SYS_pause: return green__hook_pause();
#endif
  case SYS_ppoll: return raw_ppoll(a);
  case SYS_pselect6: return raw_pselect6(a);
  case SYS_epoll_pwait: return raw_epoll_pwait(a, 0);
  case SYS_epoll_pwait2: return raw_epoll_pwait(a, 1);
  case SYS_nanosleep:
    return green__hook_nanosleep((const struct timespec *)a[0], (struct timespec *)a[1]);
  case SYS_clock_nanosleep: return raw_clock_nanosleep(a);
  case SYS_sched_yield: return green__hook_sched_yield();
  case SYS_wait4:
    return green__hook_wait4((pid_t)a[0], (int *)a[1], (int)a[2], (struct rusage *)a[3]);
  case SYS_waitid: return raw_waitid(a);
  }
  *routed = 0;
  return 0;
}

/* Whether setpriority's or ioprio_set's `who` is a thread id (Linux: a "process" there is a
 * thread). */
static int who_is_thread(long nr, long which) {
  if (nr == SYS_setpriority || nr == SYS_getpriority) return which == PRIO_PROCESS;
  return which == IOPRIO_WHO_PROCESS;
}

/* The calls that name a thread: a green thread's id becomes its OS thread's. */
static long id_call(long nr, const long a[6], int *routed) {
  long b[6];
  *routed = 1;
  memcpy(b, a, sizeof b);
  switch (nr) {
  case SYS_gettid: return green__shim_gettid();
  case SYS_tkill: b[0] = green__shim_tid_of(a[0]); return pass(nr, b);
  case SYS_tgkill: return green__shim_tgkill((pid_t)a[0], (pid_t)a[1], (int)a[2]);
  case SYS_rt_tgsigqueueinfo: b[1] = green__shim_tgid_tid(a[0], a[1]); return pass(nr, b);
  case SYS_sched_setaffinity: case SYS_sched_getaffinity: case SYS_sched_setscheduler:
  case SYS_sched_getscheduler: case SYS_sched_setparam: case SYS_sched_getparam:
  case SYS_sched_rr_get_interval: case SYS_sched_setattr: case SYS_sched_getattr:
    b[0] = green__shim_tid_of(a[0]);
    return pass(nr, b);
  case SYS_setpriority:
  case SYS_getpriority:
  case SYS_ioprio_set:
  case SYS_ioprio_get:
    if (who_is_thread(nr, a[0])) b[1] = green__shim_tid_of(a[1]);
    return pass(nr, b);
  }
  *routed = 0;
  return 0;
}

GREEN__SHIM_EXPORT long syscall(long nr, ...) {
  va_list ap;
  long a[6], r;
  int i, routed;
  va_start(ap, nr);
  for (i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  green__real_ready();
  if (nr == SYS_futex) return green__shim_futex(a);
  routed = 0;
  if (!(green__shim_tls.sigdepth | green__shim_tls.busy)) { /* else the hooks would pass too */
    r = io_call(nr, a, &routed);
    if (!routed) r = wait_call(nr, a, &routed);
  }
  if (!routed) r = id_call(nr, a, &routed);
  return routed ? r : pass(nr, a);
}
