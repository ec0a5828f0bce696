/* SPDX-License-Identifier: MIT */
/*
 * read, write and the recv/send family. Each hook describes its call in a green__io_t and
 * hands it to green__shim_io, which either passes it to libc (not a green call, or the fd
 * is a file, a tty, or non-blocking by the program's choice) or runs it in the loops below.
 *
 * A call is tried without blocking and without changing the fd's mode: MSG_DONTWAIT on
 * sockets (read(2) on a socket is recvmsg with no flags, write(2) sendmsg with MSG_EOR on
 * seqpacket ones), RWF_NOWAIT on pipes, eventfds and the like (a file that refuses it is
 * polled, then read plainly: nothing else in this OS thread can run in between), a second
 * non-blocking description of the same tty for a tty's output (try_tty). On EAGAIN
 * the greenlet parks until the fd is ready or the socket's timeout passes (then EAGAIN, as
 * Linux says). Output goes on until everything is out, as a blocking write does; a timeout or
 * a signal after part of it returns the count, as the kernel does. Out of memory for the fd
 * tables, the call waits on the back-off timer instead (io_untracked).
 */
#include "io.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>

#include "fdtab.h"
#include "retry.h"
#include "shim.h"

static int is_input(green__op_t op) { return op <= GREEN__OP_RECVMSG; }

ssize_t green__shim_io_real(int fd, const green__io_t *io) {
  switch (io->op) {
  case GREEN__OP_READ: return green__real.read(fd, io->buf, io->len);
  case GREEN__OP_READV: return green__real.readv(fd, io->iov, io->iovcnt);
  case GREEN__OP_RECVFROM:
    return green__real.recvfrom(fd, io->buf, io->len, io->flags, io->addr, io->addrlen);
  case GREEN__OP_RECVMSG: return green__real.recvmsg(fd, io->msg, io->flags);
  case GREEN__OP_WRITE: return green__real.write(fd, io->buf, io->len);
  case GREEN__OP_WRITEV: return green__real.writev(fd, io->iov, io->iovcnt);
  case GREEN__OP_SENDTO:
    return green__real.sendto(fd, io->buf, io->len, io->flags, io->addr, io->addrlen_in);
  case GREEN__OP_SENDMSG: return green__real.sendmsg(fd, io->msg, io->flags);
  }
  return green__fail(-EINVAL);
}

/* ---- what is left to move: the rest of a partly done buffer, then whole ones ------------ */

typedef struct cursor {
  struct iovec head;
  const struct iovec *rest;
  size_t nrest;
  size_t left; /* bytes */
} cursor_t;

static void cursor_init(cursor_t *c, const green__io_t *io) {
  const struct iovec *v = io->iov;
  size_t n = (size_t)io->iovcnt, i;
  c->head.iov_base = io->buf;
  c->head.iov_len = io->len;
  if (io->op == GREEN__OP_RECVMSG || io->op == GREEN__OP_SENDMSG) {
    v = io->msg->msg_iov;
    n = io->msg->msg_iov ? io->msg->msg_iovlen : 0;
  }
  if (io->op == GREEN__OP_READV || io->op == GREEN__OP_WRITEV || io->op == GREEN__OP_RECVMSG ||
      io->op == GREEN__OP_SENDMSG) {
    c->head.iov_len = 0;
    c->rest = v;
    c->nrest = n;
  } else {
    c->rest = NULL;
    c->nrest = 0;
  }
  c->left = c->head.iov_len;
  for (i = 0; i < c->nrest; i++) c->left += v[i].iov_len;
}

static void cursor_skip(cursor_t *c, size_t n) {
  c->left -= n;
  if (c->head.iov_len) {
    size_t k = n < c->head.iov_len ? n : c->head.iov_len;
    c->head.iov_base = (char *)c->head.iov_base + k;
    c->head.iov_len -= k;
    n -= k;
  }
  while (c->nrest && n >= c->rest->iov_len) n -= c->rest->iov_len, c->rest++, c->nrest--;
  if (n) {
    c->head.iov_base = (char *)c->rest->iov_base + n;
    c->head.iov_len = c->rest->iov_len - n;
    c->rest++, c->nrest--;
  }
}

/* The iovecs of the next call: the head alone while it has bytes, else the whole ones. */
static struct iovec *cursor_iov(cursor_t *c, size_t *n) {
  if (c->head.iov_len || !c->nrest) {
    *n = 1;
    return &c->head;
  }
  *n = c->nrest;
  return (struct iovec *)c->rest;
}

/* ---- one try ---------------------------------------------------------------------------- */

static int kind_is_socket(int kind) { return kind == GREEN__KIND_STREAM || kind == GREEN__KIND_DGRAM; }

/* A file without RWF_NOWAIT: poll it, and only when ready make the plain call. */
static ssize_t try_polled(int fd, const green__io_t *io, struct iovec *v, size_t n) {
  struct pollfd pfd = {fd, (short)(is_input(io->op) ? POLLIN : POLLOUT), 0};
  int r = green__real.poll(&pfd, 1, 0);
  if (r < 0) return -1;
  if (r == 0) return green__fail(-EAGAIN);
  return is_input(io->op) ? green__real.readv(fd, v, (int)n) : green__real.writev(fd, v, (int)n);
}

/* A tty refuses RWF_NOWAIT. Its input is polled, then read plainly: a tty says readable only
 * when a read would not wait (a whole line in canonical mode, VMIN bytes otherwise). Its
 * output goes through a second description of the same tty, opened non-blocking through
 * /proc/self/fd for this one call, so the program's own keeps its mode (a full tty takes
 * part of it, or says EAGAIN). A pty's master side cannot be reopened (that would make a new
 * pty), nor can a tty without /proc: polled, then written plainly. */
static ssize_t try_tty(int fd, green__shim_fd_t *p, const green__io_t *io, struct iovec *v,
                       size_t n) {
  struct pollfd pfd = {fd, POLLOUT, 0};
  char path[40];
  int twin, e;
  ssize_t r;
  if (is_input(io->op) || (__atomic_load_n(&p->info, __ATOMIC_RELAXED) & GREEN__FDI_NOWAIT_BAD))
    return try_polled(fd, io, v, n);
  if ((r = green__real.poll(&pfd, 1, 0)) <= 0) return r < 0 ? -1 : green__fail(-EAGAIN);
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  if ((twin = green__real.open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0)) < 0) {
    __atomic_or_fetch(&p->info, GREEN__FDI_NOWAIT_BAD, __ATOMIC_RELAXED);
    return try_polled(fd, io, v, n);
  }
  r = green__real.writev(twin, v, (int)n);
  e = errno;
  green__real.close(twin);
  errno = e;
  return r;
}

static ssize_t try_nowait(int fd, green__shim_fd_t *p, const green__io_t *io, cursor_t *c) {
  size_t n;
  struct iovec *v = cursor_iov(c, &n);
  ssize_t r;
  if (green__shim_fd_kind(p) == GREEN__KIND_TTY) return try_tty(fd, p, io, v, n);
  if (__atomic_load_n(&p->info, __ATOMIC_RELAXED) & GREEN__FDI_NOWAIT_BAD)
    return try_polled(fd, io, v, n);
  r = is_input(io->op) ? preadv2(fd, v, (int)n, -1, RWF_NOWAIT)
                       : pwritev2(fd, v, (int)n, -1, RWF_NOWAIT);
  if (r < 0 && errno == EOPNOTSUPP) {
    __atomic_or_fetch(&p->info, GREEN__FDI_NOWAIT_BAD, __ATOMIC_RELAXED);
    return try_polled(fd, io, v, n);
  }
  return r;
}

/* A socket call with MSG_DONTWAIT added; `first` says whether the program's address and
 * control data go with it (they go with the first bytes only). */
static ssize_t try_socket(int fd, uint32_t info, const green__io_t *io, cursor_t *c, int first) {
  int fl = io->flags | MSG_DONTWAIT;
  struct msghdr m = {0};
  size_t n;
  if (io->op == GREEN__OP_WRITE || io->op == GREEN__OP_WRITEV)
    fl |= (info & GREEN__FDI_SEQPACKET) ? MSG_EOR : 0;
  switch (io->op) {
  case GREEN__OP_READ:
  case GREEN__OP_RECVFROM:
    return green__real.recvfrom(fd, c->head.iov_base, c->head.iov_len, fl,
                                first ? io->addr : NULL, first ? io->addrlen : NULL);
  case GREEN__OP_WRITE:
  case GREEN__OP_SENDTO:
    return green__real.sendto(fd, c->head.iov_base, c->head.iov_len, fl,
                              first ? io->addr : NULL, first ? io->addrlen_in : 0);
  case GREEN__OP_RECVMSG:
    if (first) return green__real.recvmsg(fd, io->msg, fl);
    break;
  case GREEN__OP_SENDMSG:
    if (first) return green__real.sendmsg(fd, io->msg, fl);
    break;
  default:
    break;
  }
  m.msg_iov = cursor_iov(c, &n);
  m.msg_iovlen = n;
  return is_input(io->op) ? green__real.recvmsg(fd, &m, fl) : green__real.sendmsg(fd, &m, fl);
}

/* ---- the loops -------------------------------------------------------------------------- */

/* The deadline of a call that has to wait: now + the socket's timeout, or none. */
static double deadline(int64_t usec) { return usec > 0 ? green_now() + (double)usec * 1e-6 : INFINITY; }

static int wait_ready(struct green__hub *h, int fd, int events, int64_t timeo, double *at,
                      const char *name) {
  int r;
  if (isnan(*at)) *at = deadline(timeo);
  r = green__shim_wait_fd(h, fd, events, *at, timeo > 0 ? GREEN__INTR_ALWAYS : GREEN__INTR_RESTART,
                          name);
  return r == -ETIMEDOUT ? -EAGAIN : r; /* a socket timeout is EAGAIN */
}

static ssize_t input(struct green__hub *h, int fd, green__shim_fd_t *p, green__fd_t *f,
                     const green__io_t *io) {
  uint32_t info = __atomic_load_n(&p->info, __ATOMIC_RELAXED);
  int kind = (int)(info & GREEN__FDI_KIND), sock = kind_is_socket(kind);
  int waitall = (io->flags & MSG_WAITALL) && kind == GREEN__KIND_STREAM;
  int stream = kind == GREEN__KIND_STREAM || kind == GREEN__KIND_PIPE;
  double at = NAN;
  size_t got = 0;
  ssize_t n;
  cursor_t c;
  int r;
  cursor_init(&c, io);
  for (;;) {
    if (!(f->flags & GREEN__FD_RD_UNREADY)) {
      size_t want = c.left;
      n = sock ? try_socket(fd, info, io, &c, got == 0) : try_nowait(fd, p, io, &c);
      if (n >= 0) {
        /* short: most likely drained, so the next read parks first instead of spending a
         * system call to learn EAGAIN (the watcher stays registered: nothing is missed) */
        if (stream && n > 0 && (size_t)n < want) f->flags |= GREEN__FD_RD_UNREADY;
        got += (size_t)n;
        if (!waitall || n == 0 || (size_t)n >= want) return (ssize_t)got;
        cursor_skip(&c, (size_t)n);
        continue;
      }
      if (errno != EAGAIN) return got ? (ssize_t)got : -1;
    }
    if ((r = wait_ready(h, fd, GREEN_READ, __atomic_load_n(&p->rcvtimeo, __ATOMIC_RELAXED), &at,
                        io->name)) < 0)
      return got ? (ssize_t)got : green__fail(r);
  }
}

static ssize_t output(struct green__hub *h, int fd, green__shim_fd_t *p, green__fd_t *f,
                      const green__io_t *io) {
  uint32_t info = __atomic_load_n(&p->info, __ATOMIC_RELAXED);
  int kind = (int)(info & GREEN__FDI_KIND), sock = kind_is_socket(kind);
  double at = NAN;
  size_t sent = 0;
  ssize_t n;
  cursor_t c;
  int r;
  cursor_init(&c, io);
  for (;;) {
    if (!(f->flags & GREEN__FD_WR_UNREADY)) {
      n = sock ? try_socket(fd, info, io, &c, sent == 0) : try_nowait(fd, p, io, &c);
      if (n >= 0) {
        sent += (size_t)n;
        cursor_skip(&c, (size_t)n);
        if (!c.left || kind == GREEN__KIND_DGRAM) return (ssize_t)sent;
        f->flags |= GREEN__FD_WR_UNREADY; /* a short write: the buffer is full */
        continue;
      }
      if (errno != EAGAIN) return sent ? (ssize_t)sent : -1;
    }
    if ((r = wait_ready(h, fd, GREEN_WRITE, __atomic_load_n(&p->sndtimeo, __ATOMIC_RELAXED), &at,
                        io->name)) < 0)
      return sent ? (ssize_t)sent : green__fail(r);
  }
}

/* Calls libc answers at once without blocking: bad iovec counts, no iovec array or msghdr
 * (EFAULT), and read(2) or readv(2) of nothing, which return 0 at once on sockets and pipes
 * (recv of nothing waits for data, as the kernel's does). */
static int answered_at_once(const green__io_t *io) {
  int i;
  switch (io->op) {
  case GREEN__OP_READ: return io->len == 0;
  case GREEN__OP_READV:
    if (io->iovcnt < 0 || io->iovcnt > IOV_MAX || (io->iovcnt && !io->iov)) return 1;
    for (i = 0; i < io->iovcnt; i++)
      if (io->iov[i].iov_len) return 0;
    return 1;
  case GREEN__OP_WRITEV: return io->iovcnt < 0 || io->iovcnt > IOV_MAX || (io->iovcnt && !io->iov);
  case GREEN__OP_RECVMSG:
  case GREEN__OP_SENDMSG:
    return !io->msg || io->msg->msg_iovlen > IOV_MAX || (io->msg->msg_iovlen && !io->msg->msg_iov);
  default: return 0;
  }
}

/* The socket's SO_RCVTIMEO or SO_SNDTIMEO as a deadline on green_now()'s clock; INFINITY
 * for none, or for an fd that is no socket. */
static double timeout_deadline(int fd, int input) {
  struct timeval tv = {0, 0};
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, input ? SO_RCVTIMEO : SO_SNDTIMEO, &tv, &len) != 0 ||
      (tv.tv_sec == 0 && tv.tv_usec == 0))
    return INFINITY;
  return green_now() + (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Out of memory for the fd tables, the shim knows nothing of fd: while the call would block,
 * it waits on the back-off timer (preload/README.md, Out of memory), then libc makes the
 * call. A non-blocking fd, and a file, which poll finds always ready, go to libc at once. */
static ssize_t io_untracked(struct green__hub *h, int fd, const green__io_t *io) {
  struct pollfd want = {.fd = fd, .events = is_input(io->op) ? POLLIN : POLLOUT};
  double step = GREEN__RETRY_FIRST, deadline = timeout_deadline(fd, is_input(io->op));
  int flags = green__real.fcntl(fd, F_GETFL, NULL), r;
  if (flags < 0 || (flags & O_NONBLOCK)) return green__shim_io_real(fd, io);
  while (green__real.poll(&want, 1, 0) == 0) {
    if (green_now() >= deadline) return green__fail(-EAGAIN);
    r = green__shim_retry_park(h, &step, deadline, GREEN__INTR_RESTART, 1, io->name);
    if (r < 0) return green__shim_retry_fail(h, r);
  }
  return green__shim_io_real(fd, io);
}

ssize_t green__shim_io(int fd, green__io_t *io) {
  struct green__hub *h;
  green__shim_fd_t *p;
  green__fd_t *f;
  int err;
  green__real_ready();
  if (!(h = green__shim_hub()) || (io->flags & MSG_DONTWAIT) || answered_at_once(io))
    return green__shim_io_real(fd, io);
  if (!(p = green__shim_fd(fd)))
    return green__shim_fd_fits(fd) ? io_untracked(h, fd, io) : green__shim_io_real(fd, io);
  if (!green__shim_fd_green(p)) return green__shim_io_real(fd, io);
  if (!kind_is_socket(green__shim_fd_kind(p)) && io->op != GREEN__OP_READ &&
      io->op != GREEN__OP_READV && io->op != GREEN__OP_WRITE && io->op != GREEN__OP_WRITEV)
    return green__shim_io_real(fd, io); /* recv/send on a pipe: ENOTSOCK at once */
  if (!(f = green__shim_hub_fd(h, fd, &err)))
    return err == -ENOMEM ? io_untracked(h, fd, io) : green__shim_io_real(fd, io);
  err = errno;
  return green__shim_done(is_input(io->op) ? input(h, fd, p, f, io) : output(h, fd, p, f, io), err);
}

/* ---- the hooks -------------------------------------------------------------------------- */

GREEN__SHIM_EXPORT ssize_t read(int fd, void *buf, size_t n) {
  green__io_t io = {.op = GREEN__OP_READ, .name = "read", .buf = buf, .len = n};
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  green__io_t io = {.op = GREEN__OP_READ, .name = "read", .buf = buf, .len = n};
  if (n > buflen) return green__real_ready(), green__real.__read_chk(fd, buf, n, buflen);
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt) {
  green__io_t io = {.op = GREEN__OP_READV, .name = "readv", .iov = iov, .iovcnt = cnt};
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t n) {
  green__io_t io = {.op = GREEN__OP_WRITE, .name = "write", .buf = (void *)buf, .len = n};
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  green__io_t io = {.op = GREEN__OP_WRITEV, .name = "writev", .iov = iov, .iovcnt = cnt};
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t recvfrom(int fd, void *restrict buf, size_t n, int flags,
                                    __SOCKADDR_ARG addr, socklen_t *restrict addrlen) {
  green__io_t io = {.op = GREEN__OP_RECVFROM, .name = "recvfrom", .buf = buf, .len = n,
                    .flags = flags, .addr = addr.__sockaddr__, .addrlen = addrlen};
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags) {
  green__io_t io = {.op = GREEN__OP_RECVFROM, .name = "recv", .buf = buf, .len = n,
                    .flags = flags};
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
  green__io_t io = {.op = GREEN__OP_RECVFROM, .name = "recv", .buf = buf, .len = n,
                    .flags = flags};
  if (n > buflen) return green__real_ready(), green__real.__recv_chk(fd, buf, n, buflen, flags);
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t __recvfrom_chk(int fd, void *restrict buf, size_t n, size_t buflen,
                                          int flags, __SOCKADDR_ARG addr,
                                          socklen_t *restrict addrlen) {
  green__io_t io = {.op = GREEN__OP_RECVFROM, .name = "recvfrom", .buf = buf, .len = n,
                    .flags = flags, .addr = addr.__sockaddr__, .addrlen = addrlen};
  if (n > buflen)
    return green__real_ready(),
           green__real.__recvfrom_chk(fd, buf, n, buflen, flags, addr.__sockaddr__, addrlen);
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  green__io_t io = {.op = GREEN__OP_RECVMSG, .name = "recvmsg", .msg = msg, .flags = flags};
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                                  __CONST_SOCKADDR_ARG addr, socklen_t addrlen) {
  green__io_t io = {.op = GREEN__OP_SENDTO, .name = "sendto", .buf = (void *)buf, .len = n,
                    .flags = flags, .addr = (struct sockaddr *)addr.__sockaddr__,
                    .addrlen_in = addrlen};
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  green__io_t io = {.op = GREEN__OP_SENDTO, .name = "send", .buf = (void *)buf, .len = n,
                    .flags = flags};
  return green__shim_io(fd, &io);
}

GREEN__SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  green__io_t io = {.op = GREEN__OP_SENDMSG, .name = "sendmsg", .msg = (struct msghdr *)msg,
                    .flags = flags};
  return green__shim_io(fd, &io);
}

/* ---- many messages at once -------------------------------------------------------------- */

/* The hub and fd entry for a green call on a socket fd, or NULL: pass through. */
static green__shim_fd_t *socket_call(int fd, int flags, struct green__hub **hp, green__fd_t **fp) {
  green__shim_fd_t *p;
  int err;
  green__real_ready();
  if ((flags & MSG_DONTWAIT) || !(*hp = green__shim_hub()) || !(p = green__shim_fd(fd)) ||
      !green__shim_fd_green(p) || !kind_is_socket(green__shim_fd_kind(p)) ||
      !(*fp = green__shim_hub_fd(*hp, fd, &err)))
    return NULL;
  return p;
}

/* Blocking recvmmsg waits for the first datagram, then (without MSG_WAITFORONE) for more
 * until vlen have come or, checked after each one, the timeout passed. */
static int recvmmsg_green(int fd, struct mmsghdr *vec, unsigned vlen, int flags,
                          struct timespec *timeout) {
  struct green__hub *h;
  green__shim_fd_t *p;
  green__fd_t *f;
  double at = NAN, end = INFINITY;
  unsigned got = 0;
  int r;
  if (!(p = socket_call(fd, flags, &h, &f)) || !vec || vlen == 0 ||
      (timeout && green__ts_checked(timeout) < 0))
    return green__real.recvmmsg(fd, vec, vlen, flags, timeout);
  if (timeout) end = green_now() + green__ts_checked(timeout);
  for (;;) {
    r = green__real.recvmmsg(fd, vec + got, vlen - got, flags | MSG_DONTWAIT, NULL);
    if (r > 0) {
      double now = timeout ? green_now() : 0;
      got += (unsigned)r;
      if (timeout) {
        double left = end > now ? end - now : 0;
        timeout->tv_sec = (time_t)left;
        timeout->tv_nsec = (long)((left - (double)timeout->tv_sec) * 1e9);
      }
      if (got == vlen || (flags & MSG_WAITFORONE) || (timeout && now >= end)) return (int)got;
      continue;
    }
    if (r < 0 && errno != EAGAIN) return got ? (int)got : -1;
    if ((r = wait_ready(h, fd, GREEN_READ, __atomic_load_n(&p->rcvtimeo, __ATOMIC_RELAXED), &at,
                        "recvmmsg")) < 0)
      return got ? (int)got : green__fail(r);
  }
}

static int sendmmsg_green(int fd, struct mmsghdr *vec, unsigned vlen, int flags) {
  struct green__hub *h;
  green__shim_fd_t *p;
  green__fd_t *f;
  double at = NAN;
  unsigned sent = 0;
  int r;
  if (!(p = socket_call(fd, flags, &h, &f)) || !vec || vlen == 0)
    return green__real.sendmmsg(fd, vec, vlen, flags);
  for (;;) {
    r = green__real.sendmmsg(fd, vec + sent, vlen - sent, flags | MSG_DONTWAIT);
    if (r > 0 && (sent += (unsigned)r) == vlen) return (int)sent;
    if (r < 0 && errno != EAGAIN) return sent ? (int)sent : -1;
    if (r < 0 && (r = wait_ready(h, fd, GREEN_WRITE,
                                 __atomic_load_n(&p->sndtimeo, __ATOMIC_RELAXED), &at,
                                 "sendmmsg")) < 0)
      return sent ? (int)sent : green__fail(r);
  }
}

GREEN__SHIM_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags,
                                struct timespec *timeout) {
  int saved = errno;
  return (int)green__shim_done(recvmmsg_green(fd, vec, vlen, flags, timeout), saved);
}

GREEN__SHIM_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned vlen, int flags) {
  int saved = errno;
  return (int)green__shim_done(sendmmsg_green(fd, vec, vlen, flags), saved);
}

/* For syscall() (syscall.c). */
GREEN__SHIM_HOOK_ALIAS(read);
GREEN__SHIM_HOOK_ALIAS(write);
GREEN__SHIM_HOOK_ALIAS(readv);
GREEN__SHIM_HOOK_ALIAS(writev);
GREEN__SHIM_HOOK_ALIAS(recvfrom);
GREEN__SHIM_HOOK_ALIAS(sendto);
GREEN__SHIM_HOOK_ALIAS(recvmsg);
GREEN__SHIM_HOOK_ALIAS(sendmsg);
GREEN__SHIM_HOOK_ALIAS(recvmmsg);
GREEN__SHIM_HOOK_ALIAS(sendmmsg);
