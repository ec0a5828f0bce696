/*
 * Blocking-style I/O on any fd: one "try, on EAGAIN park, retry" loop for the calls that
 * take data in, one for the calls that send it out. Inputs return what one successful call
 * gets; outputs on streams go on until everything is out (libc's blocking write).
 */
#include "io.h"

#include <fcntl.h>
#include <math.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hub.h"

static ssize_t try_input(int fd, const green__input_t *in) {
  switch (in->op) {
  case GREEN__IN_READ: return read(fd, in->buf, in->len);
  case GREEN__IN_READV: return readv(fd, in->iov, in->iovcnt);
  case GREEN__IN_RECVFROM: return recvfrom(fd, in->buf, in->len, in->flags, in->addr, in->addrlen);
  case GREEN__IN_RECVMSG: return recvmsg(fd, in->msg, in->flags);
  }
  return -1;
}

ssize_t green__input(int fd, const green__input_t *in, size_t want) {
  struct green__hub *h;
  green__fd_t *f;
  ssize_t n;
  int r;
  if ((r = green__io_begin(&h, fd, &f)) < 0) return green__fail(r);
  for (;;) {
    if (!(f->flags & GREEN__FD_RD_UNREADY)) {
      if ((n = try_input(fd, in)) >= 0) {
        /* short: most likely drained, so the next read parks first instead of spending a
         * system call to learn EAGAIN (the watcher stays registered: nothing is missed) */
        if (n > 0 && (size_t)n < want) f->flags |= GREEN__FD_RD_UNREADY;
        return n;
      }
      if (errno != EAGAIN || (in->flags & MSG_DONTWAIT)) return -1;
    }
    if ((r = green__io_wait(h, f, fd, GREEN_READ)) < 0) return green__fail(r);
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

/* One buffer goes through write/sendto, which the kernel serves faster than writev/sendmsg
 * (no iovec to import). */
static ssize_t try_output(int fd, struct msghdr *m, pending_t *p, int flags, int sock) {
  m->msg_iov = p->head.iov_len ? &p->head : (struct iovec *)p->rest;
  m->msg_iovlen = p->head.iov_len ? 1 : p->nrest;
  if (m->msg_iovlen == 1 && !m->msg_control) {
    const struct iovec *v = m->msg_iov;
    return sock ? sendto(fd, v->iov_base, v->iov_len, flags, m->msg_name, m->msg_namelen)
                : write(fd, v->iov_base, v->iov_len);
  }
  return sock ? sendmsg(fd, m, flags) : writev(fd, m->msg_iov, (int)m->msg_iovlen);
}

ssize_t green__output(int fd, const struct msghdr *msg, int flags, int sock) {
  struct green__hub *h;
  green__fd_t *f;
  struct msghdr m = *msg;
  pending_t p = {{NULL, 0}, msg->msg_iov, msg->msg_iovlen};
  size_t total = 0;
  ssize_t n;
  int r;
  if ((r = green__io_begin(&h, fd, &f)) < 0) return green__fail(r);
  for (;;) {
    if (!(f->flags & GREEN__FD_WR_UNREADY)) {
      if ((n = try_output(fd, &m, &p, flags, sock)) >= 0) {
        total += (size_t)n;
        consume(&p, (size_t)n);
        if (!p.head.iov_len && !p.nrest) return (ssize_t)total;
        f->flags |= GREEN__FD_WR_UNREADY; /* a short write: the buffer is full */
        m.msg_name = NULL, m.msg_namelen = 0; /* they went with the first byte */
        m.msg_control = NULL, m.msg_controllen = 0;
        continue;
      }
      if (errno != EAGAIN || (flags & MSG_DONTWAIT)) return total ? (ssize_t)total : -1;
    }
    if ((r = green__io_wait(h, f, fd, GREEN_WRITE)) < 0)
      return total ? (ssize_t)total : green__fail(r);
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
