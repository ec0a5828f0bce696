/* SPDX-License-Identifier: MIT */
/*
 * The calls that move data between two fds in the kernel: sendfile, sendfile64, splice, tee,
 * vmsplice. Each would block the OS thread on a full socket or pipe, or an empty one.
 *
 * Pipe ends are made non-blocking per call with SPLICE_F_NONBLOCK. The kernel applies it to
 * the pipes alone: never to the other end, never to the fd's mode. On EAGAIN the green
 * thread parks on the end that is not ready and tries again. A socket end that the flag does
 * not apply to is waited for first. A readable socket's splice into a pipe with room returns
 * without waiting.
 *
 * Output to a blocking stream socket cannot be made non-blocking without changing the
 * file's O_NONBLOCK. splice_to_socket takes MSG_DONTWAIT from the file's flags only. Nor can
 * the shim ask exactly how much a socket accepts without blocking. SIOCOUTQ counts bytes;
 * the send buffer counts memory. So sendfile to a socket reads the file with pread and sends
 * through the green send path (MSG_DONTWAIT). splice from a pipe to a socket reads the pipe
 * and sends what it read. That costs a copy. What the program sees is the same. A blocking
 * sendfile returns the whole count, unless a signal or the socket's timeout ends it early.
 * Then it returns the count sent, and *offset or the file offset moves by exactly that.
 *
 * copy_file_range is not hooked. The kernel takes regular files only (EINVAL for pipes and
 * sockets), and those never block in the shim's sense.
 */
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdtab.h"
#include "io.h"
#include "shim.h"

enum { CHUNK = 256 * 1024, MAX_RW = 0x7ffff000 /* the kernel's MAX_RW_COUNT */ };

/* fd's kind when calls on it are green (GREEN__KIND_*). Else 0: for a file, an fd the program
 * made non-blocking, or one the shim cannot look at. Also 0 for a tty: SPLICE_F_NONBLOCK does
 * not apply to it, so a splice to or from one passes through. */
static int green_kind(int fd) {
  green__shim_fd_t *p = green__shim_fd(fd);
  int kind = p && green__shim_fd_green(p) ? green__shim_fd_kind(p) : 0;
  return kind == GREEN__KIND_TTY ? 0 : kind;
}

static int ready_now(int fd, short events) {
  struct pollfd pfd = {fd, events, 0};
  return green__real.poll(&pfd, 1, 0) != 0; /* an error counts as ready: the call reports it */
}

/* The socket's own timeout for a wait in `events`' direction, as a deadline. */
static double deadline(int fd, int events) {
  green__shim_fd_t *p = green__shim_fd(fd);
  int64_t us = !p ? 0 : __atomic_load_n(events == GREEN_READ ? &p->rcvtimeo : &p->sndtimeo,
                                        __ATOMIC_RELAXED);
  return us > 0 ? green_now() + (double)us * 1e-6 : INFINITY;
}

/* Park on fd (a green end) until ready: 0, or -1 with errno (a socket's timeout is EAGAIN). */
static int park(struct green__hub *h, int fd, int events, const char *call) {
  double at = deadline(fd, events);
  int r = green__shim_wait_fd(h, fd, events, at, isinf(at) ? GREEN__INTR_RESTART : GREEN__INTR_ALWAYS,
                              call);
  if (r == 0) return 0;
  return green__fail(r == -ETIMEDOUT ? -EAGAIN : r);
}

/* After an EAGAIN from a call with SPLICE_F_NONBLOCK: park on the end that is not ready, if
 * it is a green one. -1 with EAGAIN when the program made that end non-blocking. The
 * program's own call would have said so too. */
static int park_on_blocked_end(struct green__hub *h, int in, int out, const char *call) {
  if (in >= 0 && !ready_now(in, POLLIN))
    return green_kind(in) ? park(h, in, GREEN_READ, call) : green__fail(-EAGAIN);
  if (out >= 0 && !ready_now(out, POLLOUT))
    return green_kind(out) ? park(h, out, GREEN_WRITE, call) : green__fail(-EAGAIN);
  /* both look ready (another process took the data or the room): wait for input */
  if (in >= 0 && green_kind(in)) return park(h, in, GREEN_READ, call);
  if (out >= 0 && green_kind(out)) return park(h, out, GREEN_WRITE, call);
  return green__fail(-EAGAIN);
}

/* ---- through user space: to a blocking stream socket ------------------------------------ */

/* Send all of buf on the green socket, as a blocking send does. Returns the count sent, or -1.
 * The count is short only when a signal or the socket's timeout ended the send. */
static ssize_t send_all(int out, const char *buf, size_t n, const char *call) {
  green__io_t io = {.op = GREEN__OP_WRITE, .name = call, .buf = (void *)buf, .len = n};
  return green__shim_io(out, &io);
}

/* sendfile from a regular file to a green stream socket: pread, then the green send. */
static ssize_t sendfile_copy(int out, int in, off_t *offset, size_t count) {
  off_t pos = offset ? *offset : lseek(in, 0, SEEK_CUR);
  size_t sent = 0, chunk = count < CHUNK ? count : CHUNK;
  char *buf;
  ssize_t n, w = 0;
  if (pos < 0) return -1;
  if (!(buf = malloc(chunk))) return green__fail(-ENOMEM);
  while (sent < count) {
    size_t want = count - sent < chunk ? count - sent : chunk;
    if ((n = pread(in, buf, want, pos)) <= 0) break;
    if ((w = send_all(out, buf, (size_t)n, "sendfile")) > 0) {
      pos += w;
      sent += (size_t)w;
    }
    if (w < n) break;
  }
  free(buf);
  if (offset) *offset = pos;
  else if (sent) lseek(in, pos, SEEK_SET);
  return sent ? (ssize_t)sent : (n < 0 || w < 0) ? -1 : 0;
}

/* A read of the pipe that cannot wait: RWF_NOWAIT, or where a kernel refuses it, poll first. */
static ssize_t read_pipe_nowait(int fd, struct iovec *v) {
  ssize_t n = preadv2(fd, v, 1, -1, RWF_NOWAIT);
  if (n >= 0 || errno != EOPNOTSUPP) return n;
  if (!ready_now(fd, POLLIN)) return green__fail(-EAGAIN);
  return green__real.readv(fd, v, 1);
}

/* splice from a pipe to a green stream socket: read what the pipe holds, up to len, and send
 * it. Bytes taken from the pipe are all sent before it returns, even past a signal. The
 * kernel leaves unsent bytes in the pipe, but the shim cannot put them back. */
static ssize_t splice_to_socket(struct green__hub *h, int in, int out, size_t len) {
  size_t done = 0, chunk = len < CHUNK ? len : CHUNK;
  struct iovec v;
  char *buf;
  ssize_t n = 0;
  if (!(buf = malloc(chunk))) return green__fail(-ENOMEM);
  while (done < len) {
    v.iov_base = buf;
    v.iov_len = len - done < chunk ? len - done : chunk;
    if ((n = read_pipe_nowait(in, &v)) < 0 && errno == EAGAIN && !done &&
        (n = park_on_blocked_end(h, in, -1, "splice")) == 0)
      continue;
    if (n <= 0) break;
    for (size_t off = 0; off < (size_t)n;) {
      ssize_t w = send_all(out, buf + off, (size_t)n - off, "splice");
      if (w < 0 && errno != EINTR && errno != EAGAIN) {
        free(buf);
        return done + off ? (ssize_t)(done + off) : -1;
      }
      if (w > 0) off += (size_t)w;
    }
    done += (size_t)n;
  }
  free(buf);
  return done ? (ssize_t)done : n < 0 ? -1 : 0;
}

/* ---- sendfile ---------------------------------------------------------------------------- */

static int regular_file(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static ssize_t sendfile_green(int out, int in, off_t *offset, size_t count) {
  struct green__hub *h;
  int kind;
  loff_t pos;
  ssize_t r;
  if (!(h = green__shim_hub()) || !count || !(kind = green_kind(out)) || !regular_file(in) ||
      (kind != GREEN__KIND_PIPE && kind != GREEN__KIND_STREAM))
    return green__real.sendfile(out, in, offset, count);
  if (count > MAX_RW) count = MAX_RW;
  if (kind == GREEN__KIND_STREAM) return sendfile_copy(out, in, offset, count);
  for (;;) { /* to a pipe: the kernel's splice of the file into it, without the waits */
    pos = offset ? *offset : 0;
    r = green__real.splice(in, offset ? &pos : NULL, out, NULL, count, SPLICE_F_NONBLOCK);
    if (r >= 0 && offset) *offset = pos;
    if (r >= 0 || errno != EAGAIN || park_on_blocked_end(h, -1, out, "sendfile") < 0) return r;
  }
}

GREEN__SHIM_EXPORT ssize_t sendfile(int out, int in, off_t *offset, size_t count) {
  int saved = errno;
  green__real_ready();
  return green__shim_done(sendfile_green(out, in, offset, count), saved);
}

GREEN__SHIM_EXPORT ssize_t sendfile64(int out, int in, off64_t *offset, size_t count) {
  _Static_assert(sizeof(off_t) == sizeof(off64_t), "64-bit off_t only");
  return sendfile(out, in, (off_t *)offset, count);
}

/* ---- splice, tee, vmsplice --------------------------------------------------------------- */

/* A socket end splice cannot try without blocking: wait until it is ready first. */
static int wait_socket_end(struct green__hub *h, int fd, int events, const char *call) {
  int kind = green_kind(fd);
  if ((kind != GREEN__KIND_STREAM && kind != GREEN__KIND_DGRAM) ||
      ready_now(fd, (short)(events == GREEN_READ ? POLLIN : POLLOUT)))
    return 0;
  return park(h, fd, events, call);
}

static ssize_t splice_green(int in, loff_t *off_in, int out, loff_t *off_out, size_t len,
                            unsigned flags) {
  struct green__hub *h;
  int kin, kout;
  ssize_t r;
  if (!(h = green__shim_hub()) || !len || (flags & SPLICE_F_NONBLOCK))
    return green__real.splice(in, off_in, out, off_out, len, flags);
  kin = green_kind(in);
  kout = green_kind(out);
  if (!kin && !kout) return green__real.splice(in, off_in, out, off_out, len, flags);
  if (kout == GREEN__KIND_DGRAM) return green__real.splice(in, off_in, out, off_out, len, flags);
  if (kout == GREEN__KIND_STREAM) {
    struct stat st;
    if (off_in || off_out || fstat(in, &st) != 0 || !S_ISFIFO(st.st_mode))
      return green__real.splice(in, off_in, out, off_out, len, flags); /* its error */
    return splice_to_socket(h, in, out, len);
  }
  for (;;) {
    if (wait_socket_end(h, in, GREEN_READ, "splice") < 0) return -1;
    r = green__real.splice(in, off_in, out, off_out, len, flags | SPLICE_F_NONBLOCK);
    if (r >= 0 || errno != EAGAIN ||
        park_on_blocked_end(h, kin == GREEN__KIND_PIPE ? in : -1, out, "splice") < 0)
      return r;
  }
}

GREEN__SHIM_EXPORT ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len,
                                  unsigned flags) {
  int saved = errno;
  green__real_ready();
  return green__shim_done(splice_green(in, off_in, out, off_out, len, flags), saved);
}

GREEN__SHIM_EXPORT ssize_t tee(int in, int out, size_t len, unsigned flags) {
  struct green__hub *h;
  int saved = errno;
  ssize_t r;
  green__real_ready();
  if (!(h = green__shim_hub()) || !len || (flags & SPLICE_F_NONBLOCK) ||
      (!green_kind(in) && !green_kind(out)))
    return green__real.tee(in, out, len, flags);
  for (;;) {
    r = green__real.tee(in, out, len, flags | SPLICE_F_NONBLOCK);
    if (r >= 0 || errno != EAGAIN || park_on_blocked_end(h, in, out, "tee") < 0)
      return green__shim_done(r, saved);
  }
}

GREEN__SHIM_EXPORT ssize_t vmsplice(int fd, const struct iovec *iov, size_t n, unsigned flags) {
  struct green__hub *h;
  int saved = errno, fl, into;
  ssize_t r;
  green__real_ready();
  if (!(h = green__shim_hub()) || (flags & SPLICE_F_NONBLOCK) || !green_kind(fd) ||
      (fl = green__real.fcntl(fd, F_GETFL, NULL)) < 0)
    return green__real.vmsplice(fd, iov, n, flags);
  into = (fl & O_ACCMODE) != O_RDONLY; /* the kernel's choice: a writable end is filled */
  for (;;) {
    r = green__real.vmsplice(fd, iov, n, flags | SPLICE_F_NONBLOCK);
    if (r >= 0 || errno != EAGAIN ||
        park_on_blocked_end(h, into ? -1 : fd, into ? fd : -1, "vmsplice") < 0)
      return green__shim_done(r, saved);
  }
}
