/* SPDX-License-Identifier: MIT */
/*
 * Sockets: the library's socket, connect, accept and send/recv calls over the I/O engine
 * (io.c). Sockets libgreen makes are non-blocking, so connect and accept need no change of
 * mode. The engine still asks each time: a plain close() may have given the number to a
 * blocking socket.
 */
#include <sys/socket.h>

#include "hub.h"
#include "io.h"

int green_socket(int domain, int type, int protocol) {
  struct green__hub *h = green__hub_get();
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), fd;
  if (!h) return -1;
  if ((fd = socket(domain, type | SOCK_NONBLOCK, protocol)) >= 0)
    green__fd_reset(h, fd, GREEN__FD_WAITABLE | GREEN__FD_SOCKET |
                               (base == SOCK_STREAM ? 0 : GREEN__FD_DGRAM) |
                               (base == SOCK_SEQPACKET ? GREEN__FD_EOR : 0));
  return fd;
}

int green_connect(int fd, const struct sockaddr *addr, socklen_t len) {
  struct green__hub *h;
  green__fd_t *f;
  int r;
  if ((r = green__io_begin(&h, fd, &f)) < 0) return green__fail(r);
  return green__io_connect(h, fd, f, addr, len, &green__io_library, "connect");
}

int green_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  struct green__hub *h;
  green__fd_t *f;
  int c, r;
  if ((r = green__io_begin(&h, fd, &f)) < 0) return green__fail(r);
  c = green__io_accept(h, fd, f, addr, len, flags | SOCK_NONBLOCK, &green__io_library, "accept");
  /* the listener's kind, if known, is the new socket's (stream or seqpacket) */
  if (c >= 0)
    green__fd_reset(h, c, GREEN__FD_WAITABLE |
                              (f->flags & (GREEN__FD_SOCKET | GREEN__FD_EOR | GREEN__FD_DGRAM)));
  return c;
}

int green_accept(int fd, struct sockaddr *addr, socklen_t *len) {
  return green_accept4(fd, addr, len, 0);
}

ssize_t green_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
                       socklen_t *addrlen) {
  green__io_t io = {.op = GREEN__OP_RECVFROM, .buf = buf, .len = n, .flags = flags,
                    .addr = addr, .addrlen = addrlen};
  return green__io_call(fd, &io);
}

ssize_t green_recv(int fd, void *buf, size_t n, int flags) {
  return green_recvfrom(fd, buf, n, flags, NULL, NULL);
}

ssize_t green_recvmsg(int fd, struct msghdr *msg, int flags) {
  green__io_t io = {.op = GREEN__OP_RECVMSG, .msg = msg, .flags = flags};
  return green__io_call(fd, &io);
}

ssize_t green_sendmsg(int fd, const struct msghdr *msg, int flags) {
  green__io_t io = {.op = GREEN__OP_SENDMSG, .msg = (struct msghdr *)msg, .flags = flags};
  return green__io_call(fd, &io);
}

ssize_t green_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
                     socklen_t addrlen) {
  green__io_t io = {.op = GREEN__OP_SENDTO, .buf = (void *)buf, .len = n, .flags = flags,
                    .addr = (struct sockaddr *)addr, .addrlen_in = addrlen};
  return green__io_call(fd, &io);
}

ssize_t green_send(int fd, const void *buf, size_t n, int flags) {
  return green_sendto(fd, buf, n, flags, NULL, 0);
}
