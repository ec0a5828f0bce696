/* SPDX-License-Identifier: MIT */
/*
 * Thread ids in green mode: gettid(), syscall(SYS_gettid), and the calls that take a thread
 * id (tgkill and the scheduling family). Those calls translate the ids gettid() hands out.
 *
 * Every green thread gets an id of its own. So code that keys data or lock ownership by
 * gettid() tells green threads apart as it tells OS threads apart. Examples: a recursive lock
 * that stores its owner's id, Python's threading.get_native_id. The hub's main greenlet keeps
 * the kernel's id. It is the thread running main(), or, in the child, the thread that forked.
 * So in the main thread gettid() == getpid(). The other ids start at GREEN__TID_BASE. That is
 * far above the kernel's largest (PID_MAX_LIMIT, 2^22). So they never name a thread of this
 * or any other process. The kernel answers ESRCH for one that reaches it untranslated; it
 * never signals a stranger.
 *
 * The calls below take a thread id of this process. They turn a live green thread's id into
 * its OS thread's: its hub's (the process id, unless greenrun -j N runs several hubs). So
 * tgkill(getpid(), gettid(), sig)
 * reaches the OS thread the green thread runs on. The handler then runs at once on that
 * green thread, as the kernel runs it on the thread that sent it. Paths
 * /proc/self/task/<id>/... and /proc/<pid>/task/<id>/... given to the open family and fopen
 * name the OS thread's directory. Not translated: other calls on such paths (stat, opendir,
 * a path relative to an opened /proc directory). Nor other system calls and ioctls that take
 * a thread id.
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "signal.h"
#include "syscall.h"
#include "threads.h"

#define GREEN__TID_BASE 0x40000000

static pid_t next_tid = GREEN__TID_BASE;

pid_t green__shim_tid_next(void) { return __atomic_add_fetch(&next_tid, 1, __ATOMIC_RELAXED); }

static pid_t kernel_tid(void) { return (pid_t)green__real.syscall(SYS_gettid); }

/* A green thread's own id, looked up without the gate: a signal handler running on a green
 * thread sees that thread's id. */
pid_t green__shim_gettid(void) {
  green__shim_tls_t *t = &green__shim_tls;
  green__shim_thread_t *rec;
  if (!green__shim_config.native && t->managed && t->hub &&
      (rec = t->hub->current->ext) != NULL && rec->tid)
    return rec->tid;
  return kernel_tid();
}

long green__shim_tid_of(long tid) {
  green__shim_thread_t *rec;
  if (tid < GREEN__TID_BASE || tid > INT32_MAX || green__shim_config.native) return tid;
  rec = green__shim_thread_by_tid((pid_t)tid);
  if (!rec || !rec->g || __atomic_load_n(&rec->ended, __ATOMIC_ACQUIRE))
    return tid; /* ESRCH, as for a dead thread */
  return rec->g->hub->tid; /* the OS thread of its hub (greenrun -j N: one of several) */
}

long green__shim_tgid_tid(long tgid, long tid) {
  return tgid == getpid() ? green__shim_tid_of(tid) : tid;
}

/* The digits at *p as a number (and p moved past them), or -1 when there are none. */
static long digits(const char **p) {
  long n = 0;
  const char *s = *p;
  if (*s < '0' || *s > '9') return -1;
  while (*s >= '0' && *s <= '9' && n < INT32_MAX) n = n * 10 + (*s++ - '0');
  *p = s;
  return n;
}

const char *green__shim_task_path(const char *path, char *buf, size_t len) {
  const char *p = path, *dir;
  long tid, real;
  if (!path || strncmp(path, "/proc/", 6) != 0 || green__shim_config.native) return path;
  p += 6;
  if (strncmp(p, "self/", 5) == 0) p += 5;
  else if (digits(&p) == getpid() && *p == '/') p++;
  else return path;
  if (strncmp(p, "task/", 5) != 0) return path;
  dir = p += 5;
  if ((tid = digits(&p)) < GREEN__TID_BASE || (*p && *p != '/') ||
      (real = green__shim_tid_of(tid)) == tid)
    return path;
  if (snprintf(buf, len, "%.*s%ld%s", (int)(dir - path), path, real, p) >= (int)len) return path;
  return buf;
}

GREEN__SHIM_EXPORT FILE *fopen(const char *path, const char *mode) {
  char buf[GREEN__TASK_PATH_MAX];
  green__real_ready();
  return green__real.fopen(green__shim_task_path(path, buf, sizeof buf), mode);
}

GREEN__SHIM_EXPORT FILE *fopen64(const char *path, const char *mode) {
  char buf[GREEN__TASK_PATH_MAX];
  green__real_ready();
  return green__real.fopen64(green__shim_task_path(path, buf, sizeof buf), mode);
}

GREEN__SHIM_EXPORT pid_t gettid(void) {
  green__real_ready();
  return green__shim_gettid();
}

int green__shim_tgkill(pid_t tgid, pid_t tid, int sig) {
  green__shim_thread_t *t;
  int err;
  if (green__shim_green_mode() && tgid == getpid() && (t = green__shim_thread_by_tid(tid)) && t->g) {
    if ((err = green__shim_signal_send(t->g, sig, NULL)) == 0) return 0;
    errno = err;
    return -1;
  }
  return green__real.tgkill(tgid, (pid_t)green__shim_tgid_tid(tgid, tid), sig);
}

GREEN__SHIM_EXPORT int tgkill(pid_t tgid, pid_t tid, int sig) {
  green__real_ready();
  return green__shim_tgkill(tgid, tid, sig);
}

/* The scheduling calls take a thread id (0: the caller). */
#define ON_TID(name, ret, params, args)       \
  GREEN__SHIM_EXPORT ret name params {        \
    green__real_ready();                      \
    tid = (pid_t)green__shim_tid_of(tid);     \
    return green__real.name args;             \
  }
ON_TID(sched_setaffinity, int, (pid_t tid, size_t n, const cpu_set_t *set), (tid, n, set))
ON_TID(sched_getaffinity, int, (pid_t tid, size_t n, cpu_set_t *set), (tid, n, set))
ON_TID(sched_setscheduler, int, (pid_t tid, int pol, const struct sched_param *p), (tid, pol, p))
ON_TID(sched_getscheduler, int, (pid_t tid), (tid))
ON_TID(sched_setparam, int, (pid_t tid, const struct sched_param *p), (tid, p))
ON_TID(sched_getparam, int, (pid_t tid, struct sched_param *p), (tid, p))
ON_TID(sched_rr_get_interval, int, (pid_t tid, struct timespec *t), (tid, t))

/* PRIO_PROCESS takes a thread id on Linux (the nice value is per thread). */
GREEN__SHIM_EXPORT int setpriority(__priority_which_t which, id_t who, int prio) {
  green__real_ready();
  if (which == PRIO_PROCESS) who = (id_t)green__shim_tid_of((long)who);
  return green__real.setpriority(which, who, prio);
}

GREEN__SHIM_EXPORT int getpriority(__priority_which_t which, id_t who) {
  green__real_ready();
  if (which == PRIO_PROCESS) who = (id_t)green__shim_tid_of((long)who);
  return green__real.getpriority(which, who);
}
