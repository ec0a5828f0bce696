/* SPDX-License-Identifier: MIT */
/*
 * The I/O engine: "try without waiting, on EAGAIN park, retry". It serves the library's calls,
 * and a layer on top that runs a program's calls, alike. Input returns what one successful
 * call gets. Output on a stream goes on until everything is out, as libc's blocking write does.
 *
 * Every try is non-blocking by itself and leaves the fd's mode alone. So it cannot block the
 * thread, whatever file the number names now. A plain close() may have given the number to a
 * new blocking pipe the hub never saw.
 * - Sockets take MSG_DONTWAIT. read(2) on a socket is recv with no flags; write(2) on a
 *   seqpacket socket is send with MSG_EOR.
 * - Pipes, eventfds and the like take preadv2/pwritev2 with RWF_NOWAIT.
 * - A terminal refuses RWF_NOWAIT. Its input is polled, then read plainly: a tty is readable
 *   only when a read would not wait. Its output goes through a second, non-blocking
 *   description of the same tty (try_tty).
 * - Any other file that refuses RWF_NOWAIT is polled, then called plainly.
 * - A regular file's EAGAIN means its pages are not in memory. epoll cannot wait for that, so
 *   the file is read or written plainly.
 * What is learnt of a file is a hint. A stale one (ENOTSOCK) is dropped, and none of them
 * can make a try wait.
 */
#include "io.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "hub.h"

const green__io_policy_t green__io_library = {0, 0, -1, NULL};

/* read, readv, write or writev: the calls that also work on files other than sockets */
static int is_plain_rw(green__op_t op) {
  return op == GREEN__OP_READ || op == GREEN__OP_READV || op == GREEN__OP_WRITE ||
         op == GREEN__OP_WRITEV;
}

int green__io_at_once(const green__io_t *io) {
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

ssize_t green__io_plain(int fd, const green__io_t *io) {
  switch (io->op) {
  case GREEN__OP_READ: return read(fd, io->buf, io->len);
  case GREEN__OP_READV: return readv(fd, io->iov, io->iovcnt);
  case GREEN__OP_RECVFROM: return recvfrom(fd, io->buf, io->len, io->flags, io->addr, io->addrlen);
  case GREEN__OP_RECVMSG: return recvmsg(fd, io->msg, io->flags);
  case GREEN__OP_WRITE: return write(fd, io->buf, io->len);
  case GREEN__OP_WRITEV: return writev(fd, io->iov, io->iovcnt);
  case GREEN__OP_SENDTO: return sendto(fd, io->buf, io->len, io->flags, io->addr, io->addrlen_in);
  case GREEN__OP_SENDMSG: return sendmsg(fd, io->msg, io->flags);
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
  c->rest = NULL;
  c->nrest = 0;
  if (io->op == GREEN__OP_RECVMSG || io->op == GREEN__OP_SENDMSG) {
    v = io->msg->msg_iov;
    n = io->msg->msg_iov ? io->msg->msg_iovlen : 0;
  }
  if (io->op == GREEN__OP_READV || io->op == GREEN__OP_WRITEV || io->op == GREEN__OP_RECVMSG ||
      io->op == GREEN__OP_SENDMSG) {
    c->head.iov_len = 0;
    c->rest = v;
    c->nrest = n;
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
static struct iovec *cursor_iov(cursor_t *c, int *n) {
  if (c->head.iov_len || !c->nrest) {
    *n = 1;
    return &c->head;
  }
  *n = (int)c->nrest;
  return (struct iovec *)c->rest;
}

/* ---- what a file is ----------------------------------------------------------------------- */

/* Learn what fd is: a socket (and its type), a terminal, or a file to poll. -1 + errno when
 * it is not open. */
static int learn(int fd, green__fd_t *f) {
  struct stat st;
  socklen_t len = sizeof(int);
  int type, e;
  if (fstat(fd, &st) < 0) return -1;
  if (S_ISSOCK(st.st_mode)) {
    f->flags |= GREEN__FD_SOCKET | GREEN__FD_WAITABLE;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type != SOCK_STREAM)
      f->flags |= GREEN__FD_DGRAM | (type == SOCK_SEQPACKET ? GREEN__FD_EOR : 0);
    return 0;
  }
  e = errno;
  if (S_ISCHR(st.st_mode) && isatty(fd)) {
    /* a pty's master side (/dev/ptmx, 5:2) cannot be reopened: that makes a new pty */
    f->flags |= GREEN__FD_TTY | GREEN__FD_WAITABLE |
                (major(st.st_rdev) == 5 && minor(st.st_rdev) == 2 ? GREEN__FD_NOTWIN : 0);
  } else {
    f->flags |= GREEN__FD_POLLED;
  }
  errno = e;
  return 0;
}

/* ---- one try ---------------------------------------------------------------------------- */

/* A socket call with MSG_DONTWAIT added. `first` says whether the caller's address and
 * control data go with it: they go with the first bytes only. One buffer goes through
 * recvfrom/sendto, which the kernel serves without importing an iovec. */
static ssize_t try_socket(int fd, const green__fd_t *f, const green__io_t *io, cursor_t *c,
                          int first) {
  int fl = io->flags | MSG_DONTWAIT, n;
  struct msghdr m = {0};
  if ((io->op == GREEN__OP_WRITE || io->op == GREEN__OP_WRITEV) && (f->flags & GREEN__FD_EOR))
    fl |= MSG_EOR;
  if (first && io->op == GREEN__OP_RECVMSG) return recvmsg(fd, io->msg, fl);
  if (first && io->op == GREEN__OP_SENDMSG) return sendmsg(fd, io->msg, fl);
  m.msg_iov = cursor_iov(c, &n);
  m.msg_iovlen = (size_t)n;
  if (n == 1 && green__io_is_input(io->op))
    return recvfrom(fd, m.msg_iov->iov_base, m.msg_iov->iov_len, fl, first ? io->addr : NULL,
                    first ? io->addrlen : NULL);
  if (n == 1)
    return sendto(fd, m.msg_iov->iov_base, m.msg_iov->iov_len, fl, first ? io->addr : NULL,
                  first ? io->addrlen_in : 0);
  return green__io_is_input(io->op) ? recvmsg(fd, &m, fl) : sendmsg(fd, &m, fl);
}

/* Ready now? Then the plain call. A write longer than the room poll saw may wait in the
 * kernel. */
static ssize_t try_polled(int fd, int input, const struct iovec *v, int n) {
  struct pollfd p = {fd, (short)(input ? POLLIN : POLLOUT), 0};
  int r = poll(&p, 1, 0);
  if (r < 0) return -1;
  if (r == 0) return green__fail(-EAGAIN);
  if (p.revents & POLLNVAL) return green__fail(-EBADF);
  return input ? readv(fd, v, n) : writev(fd, v, n);
}

/* A terminal's output goes through a second description of the same tty, opened
 * non-blocking through /proc/self/fd for this one call. The program's own description keeps
 * its mode, and a full tty takes part of the write, or says EAGAIN. A tty that cannot be
 * reopened (no /proc, a pty's master side) is polled, then written plainly. */
static ssize_t try_tty(int fd, green__fd_t *f, const struct iovec *v, int n) {
  struct pollfd p = {fd, POLLOUT, 0};
  char path[40];
  int twin, e, r;
  ssize_t w;
  if (f->flags & GREEN__FD_NOTWIN) return try_polled(fd, 0, v, n);
  if ((r = poll(&p, 1, 0)) <= 0) return r < 0 ? -1 : green__fail(-EAGAIN);
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  if ((twin = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0)) < 0) {
    f->flags |= GREEN__FD_NOTWIN;
    return try_polled(fd, 0, v, n);
  }
  w = writev(twin, v, n);
  e = errno;
  close(twin);
  errno = e;
  return w;
}

/* A file that refuses RWF_NOWAIT: a terminal, or one to poll. */
static ssize_t try_refusing(int fd, green__fd_t *f, int input, const struct iovec *v, int n) {
  if (!(f->flags & GREEN__FD_TTY)) return try_polled(fd, input, v, n);
  return input ? try_polled(fd, 1, v, n) : try_tty(fd, f, v, n);
}

/* read(v) or write(v) on a file that is no socket, never waiting. -2 when it turned out to
 * be a socket. POLLED skips a read's RWF_NOWAIT try (a stale flag costs a poll, nothing
 * more). A write always tries it: a plain write to a pipe that the number names now could
 * wait for room. */
static ssize_t try_file(int fd, green__fd_t *f, int input, const struct iovec *v, int n) {
  ssize_t r;
  if ((f->flags & GREEN__FD_TTY) || (input && (f->flags & GREEN__FD_POLLED)))
    return try_refusing(fd, f, input, v, n);
  r = input ? preadv2(fd, v, n, -1, RWF_NOWAIT) : pwritev2(fd, v, n, -1, RWF_NOWAIT);
  if (r >= 0 || errno != EOPNOTSUPP) return r;
  if (learn(fd, f) < 0) return -1;
  return (f->flags & GREEN__FD_SOCKET) ? -2 : try_refusing(fd, f, input, v, n);
}

static ssize_t try_once(int fd, green__fd_t *f, const green__io_t *io, cursor_t *c, int first) {
  ssize_t r;
  int n;
  struct iovec *v;
  for (;;) {
    if (!is_plain_rw(io->op)) return try_socket(fd, f, io, c, first);
    if (f->flags & GREEN__FD_SOCKET) {
      if ((r = try_socket(fd, f, io, c, first)) >= 0 || errno != ENOTSOCK) return r;
      f->flags &= (uint16_t)~(GREEN__FD_SOCKET | GREEN__FD_EOR | GREEN__FD_DGRAM);
    }
    v = cursor_iov(c, &n);
    if ((r = try_file(fd, f, green__io_is_input(io->op), v, n)) != -2) return r;
  }
}

/* ---- waiting ---------------------------------------------------------------------------- */

/* After a try's EAGAIN: whether parking can help. Some files epoll cannot watch: a regular
 * file or a block device (libev calls it always ready). Those get the plain call instead
 * (*plain set). The answer is kept until a wake-up is followed by another EAGAIN. */
static int can_park(int fd, green__fd_t *f, int woke, int *plain) {
  struct stat st;
  *plain = 0;
  if (woke) f->flags &= (uint16_t)~GREEN__FD_WAITABLE;
  if (f->flags & GREEN__FD_WAITABLE) return 1;
  if (fstat(fd, &st) < 0) return 0;
  if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode)) {
    *plain = 1;
    return 0;
  }
  f->flags |= GREEN__FD_WAITABLE;
  return 1;
}

int green__io_park(struct green__hub *h, green__fd_t *f, int fd, int events, double *at,
                   const green__io_policy_t *pol, const char *name, int timeout_errno) {
  int r;
  if (isnan(*at)) *at = pol->timeo > 0 ? green_now() + pol->timeo : INFINITY;
  r = pol->park ? pol->park(h, f, fd, events, *at, name) : green__fd_wait(h, f, fd, events, *at);
  if (r == -ETIMEDOUT && pol->timeo > 0) return -timeout_errno;
  return r > 0 ? 0 : r;
}

/* ---- the loops -------------------------------------------------------------------------- */

/* Whether input waits for all it asked: MSG_WAITALL on a stream socket. The kernel returns
 * early with MSG_DONTWAIT, so the loop goes on itself. */
static int waits_for_all(int fd, green__fd_t *f, const green__io_t *io) {
  if (!(io->flags & MSG_WAITALL)) return 0;
  if (!(f->flags & (GREEN__FD_SOCKET | GREEN__FD_POLLED | GREEN__FD_TTY)) && learn(fd, f) < 0)
    return 0;
  return (f->flags & (GREEN__FD_SOCKET | GREEN__FD_DGRAM)) == GREEN__FD_SOCKET;
}

static ssize_t input(struct green__hub *h, int fd, green__fd_t *f, const green__io_t *io,
                     const green__io_policy_t *pol) {
  int waitall = waits_for_all(fd, f, io), woke = 0, plain, r;
  double at = NAN;
  size_t got = 0, want;
  ssize_t n;
  cursor_t c;
  cursor_init(&c, io);
  for (;;) {
    if (!(f->flags & GREEN__FD_RD_UNREADY)) {
      want = c.left;
      if ((n = try_once(fd, f, io, &c, got == 0)) >= 0) {
        /* short: most likely drained. So the next read parks first instead of spending a
         * system call to learn EAGAIN. The watcher stays registered: nothing is missed */
        if (n > 0 && (size_t)n < want && !(f->flags & GREEN__FD_DGRAM))
          f->flags |= GREEN__FD_RD_UNREADY;
        got += (size_t)n;
        if (!waitall || n == 0 || (size_t)n >= want) return (ssize_t)got;
        cursor_skip(&c, (size_t)n);
        continue;
      }
      if (errno != EAGAIN || (io->flags & MSG_DONTWAIT)) return got ? (ssize_t)got : -1;
      if (!can_park(fd, f, woke, &plain))
        return got ? (ssize_t)got : plain ? green__io_plain(fd, io) : -1;
    }
    if ((r = green__io_park(h, f, fd, GREEN_READ, &at, pol, io->name, EAGAIN)) < 0)
      return got ? (ssize_t)got : green__fail(r);
    woke = 1;
  }
}

/* The rest of a write to a regular file, plainly (it waits for the disk, not for a peer). */
static ssize_t plain_output(int fd, cursor_t *c, size_t sent) {
  int n;
  struct iovec *v = cursor_iov(c, &n);
  ssize_t r = writev(fd, v, n);
  if (r < 0) return sent ? (ssize_t)sent : -1;
  return (ssize_t)(sent + (size_t)r);
}

static ssize_t output(struct green__hub *h, int fd, green__fd_t *f, const green__io_t *io,
                      const green__io_policy_t *pol) {
  double at = NAN;
  size_t sent = 0;
  ssize_t n;
  cursor_t c;
  int r, woke = 0, plain;
  cursor_init(&c, io);
  for (;;) {
    if (!(f->flags & GREEN__FD_WR_UNREADY)) {
      if ((n = try_once(fd, f, io, &c, sent == 0)) >= 0) {
        sent += (size_t)n;
        cursor_skip(&c, (size_t)n);
        if (!c.left || (f->flags & GREEN__FD_DGRAM)) return (ssize_t)sent;
        f->flags |= GREEN__FD_WR_UNREADY; /* a short write: the buffer is full */
        continue;
      }
      if (errno != EAGAIN || (io->flags & MSG_DONTWAIT)) return sent ? (ssize_t)sent : -1;
      if (!can_park(fd, f, woke, &plain)) return plain ? plain_output(fd, &c, sent) : -1;
    }
    if ((r = green__io_park(h, f, fd, GREEN_WRITE, &at, pol, io->name, EAGAIN)) < 0)
      return sent ? (ssize_t)sent : green__fail(r);
    woke = 1;
  }
}

ssize_t green__io_run(struct green__hub *h, int fd, green__fd_t *f, const green__io_t *io,
                      const green__io_policy_t *pol) {
  f->flags |= (uint16_t)pol->kind;
  return green__io_is_input(io->op) ? input(h, fd, f, io, pol) : output(h, fd, f, io, pol);
}

/* ---- connect and accept ----------------------------------------------------------------- */

/* The fd's O_NONBLOCK as the policy knows it, or as the kernel says; -1 + errno. */
static int nonblocking(int fd, const green__io_policy_t *pol) {
  int fl;
  if (pol->nonblock >= 0) return pol->nonblock;
  return (fl = fcntl(fd, F_GETFL)) < 0 ? -1 : (fl & O_NONBLOCK) != 0;
}

/* connect(2) that does not wait: a blocking socket is made non-blocking for the call. */
static int connect_nowait(int fd, const struct sockaddr *addr, socklen_t len,
                          const green__io_policy_t *pol) {
  int nb = nonblocking(fd, pol), fl, r, e;
  if (nb != 0) return nb < 0 ? -1 : connect(fd, addr, len);
  if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  r = connect(fd, addr, len);
  e = errno;
  fcntl(fd, F_SETFL, fl);
  errno = e;
  return r;
}

int green__io_connect(struct green__hub *h, int fd, green__fd_t *f, const struct sockaddr *addr,
                      socklen_t len, const green__io_policy_t *pol, const char *name) {
  double at = NAN;
  int r, e, err;
  socklen_t errlen = sizeof err;
  f->flags |= (uint16_t)pol->kind;
  for (;;) {
    if (connect_nowait(fd, addr, len, pol) == 0) return 0;
    if ((e = errno) != EINPROGRESS && e != EAGAIN) return -1; /* EAGAIN: full AF_UNIX backlog */
    if ((r = green__io_park(h, f, fd, GREEN_WRITE, &at, pol, name, EINPROGRESS)) < 0) return green__fail(r);
    if (e == EINPROGRESS) {
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0) return -1;
      return err ? green__fail(-err) : 0;
    }
  }
}

/* Whether fd is a listening socket: accept on anything else fails at once. */
static int listening(int fd) {
  int on = 0;
  socklen_t len = sizeof on;
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

/* accept4(2) that does not wait. A blocking listener is asked first with poll. Another
 * process sharing it may still take the connection first, and then accept4 waits. A socket
 * that does not listen gets the plain call at once, for its error. */
static int accept_nowait(int fd, struct sockaddr *addr, socklen_t *len, int flags,
                         const green__io_policy_t *pol, int first) {
  struct pollfd p = {fd, POLLIN, 0};
  int nb = nonblocking(fd, pol), r;
  if (nb < 0) return -1;
  if (!nb && (r = poll(&p, 1, 0)) <= 0) {
    if (r < 0) return -1;
    if (!first || listening(fd)) return green__fail(-EAGAIN);
  } else if (!nb && (p.revents & POLLNVAL)) {
    return green__fail(-EBADF);
  }
  return accept4(fd, addr, len, flags);
}

int green__io_accept(struct green__hub *h, int fd, green__fd_t *f, struct sockaddr *addr,
                     socklen_t *len, int flags, const green__io_policy_t *pol, const char *name) {
  double at = NAN;
  int c, r;
  f->flags |= (uint16_t)pol->kind;
  while ((c = accept_nowait(fd, addr, len, flags, pol, isnan(at))) < 0) {
    if (errno != EAGAIN) return -1;
    if ((r = green__io_park(h, f, fd, GREEN_READ, &at, pol, name, EAGAIN)) < 0) return green__fail(r);
  }
  return c;
}

/* ---- the library's calls ------------------------------------------------------------------ */

ssize_t green__io_call(int fd, const green__io_t *io) {
  struct green__hub *h;
  green__fd_t *f;
  int r;
  if ((r = green__io_begin(&h, fd, &f)) < 0) return green__fail(r);
  if (green__io_at_once(io)) return green__io_plain(fd, io);
  return green__io_run(h, fd, f, io, &green__io_library);
}

ssize_t green_read(int fd, void *buf, size_t n) {
  green__io_t io = {.op = GREEN__OP_READ, .buf = buf, .len = n};
  return green__io_call(fd, &io);
}

ssize_t green_readv(int fd, const struct iovec *iov, int iovcnt) {
  green__io_t io = {.op = GREEN__OP_READV, .iov = iov, .iovcnt = iovcnt};
  return green__io_call(fd, &io);
}

ssize_t green_write(int fd, const void *buf, size_t n) {
  green__io_t io = {.op = GREEN__OP_WRITE, .buf = (void *)buf, .len = n};
  return green__io_call(fd, &io);
}

ssize_t green_writev(int fd, const struct iovec *iov, int iovcnt) {
  green__io_t io = {.op = GREEN__OP_WRITEV, .iov = iov, .iovcnt = iovcnt};
  return green__io_call(fd, &io);
}
