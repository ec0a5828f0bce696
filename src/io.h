/* SPDX-License-Identifier: MIT */
/*
 * The I/O engine (io.c). The library's calls describe a call in a green__io_t and run it here.
 * So does a layer on top that runs a program's calls. The engine tries the call without
 * waiting, parks on EAGAIN and tries again. It never changes an fd's mode. What differs
 * between callers is a small per-call policy. It holds a socket timeout, what the caller
 * already knows of the fd, and how to park.
 */
#ifndef GREEN_IO_H
#define GREEN_IO_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fd.h"
#include "internal.h"

typedef enum { GREEN__OP_READ, GREEN__OP_READV, GREEN__OP_RECVFROM, GREEN__OP_RECVMSG,
               GREEN__OP_WRITE, GREEN__OP_WRITEV, GREEN__OP_SENDTO, GREEN__OP_SENDMSG } green__op_t;

/* One call, as the program made it. */
typedef struct green__io {
  green__op_t op;
  const char *name;          /* the call's name, for a layer's debug log */
  void *buf;                 /* READ, RECVFROM, WRITE, SENDTO */
  size_t len;
  const struct iovec *iov;   /* READV, WRITEV */
  int iovcnt;
  int flags;                 /* MSG_* of the recv and send calls */
  struct sockaddr *addr;     /* RECVFROM: where the sender goes; SENDTO: the destination */
  socklen_t *addrlen;
  socklen_t addrlen_in;      /* SENDTO */
  struct msghdr *msg;        /* RECVMSG, SENDMSG */
} green__io_t;

static inline int green__io_is_input(green__op_t op) { return op <= GREEN__OP_RECVMSG; }

/* How a call may wait. */
typedef struct green__io_policy {
  /* The socket's SO_RCVTIMEO or SO_SNDTIMEO for this call, in seconds (0: none). A wait
   * that outlasts it ends the call as Linux does: EAGAIN, or EINPROGRESS for connect. */
  double timeo;
  /* GREEN__FD_KIND flags the caller knows of the fd; io.c learns the rest. */
  unsigned kind;
  /* connect and accept: the fd's O_NONBLOCK (1 or 0), or -1 to ask the kernel. */
  int nonblock;
  /* Park until fd is ready for `events` or `at` passes. Returns > 0 or -errno, as
   * green__fd_wait does. green__fd_wait runs when this is NULL. */
  int (*park)(struct green__hub *h, green__fd_t *f, int fd, int events, double at,
              const char *name);
} green__io_policy_t;

/* The library's policy: no socket timeout, nothing known, park with green__fd_wait. */
extern const green__io_policy_t green__io_library;

/* Whether libc answers io at once without waiting. It does for bad iovec counts and for no
 * iovec array or msghdr (EFAULT). A read of nothing gives 0 at once; a recv of nothing waits
 * for data. */
int green__io_at_once(const green__io_t *io);

/* libc's own call for io, unchanged. */
ssize_t green__io_plain(int fd, const green__io_t *io);

/* Run io on fd, an fd of hub h. Input returns what one call gets; all that was asked with
 * MSG_WAITALL on a stream socket. Output on a stream goes on until everything is out, as a
 * blocking write does. MSG_DONTWAIT makes it a single try. A failure after some data moved
 * returns the count, as the kernel does; else -1 + errno. */
ssize_t green__io_run(struct green__hub *h, int fd, green__fd_t *f, const green__io_t *io,
                      const green__io_policy_t *pol);

/* Park on fd for `events` under pol. The policy's timeout runs from the call's first wait
 * (*at is NAN until then) and ends the call with timeout_errno. 0 or -errno. */
int green__io_park(struct green__hub *h, green__fd_t *f, int fd, int events, double *at,
                   const green__io_policy_t *pol, const char *name, int timeout_errno);

/* io as a library call: the caller may block (green__io_begin), then green__io_run with
 * green__io_library. -1 + errno on failure. */
ssize_t green__io_call(int fd, const green__io_t *io);

/* connect(2) on fd, parking until it completes. 0, or -1 + errno. */
int green__io_connect(struct green__hub *h, int fd, green__fd_t *f, const struct sockaddr *addr,
                      socklen_t len, const green__io_policy_t *pol, const char *name);

/* accept4(2) on fd, parking until a connection comes. The new fd, or -1 + errno. */
int green__io_accept(struct green__hub *h, int fd, green__fd_t *f, struct sockaddr *addr,
                     socklen_t *len, int flags, const green__io_policy_t *pol, const char *name);

#endif
