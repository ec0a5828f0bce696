/* SPDX-License-Identifier: MIT */
/*
 * A buffered green stream, plain or TLS: what the client and the server both read responses
 * and requests from. Unread bytes are buf[pos..len).
 */
#ifndef FETCH_CONN_H
#define FETCH_CONN_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define CONN_BUF (32 * 1024) /* holds any head HTTP_HEAD_MAX allows */

typedef struct conn {
  int fd;
  SSL *ssl;            /* NULL for plain TCP */
  struct conn *next;   /* the client's idle list */
  unsigned requests;   /* requests sent on it so far */
  size_t pos, len;
  char buf[CONN_BUF];
} conn_t;

/* A stream over the green socket fd (and ssl when not NULL), which it then owns. */
conn_t *conn_new(int fd, SSL *ssl);

/* Read more after the unread bytes (moved to the front first). Returns the bytes read, 0 at
 * the end of the stream, -1 + errno (ENOBUFS when the buffer is full of unread bytes). */
ssize_t conn_fill(conn_t *c);

/* Write all iov, or -1 + errno. */
int conn_writev(conn_t *c, const struct iovec *iov, int n);

/* Close it (sending TLS close_notify when `clean`) and free it. */
void conn_free(conn_t *c, int clean);

#endif
