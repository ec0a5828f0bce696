/* SPDX-License-Identifier: MIT */
/*
 * The two generic loops every blocking-style I/O call is built on (io.c): one for calls
 * that take data in, one for calls that send it out. net.c and, later, the preload shim
 * reuse them.
 */
#ifndef GREEN_IO_H
#define GREEN_IO_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fd.h"
#include "internal.h"

typedef enum { GREEN__IN_READ, GREEN__IN_READV, GREEN__IN_RECVFROM, GREEN__IN_RECVMSG } green__in_op_t;

typedef struct green__input {
  green__in_op_t op;
  void *buf;
  size_t len;
  const struct iovec *iov;
  int iovcnt;
  int flags;                /* MSG_*: MSG_DONTWAIT makes it a single try */
  struct sockaddr *addr;
  socklen_t *addrlen;
  struct msghdr *msg;
} green__input_t;

/* One successful input call, parking on EAGAIN; `want` is the bytes asked for, to notice a
 * short read. -1 + errno on failure. */
ssize_t green__input(int fd, const green__input_t *in, size_t want);

/* Send all of msg's data (writev, or sendmsg with flags when sock), parking whenever the
 * fd is full. Returns the bytes sent; on failure -1 + errno if nothing went out, else the
 * partial count. */
ssize_t green__output(int fd, const struct msghdr *msg, int flags, int sock);

#endif
