/* SPDX-License-Identifier: MIT */
/*
 * Sockets: connect, accept and the send/recv family over io.c's loops. connect and accept
 * have no per-call non-blocking flag: they look at the socket's mode first (a plain close()
 * may have given the number to a blocking socket), as the preload shim does.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include "hub.h"
#include "io.h"

int green_socket(int domain, int type, int protocol) {
  struct green__hub *h = green__hub_get();
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), fd;
  if (!h) return -1;
  if ((fd = socket(domain, type | SOCK_NONBLOCK, protocol)) >= 0)
    green__fd_reset(h, fd, GREEN__FD_WAITABLE | GREEN__FD_SOCKET |
                               (base == SOCK_SEQPACKET ? GREEN__FD_EOR : 0));
  return fd;
}

/* connect(2) that does not wait: a blocking socket is made non-blocking for the call. */
static int connect_nowait(int fd, const struct sockaddr *addr, socklen_t len) {
  int fl = fcntl(fd, F_GETFL), r, e;
  if (fl < 0) return -1;
  if (fl & O_NONBLOCK) return connect(fd, addr, len);
  if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  r = connect(fd, addr, len);
  e = errno;
  fcntl(fd, F_SETFL, fl);
  errno = e;
  return r;
}

int green_connect(int fd, const struct sockaddr *addr, socklen_t len) {
  struct green__hub *h;
  green__fd_t *f;
  int r, err;
  socklen_t errlen = sizeof err;
  if ((r = green__io_begin(&h, fd, &f)) < 0) return green__fail(r);
  while (connect_nowait(fd, addr, len) < 0) {
    if (errno == EINPROGRESS) {
      if ((r = green__io_wait(h, f, fd, GREEN_WRITE)) < 0) return green__fail(r);
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0) return -1;
      return err ? green__fail(-err) : 0;
    }
    if (errno != EAGAIN) return -1; /* EAGAIN: a full AF_UNIX backlog, try again when writable */
    if ((r = green__io_wait(h, f, fd, GREEN_WRITE)) < 0) return green__fail(r);
  }
  return 0;
}

/* accept4(2) that does not wait: on a blocking listener only once poll saw a connection
 * (another process sharing the listener may take it first: then accept4 waits). */
static int accept_nowait(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  struct pollfd p = {fd, POLLIN, 0};
  int fl = fcntl(fd, F_GETFL), r;
  if (fl < 0) return -1;
  if (!(fl & O_NONBLOCK) && (r = poll(&p, 1, 0)) <= 0) return r < 0 ? -1 : green__fail(-EAGAIN);
  return accept4(fd, addr, len, flags | SOCK_NONBLOCK);
}

int green_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  struct green__hub *h;
  green__fd_t *f;
  int c, r;
  if ((r = green__io_begin(&h, fd, &f)) < 0) return green__fail(r);
  while ((c = accept_nowait(fd, addr, len, flags)) < 0) {
    if (errno != EAGAIN) return -1;
    if ((r = green__io_wait(h, f, fd, GREEN_READ)) < 0) return green__fail(r);
  }
  /* the listener's kind, if known, is the new socket's (stream or seqpacket) */
  green__fd_reset(h, c, GREEN__FD_WAITABLE | (f->flags & (GREEN__FD_SOCKET | GREEN__FD_EOR)));
  return c;
}

int green_accept(int fd, struct sockaddr *addr, socklen_t *len) {
  return green_accept4(fd, addr, len, 0);
}

ssize_t green_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                       socklen_t *addrlen) {
  green__input_t in = {.op = GREEN__IN_RECVFROM, .buf = buf, .len = n,
                       .flags = flags & ~MSG_WAITALL, .addr = addr, .addrlen = addrlen};
  size_t got = 0;
  ssize_t r;
  if (!(flags & MSG_WAITALL)) return green__input(fd, &in, n);
  do { /* MSG_WAITALL on a non-blocking socket returns early: keep going ourselves */
    in.buf = (char *)buf + got;
    in.len = n - got;
    if ((r = green__input(fd, &in, in.len)) <= 0) return got ? (ssize_t)got : r;
    got += (size_t)r;
  } while (got < n);
  return (ssize_t)got;
}

ssize_t green_recv(int fd, void *buf, size_t n, int flags) {
  return green_recvfrom(fd, buf, n, flags, NULL, NULL);
}

ssize_t green_recvmsg(int fd, struct msghdr *msg, int flags) {
  green__input_t in = {.op = GREEN__IN_RECVMSG, .msg = msg, .flags = flags};
  size_t want = 0, i;
  for (i = 0; msg && msg->msg_iov && i < msg->msg_iovlen; i++) want += msg->msg_iov[i].iov_len;
  return green__input(fd, &in, want);
}

ssize_t green_sendmsg(int fd, const struct msghdr *msg, int flags) {
  if (!msg) return sendmsg(fd, msg, flags); /* the kernel's own EFAULT/EBADF */
  return green__output(fd, msg, flags, 1);
}

ssize_t green_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                     socklen_t addrlen) {
  struct iovec iov = {(void *)buf, n};
  struct msghdr m = {.msg_name = (void *)addr, .msg_namelen = addrlen, .msg_iov = &iov,
                     .msg_iovlen = 1};
  return green__output(fd, &m, flags, 1);
}

ssize_t green_send(int fd, const void *buf, size_t n, int flags) {
  return green_sendto(fd, buf, n, flags, NULL, 0);
}
