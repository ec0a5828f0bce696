/* SPDX-License-Identifier: MIT */
/*
 * read, write and the recv/send family. Each hook describes its call in a green__io_t and
 * hands it to green__shim_io. That passes it to libc when it is not a green call. It also
 * does when the fd is a file, or non-blocking by the program's choice. Else the engine
 * (src/io.c) runs it with the shim's policy. The policy holds the program's SO_RCVTIMEO /
 * SO_SNDTIMEO; a wait past it gives EAGAIN, as Linux does. It holds what the fd table knows
 * of the file. Its park honours signals, cancellation and GREEN_DEBUG. Out of memory for the
 * fd tables, the call waits on the back-off timer instead (io_untracked).
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

static int kind_is_socket(int kind) { return kind == GREEN__KIND_STREAM || kind == GREEN__KIND_DGRAM; }

/* What the table knows of a file, as the engine's GREEN__FD_* kind flags. */
static unsigned engine_kind(uint32_t info) {
  static const uint16_t kinds[] = {
      [GREEN__KIND_STREAM] = GREEN__FD_SOCKET | GREEN__FD_WAITABLE,
      [GREEN__KIND_DGRAM] = GREEN__FD_SOCKET | GREEN__FD_DGRAM | GREEN__FD_WAITABLE,
      [GREEN__KIND_PIPE] = GREEN__FD_WAITABLE,
      [GREEN__KIND_OTHER] = GREEN__FD_WAITABLE,
      [GREEN__KIND_TTY] = GREEN__FD_TTY | GREEN__FD_WAITABLE,
  };
  unsigned k = kinds[info & GREEN__FDI_KIND];
  if (info & GREEN__FDI_SEQPACKET) k |= GREEN__FD_EOR;
  if (info & GREEN__FDI_NOWAIT_BAD) k |= GREEN__FD_NOTWIN;
  return k;
}

/* The engine parks here. A thread cancelled meanwhile ends. A signal interrupts by
 * signal(7)'s rules: always, for a socket with a timeout. GREEN_DEBUG logs the call. */
static int park(struct green__hub *h, green__fd_t *f, int fd, int events, double at,
                const char *name) {
  int intr = isinf(at) ? GREEN__INTR_RESTART : GREEN__INTR_ALWAYS;
  return green__shim_park(h, &(green__shim_wait_t){.fd = fd, .events = events, .entry = f,
                                                    .at = at, .intr = intr, .call = name});
}

green__io_policy_t green__shim_io_policy(const green__shim_fd_t *p, int input) {
  uint32_t info = __atomic_load_n(&p->info, __ATOMIC_RELAXED);
  int64_t usec = __atomic_load_n(input ? &p->rcvtimeo : &p->sndtimeo, __ATOMIC_RELAXED);
  green__io_policy_t pol = {(double)usec * 1e-6, engine_kind(info), 0, park};
  return pol;
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

/* Out of memory for the fd tables, the shim knows nothing of fd. While the call would block,
 * it waits on the back-off timer (preload/README.md, Out of memory). Then libc makes the
 * call. A non-blocking fd goes to libc at once. So does a file, which poll finds always
 * ready. */
static ssize_t io_untracked(struct green__hub *h, int fd, const green__io_t *io) {
  struct pollfd want = {.fd = fd, .events = green__io_is_input(io->op) ? POLLIN : POLLOUT};
  double step = GREEN__RETRY_FIRST, deadline = timeout_deadline(fd, green__io_is_input(io->op));
  int flags = green__real.fcntl(fd, F_GETFL, NULL), r;
  if (flags < 0 || (flags & O_NONBLOCK)) return green__io_plain(fd, io);
  while (green__real.poll(&want, 1, 0) == 0) {
    if (green_now() >= deadline) return green__fail(-EAGAIN);
    r = green__shim_retry_park(h, &step, deadline, GREEN__INTR_RESTART, 1, io->name);
    if (r < 0) return green__shim_retry_fail(h, r);
  }
  return green__io_plain(fd, io);
}

ssize_t green__shim_io(int fd, green__io_t *io) {
  struct green__hub *h;
  green__shim_fd_t *p;
  green__fd_t *f;
  green__io_policy_t pol;
  uint32_t info;
  int err;
  green__real_ready();
  if (!(h = green__shim_hub()) || (io->flags & MSG_DONTWAIT) || green__io_at_once(io))
    return green__io_plain(fd, io);
  if (!(p = green__shim_fd(fd)))
    return green__shim_fd_fits(fd) ? io_untracked(h, fd, io) : green__io_plain(fd, io);
  if (!green__shim_fd_green(p)) return green__io_plain(fd, io);
  info = __atomic_load_n(&p->info, __ATOMIC_RELAXED);
  if (!kind_is_socket((int)(info & GREEN__FDI_KIND)) && io->op != GREEN__OP_READ &&
      io->op != GREEN__OP_READV && io->op != GREEN__OP_WRITE && io->op != GREEN__OP_WRITEV)
    return green__io_plain(fd, io); /* recv/send on a pipe: ENOTSOCK at once */
  if (!(f = green__shim_hub_fd(h, fd, &err)))
    return err == -ENOMEM ? io_untracked(h, fd, io) : green__io_plain(fd, io);
  pol = green__shim_io_policy(p, green__io_is_input(io->op));
  err = errno;
  return green__shim_done(green__io_run(h, fd, f, io, &pol), err);
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
  green__io_policy_t pol;
  double at = NAN, end = INFINITY;
  unsigned got = 0;
  int r;
  if (!(p = socket_call(fd, flags, &h, &f)) || !vec || vlen == 0 ||
      (timeout && green__ts_checked(timeout) < 0))
    return green__real.recvmmsg(fd, vec, vlen, flags, timeout);
  if (timeout) end = green_now() + green__ts_checked(timeout);
  pol = green__shim_io_policy(p, 1);
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
    if ((r = green__io_park(h, f, fd, GREEN_READ, &at, &pol, "recvmmsg", EAGAIN)) < 0)
      return got ? (int)got : green__fail(r);
  }
}

static int sendmmsg_green(int fd, struct mmsghdr *vec, unsigned vlen, int flags) {
  struct green__hub *h;
  green__shim_fd_t *p;
  green__fd_t *f;
  green__io_policy_t pol;
  double at = NAN;
  unsigned sent = 0;
  int r;
  if (!(p = socket_call(fd, flags, &h, &f)) || !vec || vlen == 0)
    return green__real.sendmmsg(fd, vec, vlen, flags);
  pol = green__shim_io_policy(p, 0);
  for (;;) {
    r = green__real.sendmmsg(fd, vec + sent, vlen - sent, flags | MSG_DONTWAIT);
    if (r > 0 && (sent += (unsigned)r) == vlen) return (int)sent;
    if (r < 0 && errno != EAGAIN) return sent ? (int)sent : -1;
    if (r < 0 && (r = green__io_park(h, f, fd, GREEN_WRITE, &at, &pol, "sendmmsg", EAGAIN)) < 0)
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
