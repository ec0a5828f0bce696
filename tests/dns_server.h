/* SPDX-License-Identifier: MIT */
/*
 * A DNS server of our own, built on libgreen and run as greenlets of the test's hub: UDP and
 * TCP on one port of 127.0.0.1. It answers A and AAAA questions for names n<i>.<anything>
 * with 127.0.<i / 250>.<i % 250 + 1> and ::1 (TTL 0), after `delay` seconds, or misbehaves
 * as its mode says: silent, truncated (TC: the answer comes over TCP), malformed in several
 * ways, oversized. Include after test.h.
 */
#ifndef GREEN_TEST_DNS_SERVER_H
#define GREEN_TEST_DNS_SERVER_H

#include <ctype.h>
#include <stdint.h>

typedef enum dns_mode {
  DNS_ANSWER,
  DNS_SILENT,         /* reads the query, never answers */
  DNS_TRUNCATED,      /* UDP: TC bit, no answer; TCP: the answer */
  DNS_SHORT,          /* 5 bytes */
  DNS_BAD_COUNT,      /* claims 3 answers, has none */
  DNS_POINTER_LOOP,   /* the answer's name is a compression pointer to itself */
  DNS_BAD_RDLENGTH,   /* the record data runs past the end of the packet */
  DNS_WRONG_QUESTION, /* an answer to a question that was not asked */
  DNS_OVERSIZED,      /* 3,000 distinct A records in one 48 KB message */
  DNS_HUGE,           /* claims 5,000 records, 64 KB holds 4,000 of them */
  DNS_GARBAGE,        /* random bytes after the query's ID */
  DNS_CNAME           /* A: a CNAME to target.test and its address, both for 60 s */
} dns_mode_t;

#define DNS_MAX_CONNS 16

typedef struct dns_server {
  dns_mode_t mode;     /* over UDP */
  dns_mode_t tcp_mode; /* over TCP */
  double delay;
  int udp, tcp;
  uint16_t port;
  int queries, tcp_queries; /* received */
  int outstanding;          /* replies still to send (sleeping responders) */
  int max_outstanding;      /* the most at once: the client's queries in flight, with delay */
  int conns[DNS_MAX_CONNS];
  green_t *udp_loop, *tcp_loop;
} dns_server_t;

/* The end of the question section (its offset), or -1; *qtype gets the question's type. */
static int dns_question_end(const unsigned char *q, size_t n, int *qtype) {
  size_t i = 12;
  if (n < 12) return -1;
  while (i < n && q[i]) {
    if (q[i] & 0xc0) return -1;
    i += (size_t)q[i] + 1;
  }
  if (i + 5 > n) return -1;
  *qtype = q[i + 1] << 8 | q[i + 2];
  return (int)i + 5;
}

/* The number in the question's first label "n<i>", or -1. */
static int dns_name_index(const unsigned char *q) {
  int len = q[12], i, v = 0;
  if (len < 2 || q[13] != 'n') return -1;
  for (i = 1; i < len; i++) {
    if (!isdigit(q[13 + i])) return -1;
    v = v * 10 + (q[13 + i] - '0');
  }
  return v;
}

static size_t put16(unsigned char *p, size_t at, unsigned v) {
  p[at] = (unsigned char)(v >> 8);
  p[at + 1] = (unsigned char)v;
  return at + 2;
}

/* One A (4-byte data) or AAAA record for the question's name, at `at`. */
static size_t dns_record(unsigned char *p, size_t at, int type, const unsigned char *data) {
  size_t len = type == 28 ? 16 : 4;
  at = put16(p, at, 0xc00c); /* the question's name */
  at = put16(p, at, (unsigned)type);
  at = put16(p, at, 1);
  at = put16(p, at, 0);
  at = put16(p, at, 0); /* TTL 0: nothing is cached */
  at = put16(p, at, (unsigned)len);
  memcpy(p + at, data, len);
  return at + len;
}

/* The reply to query q (n bytes) in mode, into out (65536 bytes); its length. */
static size_t dns_reply(dns_mode_t mode, const unsigned char *q, size_t n, unsigned char *out) {
  static const unsigned char six[16] = {[15] = 1};
  unsigned char v4[4] = {127, 0, 0, 1};
  int qtype = 0, end = dns_question_end(q, n, &qtype), i = dns_name_index(q), k;
  size_t at;
  if (end < 0) return 0;
  if (i >= 0) v4[2] = (unsigned char)(i / 250), v4[3] = (unsigned char)(i % 250 + 1);
  memcpy(out, q, (size_t)end);
  out[2] = 0x81; /* a response to a recursive query */
  out[3] = 0x80;
  put16(out, 6, 0);
  put16(out, 8, 0);
  put16(out, 10, 0);
  at = (size_t)end;
  switch (mode) {
  case DNS_TRUNCATED: out[2] |= 0x02; return at;
  case DNS_SHORT: return 5;
  case DNS_BAD_COUNT: put16(out, 6, 3); return at;
  case DNS_POINTER_LOOP:
    put16(out, 6, 1);
    put16(out, at, 0xc000 | (unsigned)at);
    at = put16(out, at + 2, 1);
    at = put16(out, at, 1);
    at = put16(out, at, 0);
    at = put16(out, at, 60);
    at = put16(out, at, 4);
    memcpy(out + at, v4, 4);
    return at + 4;
  case DNS_BAD_RDLENGTH:
    put16(out, 6, 1);
    at = dns_record(out, at, 1, v4);
    put16(out, at - 6, 200);
    return at;
  case DNS_OVERSIZED:
    put16(out, 6, 3000);
    for (k = 0; k < 3000; k++) {
      v4[1] = (unsigned char)(k >> 8), v4[2] = (unsigned char)k;
      at = dns_record(out, at, 1, v4);
    }
    return at;
  case DNS_HUGE:
    put16(out, 6, 5000);
    while (at + 16 <= 65500) at = dns_record(out, at, 1, v4);
    return at;
  case DNS_GARBAGE:
    for (k = 2; k < 200; k++) out[k] = (unsigned char)(k * 37 + 11);
    return 200;
  case DNS_CNAME:
    if (qtype != 1) return at;
    put16(out, 6, 2);
    at = put16(out, at, 0xc00c);
    at = put16(out, at, 5);
    at = put16(out, at, 1);
    at = put16(out, at, 0);
    at = put16(out, at, 60);
    at = put16(out, at, 13);
    k = (int)at; /* where the target's name starts */
    memcpy(out + at, "\6target\4test", 13);
    at = put16(out, at + 13, 0xc000 | (unsigned)k);
    at = put16(out, at, 1);
    at = put16(out, at, 1);
    at = put16(out, at, 0);
    at = put16(out, at, 60);
    at = put16(out, at, 4);
    memcpy(out + at, v4, 4);
    return at + 4;
  case DNS_WRONG_QUESTION: out[13] = 'x'; /* then answer it */ /* fall through */
  default:
    if (qtype == 1 || qtype == 28) {
      put16(out, 6, 1);
      at = dns_record(out, at, qtype, qtype == 28 ? six : v4);
    }
    return at;
  }
}

typedef struct dns_job {
  dns_server_t *s;
  struct sockaddr_in from;
  size_t n;
  unsigned char q[512];
} dns_job_t;

static void dns_send_reply(dns_server_t *s, const dns_job_t *j) {
  static unsigned char out[65536 + 16];
  size_t n = dns_reply(s->mode, j->q, j->n, out);
  if (n) green_sendto(s->udp, out, n, 0, (const struct sockaddr *)&j->from, sizeof j->from);
}

static void *dns_delayed_reply(void *arg) {
  dns_job_t *j = arg;
  green_sleep(j->s->delay);
  dns_send_reply(j->s, j);
  j->s->outstanding--;
  free(j);
  return NULL;
}

static void *dns_udp_loop(void *arg) {
  dns_server_t *s = arg;
  for (;;) {
    dns_job_t *j = malloc(sizeof *j);
    socklen_t len = sizeof j->from;
    ssize_t n;
    ASSERT_PTR_NE(j, NULL);
    j->s = s;
    n = green_recvfrom(s->udp, j->q, sizeof j->q, 0, (struct sockaddr *)&j->from, &len);
    if (n < 0) {
      free(j);
      return NULL; /* closed by dns_server_stop */
    }
    j->n = (size_t)n;
    s->queries++;
    if (s->mode == DNS_SILENT) {
      free(j);
    } else if (s->delay > 0) {
      green_t *g = green_spawn(dns_delayed_reply, j);
      ASSERT_PTR_NE(g, NULL);
      ASSERT_OK(green_detach(g));
      if (++s->outstanding > s->max_outstanding) s->max_outstanding = s->outstanding;
    } else {
      dns_send_reply(s, j);
      free(j);
    }
  }
}

static ssize_t dns_read_full(int fd, unsigned char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = green_read(fd, buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

typedef struct dns_conn {
  dns_server_t *s;
  int slot;
} dns_conn_t;

/* One TCP connection: length-prefixed queries until the client (or dns_server_stop)
 * closes it. */
static void *dns_tcp_conn(void *arg) {
  dns_conn_t *c = arg;
  dns_server_t *s = c->s;
  int fd = s->conns[c->slot];
  unsigned char len[2], q[512];
  static unsigned char out[65538 + 16];
  for (;;) {
    size_t n, r;
    if (dns_read_full(fd, len, 2) < 0) break;
    n = (size_t)(len[0] << 8 | len[1]);
    if (n > sizeof q || dns_read_full(fd, q, n) < 0) break;
    s->tcp_queries++;
    r = dns_reply(s->tcp_mode, q, n, out + 2);
    if (!r) break;
    put16(out, 0, (unsigned)(s->tcp_mode == DNS_GARBAGE ? r + 100 : r)); /* GARBAGE: lies */
    if (green_write(fd, out, r + 2) < 0) break;
    if (s->tcp_mode == DNS_GARBAGE) break;
  }
  if (s->conns[c->slot] >= 0) green_close(fd);
  s->conns[c->slot] = -1;
  free(c);
  return NULL;
}

static void *dns_tcp_loop(void *arg) {
  dns_server_t *s = arg;
  for (;;) {
    int fd = green_accept(s->tcp, NULL, NULL), slot;
    dns_conn_t *c;
    green_t *g;
    if (fd < 0) return NULL;
    for (slot = 0; slot < DNS_MAX_CONNS && s->conns[slot] >= 0; slot++) {
    }
    if (slot == DNS_MAX_CONNS) {
      green_close(fd);
      continue;
    }
    s->conns[slot] = fd;
    ASSERT_PTR_NE(c = malloc(sizeof *c), NULL);
    c->s = s;
    c->slot = slot;
    ASSERT_PTR_NE(g = green_spawn(dns_tcp_conn, c), NULL);
    ASSERT_OK(green_detach(g));
  }
}

/* Start the server's greenlets on a fresh port (UDP and TCP alike). */
static void dns_server_start(dns_server_t *s, dns_mode_t mode, double delay) {
  struct sockaddr_in sin = test_loopback(0);
  socklen_t len = sizeof sin;
  int i, tries, rcvbuf = 4 << 20;
  memset(s, 0, sizeof *s);
  s->mode = mode;
  s->tcp_mode = DNS_ANSWER;
  s->delay = delay;
  for (i = 0; i < DNS_MAX_CONNS; i++) s->conns[i] = -1;
  for (tries = 0; tries < 20; tries++) { /* a UDP port whose TCP twin is free too */
    ASSERT_OK(s->udp = green_socket(AF_INET, SOCK_DGRAM, 0));
    sin = test_loopback(0);
    ASSERT_OK(bind(s->udp, (struct sockaddr *)&sin, sizeof sin));
    ASSERT_OK(getsockname(s->udp, (struct sockaddr *)&sin, &len));
    ASSERT_OK(s->tcp = green_socket(AF_INET, SOCK_STREAM, 0));
    if (bind(s->tcp, (struct sockaddr *)&sin, sizeof sin) == 0) break;
    green_close(s->udp);
    green_close(s->tcp);
  }
  ASSERT_OK(listen(s->tcp, 16));
  /* room for a burst of queries from hundreds of greenlets: the default buffer holds ~256 */
  if (setsockopt(s->udp, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt(s->udp, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  s->port = ntohs(sin.sin_port);
  ASSERT_PTR_NE(s->udp_loop = green_spawn(dns_udp_loop, s), NULL);
  ASSERT_PTR_NE(s->tcp_loop = green_spawn(dns_tcp_loop, s), NULL);
}

/* Close everything, wait for the greenlets and the replies still sleeping. */
static void dns_server_stop(dns_server_t *s) {
  int i;
  green_close(s->udp);
  green_close(s->tcp);
  ASSERT_OK(green_join(s->udp_loop, NULL, 5));
  ASSERT_OK(green_join(s->tcp_loop, NULL, 5));
  for (i = 0; i < DNS_MAX_CONNS; i++) {
    int fd = s->conns[i];
    if (fd < 0) continue;
    s->conns[i] = -1;
    green_close(fd);
  }
  for (i = 0; i < 500 && s->outstanding; i++) ASSERT_OK(green_sleep(0.01));
  ASSERT_EQ(s->outstanding, 0);
  ASSERT_OK(green_sleep(0.01)); /* the connection greenlets see their fds closed */
}

#endif
