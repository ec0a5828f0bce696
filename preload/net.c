/* SPDX-License-Identifier: MIT */
/*
 * The calls that create, connect, duplicate and close fds. Also the ones that tell the shim
 * what the program made of them: fcntl F_SETFL and ioctl FIONBIO (O_NONBLOCK), setsockopt
 * (SO_RCVTIMEO / SO_SNDTIMEO). Every fd-creating call the program makes resets the shim's
 * entry for the number. So what it knew of an earlier file never sticks to a new one.
 *
 * accept and connect of a blocking stream socket run in the engine (src/io.c), as the
 * library's do. accept asks poll(2) first, as it cannot be tried without blocking. Nothing
 * else in this OS thread runs between the two. Another process sharing the listener could
 * still take the connection first. The accept then blocks, as it would have without the
 * shim. connect makes the not-yet-connected socket non-blocking for the one call; nobody
 * else can be using it. It waits for the result on the hub.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdtab.h"
#include "io.h"
#include "ownfd.h"
#include "retry.h"
#include "shim.h"
#include "syscall.h"

static uint32_t socket_info(int type) {
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  uint32_t info = base == SOCK_STREAM ? GREEN__KIND_STREAM : GREEN__KIND_DGRAM;
  if (base == SOCK_SEQPACKET) info |= GREEN__FDI_SEQPACKET;
  if (type & SOCK_NONBLOCK) info |= GREEN__FDI_NONBLOCK;
  return info;
}

/* The fd's entry when calls on it are green here, else NULL. */
static green__shim_fd_t *green_fd(int fd, struct green__hub **hp) {
  green__shim_fd_t *p;
  green__real_ready();
  if (!(*hp = green__shim_hub()) || !(p = green__shim_fd(fd)) || !green__shim_fd_green(p))
    return NULL;
  return p;
}

/* fd is closing or getting another file. This thread's hub wakes its waiters (EBADF) and
 * drops its watcher. Other hubs notice the new generation on their next use. */
static void retire(int fd) {
  struct green__hub *h = green__shim_gate(GREEN__GATE_EXISTING | GREEN__GATE_CALLBACK);
  green__shim_fd_forget(fd);
  if (h) green__fd_forget(h, fd);
  green__shim_retry_kick(); /* a close drops the process's record locks on the file */
}

GREEN__SHIM_EXPORT int socket(int domain, int type, int protocol) {
  int fd;
  green__real_ready();
  if ((fd = green__real.socket(domain, type, protocol)) >= 0)
    green__shim_fd_born(fd, socket_info(type), NULL);
  return fd;
}

GREEN__SHIM_EXPORT int socketpair(int domain, int type, int protocol, int sv[2]) {
  int r;
  green__real_ready();
  if ((r = green__real.socketpair(domain, type, protocol, sv)) == 0) {
    green__shim_fd_born(sv[0], socket_info(type), NULL);
    green__shim_fd_born(sv[1], socket_info(type), NULL);
  }
  return r;
}

GREEN__SHIM_EXPORT int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len, int flags) {
  struct green__hub *h;
  green__shim_fd_t *p = green_fd(fd, &h);
  green__io_policy_t pol;
  green__fd_t *f;
  int c, err, saved = errno;
  if (!p || green__shim_fd_kind(p) != GREEN__KIND_STREAM ||
      (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) || !(f = green__shim_hub_fd(h, fd, &err))) {
    c = green__real.accept4(fd, addr.__sockaddr__, len, flags);
  } else {
    pol = green__shim_io_policy(p, 1);
    c = green__io_accept(h, fd, f, addr.__sockaddr__, len, flags, &pol, "accept");
  }
  if (c >= 0)
    green__shim_fd_born(c, GREEN__KIND_STREAM | (flags & SOCK_NONBLOCK ? GREEN__FDI_NONBLOCK : 0),
                        p);
  return (int)green__shim_done(c, saved);
}

GREEN__SHIM_EXPORT int accept(int fd, __SOCKADDR_ARG addr, socklen_t *restrict len) {
  return accept4(fd, addr, len, 0);
}

GREEN__SHIM_EXPORT int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len) {
  struct green__hub *h;
  green__shim_fd_t *p = green_fd(fd, &h);
  green__io_policy_t pol;
  green__fd_t *f;
  int err, saved;
  if (!p || green__shim_fd_kind(p) != GREEN__KIND_STREAM || !addr.__sockaddr__ ||
      !(f = green__shim_hub_fd(h, fd, &err)))
    return green__real.connect(fd, addr.__sockaddr__, len);
  saved = errno;
  pol = green__shim_io_policy(p, 0);
  return (int)green__shim_done(green__io_connect(h, fd, f, addr.__sockaddr__, len, &pol, "connect"),
                               saved);
}

GREEN__SHIM_EXPORT int shutdown(int fd, int how) {
  green__real_ready();
  return green__real.shutdown(fd, how); /* parked readers and writers wake through epoll */
}

GREEN__SHIM_EXPORT int setsockopt(int fd, int level, int opt, const void *val, socklen_t len) {
  int r;
  green__real_ready();
  r = green__real.setsockopt(fd, level, opt, val, len);
  if (r == 0 && level == SOL_SOCKET && (opt == SO_RCVTIMEO || opt == SO_SNDTIMEO)) {
    struct timeval tv; /* read back: the kernel's rounding, and its reading of odd values */
    socklen_t tl = sizeof tv;
    if (getsockopt(fd, SOL_SOCKET, opt, &tv, &tl) == 0)
      green__shim_fd_set_timeout(fd, opt == SO_RCVTIMEO, (int64_t)tv.tv_sec * 1000000 + tv.tv_usec);
  }
  return r;
}

/* ---- close and dup ---------------------------------------------------------------------- */

GREEN__SHIM_EXPORT int close(int fd) {
  green__real_ready();
  if (green__unlikely(green__ownfd_is(fd))) {
    if (green__shim_ownfd_refused(fd)) return green__fail(-EBADF);
    green__ownfd_forget(fd); /* libev closing its loop's fds */
  }
  retire(fd);
  return green__real.close(fd);
}

GREEN__SHIM_EXPORT int fclose(FILE *f) {
  int fd = f ? fileno(f) : -1;
  green__real_ready();
  if (fd >= 0) green__shim_stdio_close(f); /* what it has buffered, written green */
  if (fd >= 0) retire(fd);
  return green__real.fclose(f);
}

GREEN__SHIM_EXPORT int mq_close(mqd_t q) { /* a POSIX queue is an fd the hub may watch */
  green__real_ready();
  retire(q);
  return green__real.mq_close(q);
}

/* close_range around the runtime's fds, in the pieces between them. */
static int close_range_around(unsigned lo, unsigned hi, int flags) {
  unsigned fd, top = hi < GREEN__OWNFD_LIMIT - 1 ? hi : GREEN__OWNFD_LIMIT - 1;
  if (lo > hi) return green__real.close_range(lo, hi, flags); /* EINVAL, as the kernel says */
  for (fd = lo; fd <= top; fd++) {
    if (!green__shim_ownfd_refused((int)fd)) continue;
    if (fd > lo && green__real.close_range(lo, fd - 1, flags) < 0) return -1;
    lo = fd + 1;
  }
  return lo <= hi ? green__real.close_range(lo, hi, flags) : 0;
}

GREEN__SHIM_EXPORT int close_range(unsigned lo, unsigned hi, int flags) {
  int r;
  green__real_ready();
  r = close_range_around(lo, hi, flags);
  if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) {
    unsigned fd, top = hi < (1u << 20) ? hi : (1u << 20) - 1;
    for (fd = lo; fd <= top; fd++) green__shim_fd_forget((int)fd);
    green__shim_retry_kick();
  }
  return r;
}

GREEN__SHIM_EXPORT int dup(int fd) {
  int r;
  green__real_ready();
  if ((r = green__real.dup(fd)) >= 0) green__shim_fd_dup(fd, r);
  return r;
}

GREEN__SHIM_EXPORT int dup3(int fd, int to, int flags) {
  int r;
  green__real_ready();
  if (green__shim_ownfd_refused(to)) return green__fail(-EBADF);
  if ((r = green__real.dup3(fd, to, flags)) >= 0) {
    retire(to);
    green__shim_fd_dup(fd, to);
  }
  return r;
}

GREEN__SHIM_EXPORT int dup2(int fd, int to) {
  int r;
  green__real_ready();
  if (green__shim_ownfd_refused(to)) return green__fail(-EBADF);
  if ((r = green__real.dup2(fd, to)) >= 0 && fd != to) {
    retire(to);
    green__shim_fd_dup(fd, to);
  }
  return r;
}

/* ---- fcntl and ioctl: learn O_NONBLOCK; fcntl's locks ---------------------------------- */

static int is_lock_cmd(int cmd) {
  return cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
}

static int fcntl_seen(int fd, int cmd, void *arg, int r) {
  if (r < 0) return r;
  if (cmd == F_SETFL) green__shim_fd_set_nonblock(fd, ((int)(intptr_t)arg & O_NONBLOCK) != 0);
  else if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) green__shim_fd_dup(fd, r);
  return r;
}

GREEN__SHIM_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  void *arg;
  va_start(ap, cmd);
  arg = va_arg(ap, void *);
  va_end(ap);
  green__real_ready();
  if (is_lock_cmd(cmd)) return green__shim_fcntl_lock(fd, cmd, arg, green__real.fcntl);
  return fcntl_seen(fd, cmd, arg, green__real.fcntl(fd, cmd, arg));
}

GREEN__SHIM_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  void *arg;
  va_start(ap, cmd);
  arg = va_arg(ap, void *);
  va_end(ap);
  green__real_ready();
  if (is_lock_cmd(cmd)) return green__shim_fcntl_lock(fd, cmd, arg, green__real.fcntl64);
  return fcntl_seen(fd, cmd, arg, green__real.fcntl64(fd, cmd, arg));
}

GREEN__SHIM_EXPORT int ioctl(int fd, unsigned long req, ...) {
  va_list ap;
  void *arg;
  int r;
  va_start(ap, req);
  arg = va_arg(ap, void *);
  va_end(ap);
  green__real_ready();
  r = green__real.ioctl(fd, req, arg);
  if (r == 0 && req == FIONBIO && arg) green__shim_fd_set_nonblock(fd, *(const int *)arg != 0);
  return r;
}

/* ---- pipes and opens -------------------------------------------------------------------- */

GREEN__SHIM_EXPORT int pipe2(int p[2], int flags) {
  int r;
  green__real_ready();
  if ((r = green__real.pipe2(p, flags)) == 0 && green__ownfd_depth) {
    p[0] = green__ownfd_move(p[0]); /* libev's wake-up pipe where it has no eventfd */
    p[1] = green__ownfd_move(p[1]);
  } else if (r == 0) {
    uint32_t info = GREEN__KIND_PIPE | (flags & O_NONBLOCK ? GREEN__FDI_NONBLOCK : 0);
    green__shim_fd_born(p[0], info, NULL);
    green__shim_fd_born(p[1], info, NULL);
  }
  return r;
}

GREEN__SHIM_EXPORT int pipe(int p[2]) { return pipe2(p, 0); }

/* An fd opened by path: whatever it is, it is a new file for the number. A FIFO whose open
 * waits for the other end opens green (fifo.c). */
static int opened(int fd) {
  if (fd >= 0) green__shim_fd_forget(fd);
  return fd;
}

/* /proc/self/task/<a green thread's id> names its OS thread's directory (tid.c). */
#define task_path(path, buf) green__shim_task_path(path, buf, sizeof buf)

#define OPEN_MODE(fl, mode)                                   \
  do {                                                        \
    if (GREEN__OPEN_HAS_MODE(fl)) {                           \
      va_list ap;                                             \
      va_start(ap, fl);                                       \
      mode = (mode_t)va_arg(ap, int);                         \
      va_end(ap);                                             \
    }                                                         \
  } while (0)

/* The hub to open path on green when it is a FIFO whose open waits (fifo.c). __open_2's
 * O_CREAT without a mode stays libc's (it aborts). */
static struct green__hub *fifo_hub(int dir, const char *path, int fl, int has_mode) {
  green__real_ready();
  return !has_mode && (fl & O_CREAT) ? NULL : green__shim_fifo_hub(dir, path, fl);
}

GREEN__SHIM_EXPORT int open(const char *path, int fl, ...) {
  char buf[GREEN__TASK_PATH_MAX];
  mode_t mode = 0;
  struct green__hub *h;
  OPEN_MODE(fl, mode);
  path = task_path(path, buf);
  if ((h = fifo_hub(AT_FDCWD, path, fl, 1)))
    return opened(green__shim_open_fifo(h, AT_FDCWD, path, fl, mode));
  return opened(green__real.open(path, fl, mode));
}

GREEN__SHIM_EXPORT int open64(const char *path, int fl, ...) {
  char buf[GREEN__TASK_PATH_MAX];
  mode_t mode = 0;
  struct green__hub *h;
  OPEN_MODE(fl, mode);
  path = task_path(path, buf);
  if ((h = fifo_hub(AT_FDCWD, path, fl, 1)))
    return opened(green__shim_open_fifo(h, AT_FDCWD, path, fl, mode));
  return opened(green__real.open64(path, fl, mode));
}

GREEN__SHIM_EXPORT int openat(int dir, const char *path, int fl, ...) {
  char buf[GREEN__TASK_PATH_MAX];
  mode_t mode = 0;
  struct green__hub *h;
  OPEN_MODE(fl, mode);
  path = task_path(path, buf);
  if ((h = fifo_hub(dir, path, fl, 1)))
    return opened(green__shim_open_fifo(h, dir, path, fl, mode));
  return opened(green__real.openat(dir, path, fl, mode));
}

GREEN__SHIM_EXPORT int openat64(int dir, const char *path, int fl, ...) {
  char buf[GREEN__TASK_PATH_MAX];
  mode_t mode = 0;
  struct green__hub *h;
  OPEN_MODE(fl, mode);
  path = task_path(path, buf);
  if ((h = fifo_hub(dir, path, fl, 1)))
    return opened(green__shim_open_fifo(h, dir, path, fl, mode));
  return opened(green__real.openat64(dir, path, fl, mode));
}

GREEN__SHIM_EXPORT int __open_2(const char *path, int fl) {
  char buf[GREEN__TASK_PATH_MAX];
  struct green__hub *h;
  path = task_path(path, buf);
  if ((h = fifo_hub(AT_FDCWD, path, fl, 0))) return opened(green__shim_open_fifo(h, AT_FDCWD, path, fl, 0));
  return opened(green__real.__open_2(path, fl));
}

GREEN__SHIM_EXPORT int __open64_2(const char *path, int fl) {
  char buf[GREEN__TASK_PATH_MAX];
  struct green__hub *h;
  path = task_path(path, buf);
  if ((h = fifo_hub(AT_FDCWD, path, fl, 0))) return opened(green__shim_open_fifo(h, AT_FDCWD, path, fl, 0));
  return opened(green__real.__open64_2(path, fl));
}

GREEN__SHIM_EXPORT int __openat_2(int dir, const char *path, int fl) {
  char buf[GREEN__TASK_PATH_MAX];
  struct green__hub *h;
  path = task_path(path, buf);
  if ((h = fifo_hub(dir, path, fl, 0))) return opened(green__shim_open_fifo(h, dir, path, fl, 0));
  return opened(green__real.__openat_2(dir, path, fl));
}

GREEN__SHIM_EXPORT int __openat64_2(int dir, const char *path, int fl) {
  char buf[GREEN__TASK_PATH_MAX];
  struct green__hub *h;
  path = task_path(path, buf);
  if ((h = fifo_hub(dir, path, fl, 0))) return opened(green__shim_open_fifo(h, dir, path, fl, 0));
  return opened(green__real.__openat64_2(dir, path, fl));
}

GREEN__SHIM_EXPORT int creat(const char *path, mode_t mode) {
  const int fl = O_CREAT | O_WRONLY | O_TRUNC;
  struct green__hub *h = fifo_hub(AT_FDCWD, path, fl, 1);
  if (h) return opened(green__shim_open_fifo(h, AT_FDCWD, path, fl, mode));
  return opened(green__real.creat(path, mode));
}

/* For syscall() (syscall.c). */
GREEN__SHIM_HOOK_ALIAS(accept);
GREEN__SHIM_HOOK_ALIAS(accept4);
GREEN__SHIM_HOOK_ALIAS(connect);
