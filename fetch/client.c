/* SPDX-License-Identifier: MIT */
#include "client.h"

#include <ctype.h>
#include <errno.h>
#include <green.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "http.h"
#include "tls.h"
#include "url.h"

#define SLOTS 256
#define REQUEST_MAX 8192 /* a request head, in a connection's buffer */
#define INTERIM_MAX 16   /* 1xx heads before the final one: more is a server that never answers */
#define FD_WAIT 0.01     /* seconds between tries for a socket while the fds are all in use */

/* One server: its idle connections and its addresses. */
typedef struct slot {
  struct slot *next;       /* hash chain */
  conn_t *idle;            /* most recently used first */
  struct addrinfo *addrs;  /* resolved on the first connection */
  int tls;
  unsigned short port;
  char host[URL_HOST_MAX + 1];
} slot_t;

struct fetch_client {
  SSL_CTX *tls;            /* made on the first https URL: loading the CA store takes time */
  const char *cafile;
  int insecure;
  slot_t *slots[SLOTS];
  unsigned long connections;
};

enum { RT_STALE = -2 }; /* a kept-alive connection the server had closed: try a new one */

static int fail(fetch_result_t *res, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(res->error, sizeof res->error, fmt, ap);
  va_end(ap);
  return -1;
}

static int fail_errno(fetch_result_t *res, int e) {
  if (e == ETIMEDOUT) return fail(res, "timed out");
  if (e == EPROTO) return fail(res, "%s", tls_last_error());
  fail(res, "%s", strerror(e));
  res->error[0] = (char)tolower((unsigned char)res->error[0]);
  return -1;
}

fetch_client_t *fetch_client_new(const char *cafile, int insecure) {
  fetch_client_t *fc = calloc(1, sizeof *fc);
  if (!fc) return NULL;
  fc->cafile = cafile;
  fc->insecure = insecure;
  return fc;
}

int fetch_client_tls(fetch_client_t *fc, char *msg, size_t size) {
  if (!fc->tls) fc->tls = tls_client_ctx(fc->cafile, fc->insecure, msg, size);
  return fc->tls ? 0 : -1;
}

void fetch_client_free(fetch_client_t *fc) {
  size_t i;
  for (i = 0; i < SLOTS; i++) {
    slot_t *s, *next;
    for (s = fc->slots[i]; s; s = next) {
      conn_t *c, *cn;
      next = s->next;
      for (c = s->idle; c; c = cn) {
        cn = c->next;
        conn_free(c, 1);
      }
      if (s->addrs) green_freeaddrinfo(s->addrs);
      free(s);
    }
  }
  SSL_CTX_free(fc->tls);
  free(fc);
}

unsigned long fetch_client_connections(const fetch_client_t *fc) { return fc->connections; }

static slot_t *slot_get(fetch_client_t *fc, const url_t *u) {
  uint32_t h = 2166136261u ^ u->port ^ (uint32_t)u->tls << 16;
  const char *p;
  slot_t *s;
  for (p = u->host; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
  for (s = fc->slots[h % SLOTS]; s; s = s->next)
    if (s->port == u->port && s->tls == u->tls && strcmp(s->host, u->host) == 0) return s;
  if (!(s = calloc(1, sizeof *s))) return NULL;
  s->tls = u->tls;
  s->port = u->port;
  strcpy(s->host, u->host);
  s->next = fc->slots[h % SLOTS];
  return fc->slots[h % SLOTS] = s;
}

/* s's addresses, IPv6 and IPv4 in the resolver's preferred order, through the hub's c-ares
 * channel: the lookup parks only this greenlet (and honours its deadline). */
static int resolve(slot_t *s, fetch_result_t *res) {
  struct addrinfo hints = {0}, *ai;
  char service[8];
  int r;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  snprintf(service, sizeof service, "%u", s->port);
  r = green_getaddrinfo(s->host, service, &hints, &ai);
  if (r == EAI_NONAME || r == EAI_NODATA) return fail(res, "unknown host %s", s->host);
  if (r == EAI_SYSTEM) return fail_errno(res, errno);
  if (r) return fail(res, "cannot resolve %s: %s", s->host, gai_strerror(r));
  if (s->addrs) green_freeaddrinfo(ai); /* another greenlet got there first */
  else s->addrs = ai;
  return 0;
}

/* Out of fds: close one idle connection (the oldest of the first server that has one).
 * 0, or -1 when none is idle. */
static int close_an_idle(fetch_client_t *fc) {
  size_t i;
  for (i = 0; i < SLOTS; i++) {
    slot_t *s;
    for (s = fc->slots[i]; s; s = s->next) {
      conn_t **p = &s->idle, *c;
      if (!*p) continue;
      while ((*p)->next) p = &(*p)->next;
      c = *p;
      *p = NULL; /* off the list before conn_free can park */
      conn_free(c, 1);
      return 0;
    }
  }
  return -1;
}

/* A green socket, waiting while the process has no fd free: first closing an idle connection,
 * else until another fetch ends (the deadline bounds the wait). */
static int new_socket(fetch_client_t *fc, int family) {
  int fd;
  while ((fd = green_socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 &&
         (errno == EMFILE || errno == ENFILE)) {
    if (close_an_idle(fc) < 0 && green_sleep(FD_WAIT) < 0) return -1;
  }
  return fd;
}

/* A new connection to s: each address in turn, then the TLS handshake. */
static conn_t *open_conn(fetch_client_t *fc, slot_t *s, fetch_result_t *res) {
  struct addrinfo *ai;
  int fd = -1, e = ECONNREFUSED, one = 1;
  SSL *ssl = NULL;
  conn_t *c;
  if (!s->addrs && resolve(s, res) < 0) return NULL;
  for (ai = s->addrs; ai && fd < 0; ai = ai->ai_next) {
    if ((fd = new_socket(fc, ai->ai_family)) < 0) {
      e = errno;
      if (e == ETIMEDOUT || e == ECANCELED) break;
    } else if (green_connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
      e = errno;
      green_close(fd);
      fd = -1;
      if (e == ETIMEDOUT || e == ECANCELED) break; /* out of time for the other addresses */
    }
  }
  if (fd < 0) return fail_errno(res, e), NULL;
  /* TLS writes a handshake flight and then a request: no Nagle wait between them. A plain
   * request is one write after a response has acknowledged everything: Nagle never waits. */
  if (s->tls) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (s->tls && !(ssl = tls_connect(fc->tls, fd, s->host, res->error, sizeof res->error))) {
    if (errno == ETIMEDOUT) fail_errno(res, errno);
    green_close(fd);
    return NULL;
  }
  if (!(c = conn_new(fd, ssl))) {
    if (ssl) tls_free(ssl, 0);
    green_close(fd);
    return fail(res, "out of memory"), NULL;
  }
  fc->connections++;
  return c;
}

static int is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Read the head of the response to the request just sent, skipping interim 1xx heads. */
static int read_head(conn_t *c, http_response_t *r, fetch_result_t *res) {
  const char *err;
  ssize_t head, n;
  int interim = 0;
  for (;;) {
    if ((head = http_parse_response(c->buf + c->pos, c->len - c->pos, r, &err)) < 0)
      return fail(res, "%s", err);
    if (head > 0) {
      c->pos += (size_t)head;
      if (r->status >= 200) return 0;
      if (r->status == 101) return fail(res, "unexpected 101 Switching Protocols");
      if (++interim > INTERIM_MAX)
        return fail(res, "more than %d interim (1xx) responses", INTERIM_MAX);
      continue;
    }
    if ((n = conn_fill(c)) > 0) continue;
    /* Nothing at all on a reused connection: the server closed it while it was idle. */
    if (c->len == 0 && c->requests > 1 && (n == 0 || errno == ECONNRESET)) return RT_STALE;
    if (n < 0) return fail_errno(res, errno);
    return fail(res, c->len ? "connection closed in the response head"
                            : "connection closed before any response");
  }
}

/* The body: to the sink when this is the final 2xx response, else counted and dropped. */
static int read_body(conn_t *c, http_body_t *b, int deliver, fetch_sink_t sink, void *arg,
                     fetch_result_t *res) {
  const char *err, *data;
  size_t len;
  ssize_t k, n;
  while (!b->done) {
    if ((k = http_body_feed(b, c->buf + c->pos, c->len - c->pos, &data, &len, &err)) < 0)
      return fail(res, "%s", err);
    c->pos += (size_t)k;
    res->bytes += len;
    if (len && deliver && sink(arg, res, data, len)) return -1;
    if (k > 0 || b->done) continue;
    if ((n = conn_fill(c)) < 0) return fail_errno(res, errno);
    if (n == 0 && b->mode == HTTP_BODY_EOF && c->ssl && !tls_closed_cleanly(c->ssl))
      return fail(res, "body truncated: TLS connection closed without close_notify");
    if (n == 0) return http_body_eof(b, &err) < 0 ? fail(res, "%s", err) : 0;
  }
  return 0;
}

/* The request in c's buffer and its response, after which c is back in s's idle list or
 * freed (except on RT_STALE, where the caller frees it). *location gets a copy of a
 * redirect's target. */
static int roundtrip(slot_t *s, conn_t *c, size_t reqlen, fetch_sink_t sink, void *arg,
                     fetch_result_t *res, char **location) {
  struct iovec iov = {c->buf, reqlen};
  http_response_t r;
  http_body_t b;
  int rc, final;
  c->requests++;
  if (conn_writev(c, &iov, 1) < 0) {
    if (c->requests > 1 && (errno == EPIPE || errno == ECONNRESET)) return RT_STALE;
    rc = fail_errno(res, errno);
    conn_free(c, 0);
    return rc;
  }
  if ((rc = read_head(c, &r, res)) < 0) {
    if (rc != RT_STALE) conn_free(c, 0);
    return rc;
  }
  res->status = r.status;
  res->bytes = 0;
  final = !(is_redirect(r.status) && r.location);
  if (!final && !(*location = strndup(r.location, r.location_len))) rc = fail(res, "out of memory");
  else if (final && (r.status < 200 || r.status > 299))
    fail(res, "HTTP %d %.*s", r.status, (int)r.reason_len, r.reason);
  http_body_init(&b, &r, 0);
  if (rc < 0 || read_body(c, &b, final && r.status <= 299, sink, arg, res) < 0) {
    conn_free(c, 0);
    return -1;
  }
  if (r.close || b.mode == HTTP_BODY_EOF || c->pos != c->len) { /* bytes after: not ours */
    conn_free(c, 0);
    return 0;
  }
  c->pos = c->len = 0;
  c->next = s->idle;
  s->idle = c;
  return 0;
}

/* The request, written into c's empty buffer (the response then reads over it). */
static int request(conn_t *c, const url_t *u, fetch_result_t *res) {
  char authority[URL_HOST_MAX + 16];
  int n;
  url_authority(u, authority, sizeof authority);
  n = snprintf(c->buf, REQUEST_MAX,
               "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: green-fetch/0.1\r\nAccept: */*\r\n\r\n",
               u->target, authority);
  if (n < 0 || n >= REQUEST_MAX) return fail(res, "URL too long (over %d bytes)", REQUEST_MAX);
  return n;
}

static int exchange(fetch_client_t *fc, const url_t *u, fetch_sink_t sink, void *arg,
                    fetch_result_t *res, char **location) {
  slot_t *s;
  conn_t *c;
  int n, rc;
  if (u->tls && fetch_client_tls(fc, res->error, sizeof res->error) < 0) return -1;
  if (!(s = slot_get(fc, u))) return fail(res, "out of memory");
  for (;;) {
    if ((c = s->idle)) s->idle = c->next;
    else if (!(c = open_conn(fc, s, res))) return -1;
    if ((n = request(c, u, res)) < 0) {
      c->next = s->idle;
      s->idle = c;
      return -1;
    }
    if ((rc = roundtrip(s, c, (size_t)n, sink, arg, res, location)) != RT_STALE) return rc;
    conn_free(c, 0);
  }
}

int fetch_get(fetch_client_t *fc, const char *url, double timeout, fetch_sink_t sink, void *arg,
              fetch_result_t *res) {
  green_deadline_t d;
  char *loc = NULL;
  const char *err;
  url_t u;
  int rc = -1;
  memset(res, 0, sizeof *res);
  if (url_parse(&u, url, strlen(url), &err) < 0) return fail(res, "%s", err);
  if (green_deadline_enter(&d, timeout) < 0) {
    url_free(&u);
    return fail_errno(res, errno);
  }
  while (exchange(fc, &u, sink, arg, res, &loc) == 0) {
    if (!loc) {
      rc = res->status >= 200 && res->status <= 299 ? 0 : -1;
      break;
    }
    if (res->redirects == FETCH_MAX_REDIRECTS) {
      fail(res, "too many redirects (more than %d)", FETCH_MAX_REDIRECTS);
      break;
    }
    if (url_resolve(&u, loc, strlen(loc), &err) < 0) {
      fail(res, "bad redirect: %s", err);
      break;
    }
    free(loc);
    loc = NULL;
    res->redirects++;
  }
  free(loc);
  green_deadline_leave(&d);
  url_free(&u);
  return rc;
}
