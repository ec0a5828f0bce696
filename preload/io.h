/* SPDX-License-Identifier: MIT */
/*
 * The two generic loops every data-moving hook is a few lines over (io.c): "try without
 * blocking, on EAGAIN park on the fd, retry" for input and for output, with libc's blocking
 * semantics — SO_RCVTIMEO / SO_SNDTIMEO, MSG_WAITALL, partial counts — and without touching
 * the fd's kernel-level mode: sockets are tried with MSG_DONTWAIT, pipes and the like with
 * RWF_NOWAIT.
 */
#ifndef GREEN_PRELOAD_IO_H
#define GREEN_PRELOAD_IO_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef enum { GREEN__OP_READ, GREEN__OP_READV, GREEN__OP_RECVFROM, GREEN__OP_RECVMSG,
               GREEN__OP_WRITE, GREEN__OP_WRITEV, GREEN__OP_SENDTO, GREEN__OP_SENDMSG } green__op_t;

/* One call, as the program made it. */
typedef struct green__io {
  green__op_t op;
  const char *name;          /* for GREEN_DEBUG */
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

/* The call, green when the gate and the fd allow, else libc's. -1 + errno on failure. */
ssize_t green__shim_io(int fd, green__io_t *io);

/* libc's own call for io, unchanged. */
ssize_t green__shim_io_real(int fd, const green__io_t *io);

#endif
