/* SPDX-License-Identifier: MIT */
#include "conn.h"

#include <errno.h>
#include <green.h>
#include <stdlib.h>
#include <string.h>

#include "tls.h"

conn_t *conn_new(int fd, SSL *ssl) {
  conn_t *c = malloc(sizeof *c);
  if (!c) return NULL;
  c->fd = fd;
  c->ssl = ssl;
  c->next = NULL;
  c->requests = 0;
  c->pos = c->len = 0;
  return c;
}

ssize_t conn_fill(conn_t *c) {
  ssize_t n;
  if (c->pos) {
    memmove(c->buf, c->buf + c->pos, c->len - c->pos);
    c->len -= c->pos;
    c->pos = 0;
  }
  if (c->len == CONN_BUF) {
    errno = ENOBUFS;
    return -1;
  }
  n = c->ssl ? tls_read(c->ssl, c->buf + c->len, CONN_BUF - c->len)
             : green_read(c->fd, c->buf + c->len, CONN_BUF - c->len);
  if (n > 0) c->len += (size_t)n;
  return n;
}

int conn_writev(conn_t *c, const struct iovec *iov, int n) {
  size_t total = 0;
  int i;
  if (!c->ssl) {
    for (i = 0; i < n; i++) total += iov[i].iov_len;
    return green_writev(c->fd, iov, n) == (ssize_t)total ? 0 : -1;
  }
  for (i = 0; i < n; i++)
    if (iov[i].iov_len && tls_write(c->ssl, iov[i].iov_base, iov[i].iov_len) < 0) return -1;
  return 0;
}

void conn_free(conn_t *c, int clean) {
  if (c->ssl) tls_free(c->ssl, clean);
  green_close(c->fd);
  free(c);
}
