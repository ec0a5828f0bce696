/* SPDX-License-Identifier: MIT */
/*
 * File locks that wait: flock without LOCK_NB, lockf(F_LOCK), and fcntl's F_SETLKW and
 * F_OFD_SETLKW (net.c's fcntl hands them here). Each is tried in its non-blocking form
 * (LOCK_NB, F_TLOCK, F_SETLK, F_OFD_SETLK). While the lock is taken, the green thread parks
 * on retry.c's back-off timer and tries again. The kernel decides every conflict, so the
 * semantics are its own. Classic record locks belong to the process: two threads of one
 * process never conflict. flock and OFD locks belong to the open file description: two
 * threads with open()s of their own do conflict. An unlock, a downgrade and a close of this
 * OS thread kick the waiters. So a lock handed between two green threads is taken at once.
 * A lock another process frees is seen at the next step (50 ms at most).
 *
 * Why not a thread-pool worker that makes the blocking call? Say a waiter is interrupted by
 * a signal, or cancelled. It would leave the worker blocked, and the worker would later take
 * the lock for nobody. And the worker is an OS thread more for the program's whole life.
 *
 * Signals: each of these calls is restarted under SA_RESTART, else fails with EINTR
 * (signal(7)). A lock-conversion flock has dropped the old lock by then, as the kernel's
 * does.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "retry.h"

/* The try fails with EAGAIN (flock: EWOULDBLOCK, the same) or EACCES while the lock is taken. */
static int is_taken(int e) { return e == EAGAIN || e == EACCES; }

typedef struct lock_call {
  int fd, cmd;
  void *arg;              /* fcntl's struct flock */
  int (*fcntl)(int, int, void *);
  off64_t len;            /* lockf's */
  int record;             /* a classic record lock: the kernel checks it for deadlocks */
  int cancel_point;       /* glibc's F_SETLKW is one, its flock none */
} lock_call_t;

/* ---- F_SETLKW's deadlock check ----------------------------------------------------------
 * The kernel may fail a classic record lock that would sleep, with EDEADLK. It does when the
 * owner of the lock in the way waits for a lock whose owner waits ... for one this process
 * holds (up to 10 steps). The shim's waits never sleep in the kernel. So the shim makes the
 * same check itself, before each park, from /proc/locks. That file lists the kernel's
 * sleeping requests with their owners' pids: "->" lines, each after the lock it waits for.
 * Waits of other processes under the shim are not listed there (see preload/README.md,
 * Limits). */

enum { DEADLOCK_STEPS = 10, LOCKS_MAX = 1 << 20 };

/* /proc/locks' text (NUL-terminated, malloc'd), or NULL. */
static char *read_locks(void) {
  size_t len = 0, cap = 16384;
  char *buf = malloc(cap), *more;
  ssize_t n;
  int fd = green__real.open("/proc/locks", O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0 || !buf) goto fail;
  while ((n = green__real.read(fd, buf + len, cap - len - 1)) > 0) {
    len += (size_t)n;
    if (len + 1 == cap) {
      if (cap >= LOCKS_MAX || !(more = realloc(buf, cap * 2))) goto fail;
      buf = more;
      cap *= 2;
    }
  }
  green__real.close(fd);
  buf[len] = '\0';
  return buf;
fail:
  if (fd >= 0) green__real.close(fd);
  free(buf);
  return NULL;
}

/* The pid owning the lock that process `waiter`'s sleeping record-lock request waits for, or
 * 0 when it sleeps in none. */
static long waits_for(const char *locks, long waiter) {
  const char *line = locks;
  long holder = 0, pid;
  char kind[16];
  while (*line) {
    if (sscanf(line, "%*d: -> %15s %*s %*s %ld", kind, &pid) == 2) {
      if (pid == waiter && strcmp(kind, "POSIX") == 0) return holder;
    } else if (sscanf(line, "%*d: %15s %*s %*s %ld", kind, &pid) == 2) {
      holder = strcmp(kind, "POSIX") == 0 ? pid : 0; /* OFD and flock owners are files */
    }
    if (!(line = strchr(line, '\n'))) break;
    line++;
  }
  return 0;
}

static int would_deadlock(int fd, const struct flock *want) {
  struct flock in_way = *want;
  long owner, self = (long)getpid();
  char *locks;
  int i, found = 0;
  if (green__real.fcntl(fd, F_GETLK, &in_way) < 0 || in_way.l_type == F_UNLCK || in_way.l_pid <= 0)
    return 0;
  if (!(locks = read_locks())) return 0;
  for (owner = in_way.l_pid, i = 0; i < DEADLOCK_STEPS && !found && owner > 0; i++) {
    owner = waits_for(locks, owner);
    found = owner == self;
  }
  free(locks);
  return found;
}

static int deadlocks(const lock_call_t *c) {
  struct flock lf = {.l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_len = (off_t)c->len};
  if (!c->record) return 0;
  return would_deadlock(c->fd, c->arg ? (const struct flock *)c->arg : &lf);
}

static int try_flock(const lock_call_t *c) { return green__real.flock(c->fd, c->cmd | LOCK_NB); }
static int try_fcntl(const lock_call_t *c) { return c->fcntl(c->fd, c->cmd, c->arg); }
static int try_lockf(const lock_call_t *c) { return green__real.lockf64(c->fd, F_TLOCK, c->len); }

/* Try until the lock is ours: 0, or -1 + libc's errno. */
static int lock_green(struct green__hub *h, int (*try)(const lock_call_t *), const lock_call_t *c,
                      const char *call) {
  double step = GREEN__RETRY_FIRST;
  int r, saved = errno;
  for (;;) {
    if (try(c) == 0) return (int)green__shim_done(0, saved);
    if (!is_taken(errno)) return -1;
    if (deadlocks(c)) return green__fail(-EDEADLK);
    if ((r = green__shim_retry_park(h, &step, INFINITY, GREEN__INTR_RESTART, c->cancel_point,
                                    call)) < 0)
      return green__shim_retry_fail(h, r);
  }
}

GREEN__SHIM_EXPORT int flock(int fd, int op) {
  struct green__hub *h;
  lock_call_t c = {.fd = fd, .cmd = op};
  int r;
  green__real_ready();
  if ((op & LOCK_NB) || (op != LOCK_SH && op != LOCK_EX) || !(h = green__shim_hub())) {
    r = green__real.flock(fd, op);
    if (r == 0 && !(op & LOCK_EX)) green__shim_retry_kick(); /* unlocked or downgraded */
    return r;
  }
  r = lock_green(h, try_flock, &c, "flock");
  if (r == 0 && op == LOCK_SH) green__shim_retry_kick(); /* a downgrade frees other readers */
  return r;
}

/* lockf's F_LOCK: green; F_ULOCK kicks the waiters. */
static int lockf_hook(int fd, int cmd, off64_t len, int (*real)(int, int, off64_t)) {
  struct green__hub *h;
  lock_call_t c = {.fd = fd, .len = len, .record = 1, .cancel_point = 1};
  int r;
  if (cmd != F_LOCK || !(h = green__shim_hub())) {
    if ((r = real(fd, cmd, len)) == 0 && cmd == F_ULOCK) green__shim_retry_kick();
    return r;
  }
  return lock_green(h, try_lockf, &c, "lockf");
}

static int real_lockf(int fd, int cmd, off64_t len) {
  return green__real.lockf(fd, cmd, (off_t)len);
}

GREEN__SHIM_EXPORT int lockf(int fd, int cmd, off_t len) {
  green__real_ready();
  return lockf_hook(fd, cmd, len, real_lockf);
}

GREEN__SHIM_EXPORT int lockf64(int fd, int cmd, off64_t len) {
  green__real_ready();
  return lockf_hook(fd, cmd, len, green__real.lockf64);
}

/* ---- fcntl's lock commands (from net.c) ------------------------------------------------ */

int green__shim_fcntl_lock(int fd, int cmd, void *arg, int (*real)(int, int, void *)) {
  struct green__hub *h;
  const struct flock *fl = arg;
  lock_call_t c = {.fd = fd, .arg = arg, .fcntl = real, .cancel_point = 1};
  int r;
  if ((cmd != F_SETLKW && cmd != F_OFD_SETLKW) || !fl || !(h = green__shim_hub())) {
    r = real(fd, cmd, arg);
  } else {
    c.cmd = cmd == F_SETLKW ? F_SETLK : F_OFD_SETLK;
    c.record = cmd == F_SETLKW;
    r = lock_green(h, try_fcntl, &c, "fcntl");
  }
  if (r == 0 && fl && fl->l_type != F_WRLCK) green__shim_retry_kick(); /* unlock or downgrade */
  return r;
}
