/* SPDX-License-Identifier: MIT */
/*
 * green-httpd: the demo and test server for green-fetch, one greenlet per connection, HTTP/1.1
 * with keep-alive, over TLS when given a certificate.
 *
 *   green-httpd [-a ADDR] [-p PORT] [--cert FILE --key FILE] [-l LOG]
 *               [--idle-timeout SECONDS] [--send-timeout SECONDS]
 *
 *   /delay/MS      answers after MS milliseconds
 *   /bytes/N       N bytes of a fixed pseudo-random stream (the same for the same N)
 *   /chunked/N     the same N bytes in chunks of varying sizes
 *   /redirect/N    redirects N times (relative, path-absolute and absolute Locations in
 *                  turn), then answers 200
 *   /loop          redirects to itself, forever
 *   /status/CODE   answers CODE
 *
 * Prints "PORT <port>" once it listens. With -l, one line per response goes to LOG before the
 * response's last bytes are sent: connection number, TLS server name, status, body bytes, the
 * body's FNV-1a 64 checksum and the path.
 *
 * Hostile or broken clients cost bounded resources: a request head must come within the idle
 * timeout, every write must finish within the send timeout, and when fds run out the oldest
 * idle kept-alive connection is closed to make room. Transient accept errors are retried.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/tcp.h>
#include <green.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conn.h"
#include "http.h"
#include "tls.h"

#define BLOCK (16 * 1024)
#define MAX_BYTES (1ULL << 40)
#define ACCEPT_BACKOFF_MAX 0.1 /* seconds between accepts while they keep failing */

static SSL_CTX *tls;
static FILE *logf;
static char listen_host[64]; /* as a URL wants it: [::1] */
static unsigned short listen_port;
static unsigned long connections;
static double idle_timeout = 60;  /* seconds a request head may take to come */
static double send_timeout = 60;  /* seconds one write may take */

typedef struct request {
  conn_t *c;
  unsigned long id;
  unsigned long served;           /* responses sent on this connection */
  const char *sni;
  char path[1024];
  char self[80];                  /* this end's address as a URL wants it: 127.0.0.1:8080 */
  int close;
  struct request *idle_prev, *idle_next; /* on the idle list while waiting between requests */
} request_t;

/* Connections waiting for their next request, the longest waiting first: the ones closed
 * when fds run out. */
static struct {
  request_t *head, *tail;
} idle;

static void idle_add(request_t *rq) {
  rq->idle_next = NULL;
  rq->idle_prev = idle.tail;
  if (idle.tail) idle.tail->idle_next = rq;
  else idle.head = rq;
  idle.tail = rq;
}

static void idle_remove(request_t *rq) {
  if (rq->idle_prev) rq->idle_prev->idle_next = rq->idle_next;
  else if (idle.head == rq) idle.head = rq->idle_next;
  else return; /* not on the list */
  if (rq->idle_next) rq->idle_next->idle_prev = rq->idle_prev;
  else idle.tail = rq->idle_prev;
  rq->idle_prev = rq->idle_next = NULL;
}

/* Out of fds: end the longest idle connection. Its greenlet, parked in a read, sees the end of
 * the stream and closes the fd. 0, or -1 when no connection is idle. */
static int close_oldest_idle(void) {
  request_t *rq = idle.head;
  if (!rq) return -1;
  idle_remove(rq);
  shutdown(rq->c->fd, SHUT_RDWR);
  return 0;
}

/* Write all of iov within the send timeout: a client that stops reading loses its
 * connection instead of holding it forever. */
static int send_all(request_t *rq, const struct iovec *iov, int n) {
  green_deadline_t d;
  int rc;
  if (green_deadline_enter(&d, send_timeout) < 0) return -1;
  rc = conn_writev(rq->c, iov, n);
  green_deadline_leave(&d);
  return rc;
}

/* The body stream for N: xorshift64* seeded by N, eight bytes a step. */
typedef struct gen {
  uint64_t s, word;
  int have;
} gen_t;

static void gen_init(gen_t *g, uint64_t n) {
  g->s = n * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
  g->have = 0;
}

static void gen_fill(gen_t *g, unsigned char *buf, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (!g->have) {
      g->s ^= g->s >> 12, g->s ^= g->s << 25, g->s ^= g->s >> 27;
      g->word = g->s * 0x2545F4914F6CDD1DULL;
      g->have = 8;
    }
    buf[i] = (unsigned char)g->word;
    g->word >>= 8, g->have--;
  }
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
  while (n--) h = (h ^ *p++) * 0x100000001b3ULL;
  return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

static void log_response(const request_t *rq, int status, uint64_t bytes, uint64_t sum) {
  if (!logf) return;
  fprintf(logf, "conn=%lu sni=%s status=%d bytes=%llu fnv=%016llx path=%s\n", rq->id,
          rq->sni ? rq->sni : "-", status, (unsigned long long)bytes, (unsigned long long)sum,
          rq->path);
  fflush(logf);
}

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Status";
  }
}

/* A response with a small text body (none for 204 and 304); extra is more header lines. */
static int send_text(request_t *rq, int status, const char *extra, const char *text) {
  char head[1024];
  size_t n = status == 204 || status == 304 ? 0 : strlen(text);
  struct iovec iov[2];
  int len = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s%s\r\n",
                     status, reason(status), n, extra, rq->close ? "Connection: close\r\n" : "");
  iov[0] = (struct iovec){head, (size_t)len};
  iov[1] = (struct iovec){(void *)text, n};
  if (logf) log_response(rq, status, n, fnv(FNV_INIT, (const unsigned char *)text, n));
  return send_all(rq, iov, 2);
}

/* N bytes of the stream, with Content-Length or in chunks of 1 to 8,192 bytes. */
static int send_bytes(request_t *rq, uint64_t n, int chunked) {
  static __thread unsigned char block[BLOCK];
  char head[256], size_line[32];
  struct iovec iov[5];
  uint64_t sum = FNV_INIT, left = n, sizes = n;
  gen_t g;
  int len = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n%s%llu\r\n%s\r\n",
                     chunked ? "Transfer-Encoding: chunked\r\nX-Length: " : "Content-Length: ",
                     (unsigned long long)n, rq->close ? "Connection: close\r\n" : "");
  int k = 0;
  gen_init(&g, n);
  iov[k++] = (struct iovec){head, (size_t)len};
  for (;;) {
    size_t b = left < BLOCK ? (size_t)left : BLOCK;
    if (chunked && b) {
      sizes = sizes * 6364136223846793005ULL + 1442695040888963407ULL;
      if (b > 1 + (sizes >> 33) % 8192) b = 1 + (size_t)((sizes >> 33) % 8192);
      iov[k++] = (struct iovec){size_line, (size_t)sprintf(size_line, "%zx\r\n", b)};
    }
    gen_fill(&g, block, b);
    if (logf) sum = fnv(sum, block, b);
    iov[k++] = (struct iovec){block, b};
    if (chunked && b) iov[k++] = (struct iovec){"\r\n", 2};
    if ((left -= b) == 0) {
      if (chunked) iov[k++] = (struct iovec){"0\r\n\r\n", 5};
      log_response(rq, 200, n, sum);
      return send_all(rq, iov, k);
    }
    if (send_all(rq, iov, k) < 0) return -1;
    k = 0;
  }
}

/* The number after prefix in the path, or -1 when the path is not prefix + digits. */
static long long path_number(const char *path, const char *prefix) {
  size_t n = strlen(prefix);
  char *end;
  long long v;
  if (strncmp(path, prefix, n) != 0 || path[n] < '0' || path[n] > '9') return -1;
  errno = 0;
  v = strtoll(path + n, &end, 10);
  return *end || errno ? -1 : v;
}

static int route(request_t *rq) {
  char line[512], text[64];
  long long v;
  if ((v = path_number(rq->path, "/delay/")) >= 0 && v <= 600000) {
    if (green_sleep((double)v / 1000) < 0) return -1;
    snprintf(text, sizeof text, "delayed %lld ms\n", v);
    return send_text(rq, 200, "", text);
  }
  if ((v = path_number(rq->path, "/bytes/")) >= 0 && (uint64_t)v <= MAX_BYTES)
    return send_bytes(rq, (uint64_t)v, 0);
  if ((v = path_number(rq->path, "/chunked/")) >= 0 && (uint64_t)v <= MAX_BYTES)
    return send_bytes(rq, (uint64_t)v, 1);
  if ((v = path_number(rq->path, "/redirect/")) >= 0 && v <= 1000) {
    if (v == 0) return send_text(rq, 200, "", "redirects done\n");
    if (v % 3 == 0) /* relative to /redirect/ */
      snprintf(line, sizeof line, "Location: %lld\r\n", v - 1);
    else if (v % 3 == 1)
      snprintf(line, sizeof line, "Location: /redirect/%lld\r\n", v - 1);
    else /* our own address, never the client's Host header */
      snprintf(line, sizeof line, "Location: %s://%s/redirect/%lld\r\n", tls ? "https" : "http",
               rq->self, v - 1);
    return send_text(rq, 302, line, "redirecting\n");
  }
  if (strcmp(rq->path, "/loop") == 0) return send_text(rq, 302, "Location: /loop\r\n", "again\n");
  if ((v = path_number(rq->path, "/status/")) >= 200 && v <= 599) {
    snprintf(text, sizeof text, "status %lld\n", v);
    return send_text(rq, (int)v, "", text);
  }
  return send_text(rq, 404, "", "not found\n");
}

/* Read and answer one request: 0 to go on with the connection, -1 to close it. */
static int serve_request(request_t *rq) {
  conn_t *c = rq->c;
  http_request_t r;
  green_deadline_t d;
  const char *err;
  ssize_t head;
  size_t plen = 0;
  green_deadline_enter(&d, idle_timeout);
  if (rq->served && c->pos == c->len) { /* idle between requests until a byte comes */
    ssize_t n;
    idle_add(rq);
    n = conn_fill(c);
    idle_remove(rq);
    if (n <= 0) return green_deadline_leave(&d), -1;
  }
  while ((head = http_parse_request(c->buf + c->pos, c->len - c->pos, &r, &err)) == 0 &&
         conn_fill(c) > 0) {
  }
  green_deadline_leave(&d);
  if (head < 0) {
    strcpy(rq->path, "-");
    rq->close = 1;
    send_text(rq, 400, "", "bad request\n");
  }
  if (head <= 0) return -1; /* closed, idle too long, or malformed */
  c->pos += (size_t)head;
  rq->close = r.close || r.has_body;
  while (plen < r.target_len && r.target[plen] != '?') plen++;
  snprintf(rq->path, sizeof rq->path, "%.*s", (int)plen, r.target);
  rq->served++;
  if (r.major != 1 || r.minor > 1) {
    rq->close = 1;
    return send_text(rq, 505, "", "HTTP/1.0 and HTTP/1.1 only\n"), -1;
  }
  if (r.method_len != 3 || memcmp(r.method, "GET", 3) != 0)
    return send_text(rq, 405, "Allow: GET\r\n", "GET only\n"), -1;
  if (r.has_body) return send_text(rq, 400, "", "request bodies are not supported\n"), -1;
  return route(rq) < 0 || rq->close ? -1 : 0;
}

/* The address the client reached us at, as a URL wants it; the listening one if unknown. */
static void self_address(int fd, char *buf, size_t size) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char ip[INET6_ADDRSTRLEN];
  if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET6 &&
      inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip))
    snprintf(buf, size, "[%s]:%u", ip, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
  else if (ss.ss_family == AF_INET &&
           inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip))
    snprintf(buf, size, "%s:%u", ip, ntohs(((struct sockaddr_in *)&ss)->sin_port));
  else
    snprintf(buf, size, "%s:%u", listen_host, listen_port);
}

static void *serve(void *arg) {
  int fd = (int)(intptr_t)arg;
  request_t rq = {.id = ++connections};
  SSL *ssl = NULL;
  char msg[256];
  self_address(fd, rq.self, sizeof rq.self);
  if (tls) {
    green_deadline_t d;
    int one = 1; /* a response is two TLS records (head, body): no Nagle wait between them */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    green_deadline_enter(&d, 10);
    ssl = tls_accept(tls, fd, msg, sizeof msg);
    green_deadline_leave(&d);
    if (!ssl) {
      green_close(fd);
      return NULL;
    }
    rq.sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  }
  if (!(rq.c = conn_new(fd, ssl))) {
    if (ssl) tls_free(ssl, 0);
    green_close(fd);
    return NULL;
  }
  while (serve_request(&rq) == 0) {
  }
  conn_free(rq.c, 0);
  return NULL;
}

static int listen_on(const char *addr, unsigned short port) {
  struct sockaddr_storage ss = {0};
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  socklen_t len;
  int fd, one = 1, v6 = strchr(addr, ':') != NULL;
  if (v6) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1) return errno = EINVAL, -1;
    len = sizeof *sin6;
  } else {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) return errno = EINVAL, -1;
    len = sizeof *sin;
  }
  if ((fd = green_socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4096) < 0 ||
      getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
    green_close(fd);
    return -1;
  }
  listen_port = ntohs(v6 ? sin6->sin6_port : sin->sin_port);
  snprintf(listen_host, sizeof listen_host, v6 ? "[%s]" : "%s", addr);
  return fd;
}

static const char usage[] =
    "usage: green-httpd [-a ADDR] [-p PORT] [--cert FILE --key FILE] [-l LOG]\n"
    "                   [--idle-timeout SECONDS] [--send-timeout SECONDS]\n"
    "The demo and test server for green-fetch: one greenlet per connection, HTTP/1.1 GET\n"
    "with keep-alive. Prints \"PORT <port>\" on standard output once it listens.\n"
    "  -a ADDR         listen on ADDR (default 127.0.0.1; IPv6 too)\n"
    "  -p PORT         listen on PORT (default 0: any free port, printed as PORT <port>)\n"
    "  --cert FILE --key FILE  serve HTTPS with this PEM certificate chain and key\n"
    "                  (default: plain HTTP)\n"
    "  -l LOG          append one line per response to LOG (default: no log)\n"
    "  --idle-timeout SECONDS  time a request head may take to come (default 60)\n"
    "  --send-timeout SECONDS  time one write to a client may take (default 60)\n"
    "  -h, --help      print this help and exit 0\n"
    "  --version       print the version and exit 0\n"
    "Endpoints (GET only, else 405; the query string is ignored; other paths: 404):\n"
    "  /delay/MS       answers 200 after MS milliseconds (0 to 600000)\n"
    "  /bytes/N        200 with N bytes of a fixed pseudo-random stream (the same for the\n"
    "                  same N; up to 2^40), with Content-Length\n"
    "  /chunked/N      the same N bytes, chunked, in chunks of 1 to 8192 bytes\n"
    "  /redirect/N     302 N times (relative, path-absolute and absolute Locations in turn;\n"
    "                  N up to 1000), then 200\n"
    "  /loop           302 to itself, forever\n"
    "  /status/CODE    answers CODE (200 to 599)\n"
    "Exit status: 1 when it cannot start (certificate, log file, listen) or the listening\n"
    "socket fails for good; 2 on a usage error. It serves until it is killed.\n";

/* Seconds > 0 from an option's argument, or -1. */
static double seconds_arg(const char *s) {
  char *end;
  double v = strtod(s, &end);
  return *end || !(v > 0) || v > 1e9 ? -1 : v;
}

/* A port from 0 to 65535 from an option's argument, or -1. */
static long port_arg(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  return *s < '0' || *s > '9' || *end || v > 65535 ? -1 : v;
}

/* accept(2) errors that say the listening socket itself is wrong. Every other one (network
 * errors of a pending connection, EPROTO, ENOBUFS, ENOMEM, EMFILE, EPERM from a firewall...)
 * passes: accept again. */
static int accept_fatal(int e) { return e == EBADF || e == EFAULT || e == EINVAL || e == ENOTSOCK; }

/* Says once per errno value that accepts fail and are retried. */
static void log_accept_error(int e) {
  static unsigned char logged[512 / 8];
  if (e >= 0 && e < 512) {
    if (logged[e / 8] & (1 << e % 8)) return;
    logged[e / 8] |= (unsigned char)(1 << e % 8);
  }
  fprintf(stderr, "green-httpd: accept: %s (retrying; said once)\n", strerror(e));
}

/* Accepts and spawns a greenlet per connection; returns only when the listening socket
 * keeps failing with an error that says it is wrong (several times in a row, so one such
 * error a fault injected cannot end the server). */
static int accept_loop(int lfd) {
  double backoff = 0;
  int fatal_streak = 0;
  for (;;) {
    int fd = green_accept4(lfd, NULL, NULL, SOCK_CLOEXEC), e;
    green_t *g;
    if (fd >= 0) {
      backoff = 0, fatal_streak = 0;
      if (!(g = green_spawn(serve, (void *)(intptr_t)fd))) green_close(fd);
      else green_detach(g);
      continue;
    }
    e = errno;
    fatal_streak = accept_fatal(e) ? fatal_streak + 1 : 0;
    if (fatal_streak > 10)
      return fprintf(stderr, "green-httpd: accept: %s\n", strerror(e)), -1;
    log_accept_error(e);
    if (e == EINTR || e == ECONNABORTED || e == EAGAIN) continue; /* nothing to wait for */
    if (e == EMFILE || e == ENFILE) close_oldest_idle();
    backoff = backoff ? backoff * 2 : 0.001;
    if (backoff > ACCEPT_BACKOFF_MAX) backoff = ACCEPT_BACKOFF_MAX;
    green_sleep(backoff);
  }
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {{"cert", required_argument, NULL, 'C'},
                                           {"key", required_argument, NULL, 'K'},
                                           {"idle-timeout", required_argument, NULL, 'I'},
                                           {"send-timeout", required_argument, NULL, 'W'},
                                           {"help", no_argument, NULL, 'h'},
                                           {"version", no_argument, NULL, 'V'},
                                           {NULL, 0, NULL, 0}};
  const char *addr = "127.0.0.1", *cert = NULL, *key = NULL, *logpath = NULL;
  long port = 0;
  char msg[256];
  struct rlimit rl;
  int opt, lfd;
  while ((opt = getopt_long(argc, argv, "a:p:l:h", longopts, NULL)) != -1) {
    if (opt == 'a') addr = optarg;
    else if (opt == 'l') logpath = optarg;
    else if (opt == 'C') cert = optarg;
    else if (opt == 'K') key = optarg;
    else if (opt == 'h') return fputs(usage, stdout), 0;
    else if (opt == 'V') {
      printf("green-httpd %d.%d.%d\n", GREEN_VERSION_MAJOR, GREEN_VERSION_MINOR,
             GREEN_VERSION_PATCH);
      return 0;
    } else if ((opt == 'p' && (port = port_arg(optarg)) >= 0) ||
               (opt == 'I' && (idle_timeout = seconds_arg(optarg)) > 0) ||
               (opt == 'W' && (send_timeout = seconds_arg(optarg)) > 0))
      continue;
    else return fputs(usage, stderr), 2;
  }
  if (!cert != !key) return fputs("green-httpd: --cert and --key go together\n", stderr), 2;
  if (cert && !(tls = tls_server_ctx(cert, key, msg, sizeof msg)))
    return fprintf(stderr, "green-httpd: %s\n", msg), 1;
  if (logpath && !(logf = fopen(logpath, "a")))
    return fprintf(stderr, "green-httpd: %s: %s\n", logpath, strerror(errno)), 1;
  signal(SIGPIPE, SIG_IGN);
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if ((lfd = listen_on(addr, (unsigned short)port)) < 0)
    return fprintf(stderr, "green-httpd: listen on %s: %s\n", addr, strerror(errno)), 1;
  printf("PORT %u\n", listen_port);
  fflush(stdout);
  return accept_loop(lfd) < 0 ? 1 : 0;
}
