/* SPDX-License-Identifier: MIT */
/*
 * Blocking-style I/O on any fd: one "try, on EAGAIN park, retry" loop for the calls that
 * take data in, one for the calls that send it out. Inputs return what one successful call
 * gets; outputs on streams go on until everything is out (libc's blocking write).
 *
 * Every try is non-blocking by itself and leaves the fd's mode alone, so it cannot block the
 * thread whatever file the number names now: a plain close() may have given it to a new
 * blocking pipe the hub never saw. The socket calls go with MSG_DONTWAIT, and so do read and
 * write on a socket libgreen made (green_socket, green_accept) or learnt; on other fds read
 * and write go as preadv2/pwritev2 with RWF_NOWAIT. A file that refuses RWF_NOWAIT is looked
 * at: a socket (an old kernel) takes MSG_DONTWAIT; anything else (a tty, an eventfd's write
 * side) is polled, then called plainly. A regular file's EAGAIN means its pages are not in
 * memory, which epoll cannot wait for: it is read plainly. Flags learnt of a file are hints:
 * one gone stale (ENOTSOCK) is dropped, and none of them can make a try wait.
 */
#include "io.h"

#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"

/* Whether fd names a socket, -1 + errno when it is not open. A socket's flags are learnt:
 * SOCKET, and EOR for a seqpacket one (its write(2) adds MSG_EOR). */
static int learn_socket(int fd, green__fd_t *f) {
  struct stat st;
  socklen_t len = sizeof(int);
  int type;
  if (fstat(fd, &st) < 0) return -1;
  if (!S_ISSOCK(st.st_mode)) return 0;
  f->flags |= GREEN__FD_SOCKET;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_SEQPACKET)
    f->flags |= GREEN__FD_EOR;
  return 1;
}

/* Whether r, what a socket call on fd gave, is the answer: not when the number names another
 * file now (ENOTSOCK; the flags are dropped). */
static int socket_answered(green__fd_t *f, ssize_t r) {
  if (r >= 0 || errno != ENOTSOCK) return 1;
  f->flags &= ~(GREEN__FD_SOCKET | GREEN__FD_EOR);
  return 0;
}

static int nothing_in(const struct iovec *v, int n) {
  int i;
  for (i = 0; i < n; i++)
    if (v[i].iov_len) return 0;
  return 1;
}

/* read(2) or write(2) of a socket, as recv or send with MSG_DONTWAIT. One buffer goes through
 * recvfrom/sendto, which the kernel serves without importing an iovec. A read of nothing
 * returns 0 at once, as read(2) does (a recv of nothing waits for a datagram). */
static ssize_t socket_nowait(int fd, const green__fd_t *f, const struct iovec *v, int n,
                             int input) {
  int fl = MSG_DONTWAIT | (!input && (f->flags & GREEN__FD_EOR) ? MSG_EOR : 0);
  struct msghdr m = {.msg_iov = (struct iovec *)v, .msg_iovlen = n > 0 ? (size_t)n : 0};
  if (n < 0) return green__fail(-EINVAL);
  if (input && nothing_in(v, n)) return fcntl(fd, F_GETFD) < 0 ? -1 : 0;
  if (n == 1)
    return input ? recvfrom(fd, v->iov_base, v->iov_len, fl, NULL, NULL)
                 : sendto(fd, v->iov_base, v->iov_len, fl, NULL, 0);
  return input ? recvmsg(fd, &m, fl) : sendmsg(fd, &m, fl);
}

/* A file that refuses RWF_NOWAIT and is no socket: ready now, then the plain call. A write
 * longer than the room poll saw may wait in the kernel (a tty's is rarely so full). Reads
 * remember it (an eventfd's write side refuses RWF_NOWAIT, its read side does not). */
static ssize_t polled(int fd, green__fd_t *f, const struct iovec *v, int n, int input) {
  struct pollfd p = {fd, (short)(input ? POLLIN : POLLOUT), 0};
  int r = poll(&p, 1, 0);
  if (input) f->flags |= GREEN__FD_POLLED;
  if (r < 0) return -1;
  if (r == 0) return green__fail(-EAGAIN);
  if (p.revents & POLLNVAL) return green__fail(-EBADF);
  return input ? readv(fd, v, n) : writev(fd, v, n);
}

/* read(v) or write(v) on fd, never waiting. POLLED skips a read's RWF_NOWAIT try (a stale
 * flag costs a poll, nothing more); a write always tries it, as a plain write to a pipe
 * that the number names now could wait for room. */
static ssize_t rw_nowait(int fd, green__fd_t *f, const struct iovec *v, int n, int input) {
  ssize_t r;
  int sock;
  if ((f->flags & GREEN__FD_SOCKET) && socket_answered(f, r = socket_nowait(fd, f, v, n, input)))
    return r;
  if (input && (f->flags & GREEN__FD_POLLED)) return polled(fd, f, v, n, input);
  r = input ? preadv2(fd, v, n, -1, RWF_NOWAIT) : pwritev2(fd, v, n, -1, RWF_NOWAIT);
  if (r >= 0 || errno != EOPNOTSUPP) return r;
  if ((sock = learn_socket(fd, f)) < 0) return -1;
  return sock ? socket_nowait(fd, f, v, n, input) : polled(fd, f, v, n, input);
}

static ssize_t try_input(int fd, green__fd_t *f, const green__input_t *in) {
  struct iovec one = {in->buf, in->len};
  switch (in->op) {
  case GREEN__IN_READ: return rw_nowait(fd, f, &one, 1, 1);
  case GREEN__IN_READV: return rw_nowait(fd, f, in->iov, in->iovcnt, 1);
  case GREEN__IN_RECVFROM:
    return recvfrom(fd, in->buf, in->len, in->flags | MSG_DONTWAIT, in->addr, in->addrlen);
  case GREEN__IN_RECVMSG: return recvmsg(fd, in->msg, in->flags | MSG_DONTWAIT);
  }
  return -1;
}

/* After a try's EAGAIN: whether parking can help. A file epoll cannot watch (a regular file
 * or a block device: libev calls it always ready) gets the plain call instead (*plain set).
 * The answer is kept until a wake-up is followed by another EAGAIN. */
static int can_park(int fd, green__fd_t *f, int woke, int *plain) {
  struct stat st;
  *plain = 0;
  if (woke) f->flags &= ~GREEN__FD_WAITABLE;
  if (f->flags & GREEN__FD_WAITABLE) return 1;
  if (fstat(fd, &st) < 0) return 0;
  if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode)) {
    *plain = 1;
    return 0;
  }
  f->flags |= GREEN__FD_WAITABLE;
  return 1;
}

static ssize_t plain_input(int fd, const green__input_t *in) {
  switch (in->op) {
  case GREEN__IN_READ: return read(fd, in->buf, in->len);
  case GREEN__IN_READV: return readv(fd, in->iov, in->iovcnt);
  default: return green__fail(-EAGAIN); /* the socket calls: not a regular file */
  }
}

ssize_t green__input(int fd, const green__input_t *in, size_t want) {
  struct green__hub *h;
  green__fd_t *f;
  ssize_t n;
  int r;
  int woke = 0, plain;
  if ((r = green__io_begin(&h, fd, &f)) < 0) return green__fail(r);
  for (;;) {
    if (!(f->flags & GREEN__FD_RD_UNREADY)) {
      if ((n = try_input(fd, f, in)) >= 0) {
        /* short: most likely drained, so the next read parks first instead of spending a
         * system call to learn EAGAIN (the watcher stays registered: nothing is missed) */
        if (n > 0 && (size_t)n < want) f->flags |= GREEN__FD_RD_UNREADY;
        return n;
      }
      if (errno != EAGAIN || (in->flags & MSG_DONTWAIT)) return -1;
      if (!can_park(fd, f, woke, &plain)) return plain ? plain_input(fd, in) : -1;
    }
    if ((r = green__io_wait(h, f, fd, GREEN_READ)) < 0) return green__fail(r);
    woke = 1;
  }
}

/* What is left to send: the rest of a partly sent iovec, then whole iovecs. */
typedef struct pending {
  struct iovec head;
  const struct iovec *rest;
  size_t nrest;
} pending_t;

static void consume(pending_t *p, size_t n) {
  if (p->head.iov_len) {
    p->head.iov_base = (char *)p->head.iov_base + n;
    p->head.iov_len -= n;
    return;
  }
  while (p->nrest && n >= p->rest->iov_len) n -= p->rest->iov_len, p->rest++, p->nrest--;
  if (n) {
    p->head.iov_base = (char *)p->rest->iov_base + n;
    p->head.iov_len = p->rest->iov_len - n;
    p->rest++, p->nrest--;
  }
}

/* One buffer goes through sendto, which the kernel serves faster than sendmsg (no iovec to
 * import). */
static ssize_t try_output(int fd, green__fd_t *f, struct msghdr *m, pending_t *p, int flags,
                          int sock) {
  m->msg_iov = p->head.iov_len ? &p->head : (struct iovec *)p->rest;
  m->msg_iovlen = p->head.iov_len ? 1 : p->nrest;
  if (!sock) return rw_nowait(fd, f, m->msg_iov, (int)m->msg_iovlen, 0);
  flags |= MSG_DONTWAIT;
  if (m->msg_iovlen == 1 && !m->msg_control) {
    const struct iovec *v = m->msg_iov;
    return sendto(fd, v->iov_base, v->iov_len, flags, m->msg_name, m->msg_namelen);
  }
  return sendmsg(fd, m, flags);
}

/* The rest of a write to a regular file, plainly (it waits for the disk, not for a peer). */
static ssize_t plain_output(int fd, const struct msghdr *m, size_t total) {
  ssize_t n = writev(fd, m->msg_iov, (int)m->msg_iovlen);
  if (n < 0) return total ? (ssize_t)total : -1;
  return (ssize_t)(total + (size_t)n);
}

ssize_t green__output(int fd, const struct msghdr *msg, int flags, int sock) {
  struct green__hub *h;
  green__fd_t *f;
  struct msghdr m = *msg;
  pending_t p = {{NULL, 0}, msg->msg_iov, msg->msg_iovlen};
  size_t total = 0;
  ssize_t n;
  int r, woke = 0, plain;
  if ((r = green__io_begin(&h, fd, &f)) < 0) return green__fail(r);
  for (;;) {
    if (!(f->flags & GREEN__FD_WR_UNREADY)) {
      if ((n = try_output(fd, f, &m, &p, flags, sock)) >= 0) {
        total += (size_t)n;
        consume(&p, (size_t)n);
        if (!p.head.iov_len && !p.nrest) return (ssize_t)total;
        f->flags |= GREEN__FD_WR_UNREADY; /* a short write: the buffer is full */
        m.msg_name = NULL, m.msg_namelen = 0; /* they went with the first byte */
        m.msg_control = NULL, m.msg_controllen = 0;
        continue;
      }
      if (errno != EAGAIN || (flags & MSG_DONTWAIT)) return total ? (ssize_t)total : -1;
      if (!can_park(fd, f, woke, &plain)) return plain ? plain_output(fd, &m, total) : -1;
    }
    if ((r = green__io_wait(h, f, fd, GREEN_WRITE)) < 0)
      return total ? (ssize_t)total : green__fail(r);
    woke = 1;
  }
}

ssize_t green_read(int fd, void *buf, size_t n) {
  green__input_t in = {.op = GREEN__IN_READ, .buf = buf, .len = n};
  return green__input(fd, &in, n);
}

ssize_t green_readv(int fd, const struct iovec *iov, int iovcnt) {
  green__input_t in = {.op = GREEN__IN_READV, .iov = iov, .iovcnt = iovcnt};
  size_t want = 0;
  int i;
  for (i = 0; iov && i < iovcnt; i++) want += iov[i].iov_len;
  return green__input(fd, &in, want);
}

ssize_t green_write(int fd, const void *buf, size_t n) {
  struct iovec iov = {(void *)buf, n};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  return green__output(fd, &m, 0, 0);
}

ssize_t green_writev(int fd, const struct iovec *iov, int iovcnt) {
  struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
  if (iovcnt < 0) /* as the kernel answers: a bad fd first, then the count */
    return green__fail(fcntl(fd, F_GETFD) < 0 ? -EBADF : -EINVAL);
  return green__output(fd, &m, 0, 0);
}
