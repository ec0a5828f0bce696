/* SPDX-License-Identifier: MIT */
/* TCP and UDP on loopback: accept/connect, an echo server under load, refused and timed-out
 * connects, UDP datagrams. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "test.h"

/* A socket of `type` bound to 127.0.0.1 on a port the kernel picks; *addr gets the address. */
static int bound_socket(int type, struct sockaddr_in *addr) {
  socklen_t len = sizeof *addr;
  int fd = green_socket(AF_INET, type, 0);
  ASSERT_OK(fd);
  *addr = test_loopback(0);
  ASSERT_OK(bind(fd, (struct sockaddr *)addr, sizeof *addr));
  ASSERT_OK(getsockname(fd, (struct sockaddr *)addr, &len));
  ASSERT_NE(addr->sin_port, 0);
  return fd;
}

static int tcp_listener(int backlog, struct sockaddr_in *addr) {
  int fd = bound_socket(SOCK_STREAM, addr);
  ASSERT_OK(listen(fd, backlog));
  return fd;
}

static int tcp_client(const struct sockaddr_in *addr) {
  int fd = green_socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_OK(fd);
  ASSERT_OK(green_connect(fd, (const struct sockaddr *)addr, sizeof *addr));
  return fd;
}

static int is_nonblocking(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

static void fill(unsigned char *buf, size_t n, unsigned seed) {
  size_t i;
  for (i = 0; i < n; i++) buf[i] = (unsigned char)(i * 7 + (i >> 8) + seed * 13);
}

/* Reads exactly n bytes (fewer only at EOF or on an error). */
static ssize_t read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = green_read(fd, (char *)buf + got, n - got);
    if (r <= 0) return got ? (ssize_t)got : r;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

/* ---- accept, connect, echo ----------------------------------------------------------- */

static void *echo_once(void *arg) {
  int l = *(int *)arg, c;
  char buf[64];
  ssize_t n;
  ASSERT_OK(c = green_accept(l, NULL, NULL));
  ASSERT_TRUE(is_nonblocking(c));
  ASSERT_OK(n = green_read(c, buf, sizeof buf));
  ASSERT_EQ(green_write(c, buf, (size_t)n), n);
  ASSERT_OK(green_close(c));
  return NULL;
}

TEST_CASE(echo_one) {
  struct sockaddr_in addr;
  int l = tcp_listener(8, &addr), c;
  char buf[8];
  green_t *g = green_spawn(echo_once, &l);
  ASSERT_PTR_NE(g, NULL);
  c = tcp_client(&addr);
  ASSERT_EQ(green_write(c, "ping", 4), 4);
  ASSERT_EQ(read_full(c, buf, 4), 4);
  ASSERT_MEM_EQ(buf, "ping", 4);
  ASSERT_EQ(green_read(c, buf, sizeof buf), 0); /* the server closed */
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_OK(green_close(c));
  ASSERT_OK(green_close(l));
}

TEST_CASE(accept4_cloexec) {
  struct sockaddr_in addr, peer;
  socklen_t len = sizeof peer;
  int l = tcp_listener(8, &addr), c = tcp_client(&addr), a;
  struct sockaddr_in mine;
  socklen_t mlen = sizeof mine;
  ASSERT_OK(a = green_accept4(l, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC));
  ASSERT_TRUE(fcntl(a, F_GETFD) & FD_CLOEXEC);
  ASSERT_TRUE(is_nonblocking(a));
  ASSERT_EQ(len, sizeof peer);
  ASSERT_OK(getsockname(c, (struct sockaddr *)&mine, &mlen));
  ASSERT_EQ(peer.sin_port, mine.sin_port); /* the peer address is the client's */
  ASSERT_OK(green_close(a));
  ASSERT_OK(green_close(c));
  ASSERT_OK(green_close(l));
}

/* ---- an echo server with 2,000 clients ----------------------------------------------- */

enum { ECHO_CLIENTS = 2000, ECHO_MESSAGES = 10, ECHO_MAX = 20000 };

static struct sockaddr_in echo_addr;
static int echo_failures;

static void *echo_conn(void *arg) {
  int fd = (int)(intptr_t)arg;
  char *buf = malloc(16384);
  ssize_t n;
  ASSERT_TRUE(buf != NULL);
  while ((n = green_recv(fd, buf, 16384, 0)) > 0) {
    if (green_send(fd, buf, (size_t)n, 0) != n) break;
  }
  if (n != 0) echo_failures++;
  ASSERT_OK(green_close(fd));
  free(buf);
  return NULL;
}

typedef struct server {
  int lfd;
  int nconns;
  green_t **conns;
} server_t;

static void *echo_server(void *arg) {
  server_t *s = arg;
  int i, c;
  for (i = 0; i < s->nconns; i++) {
    if ((c = green_accept(s->lfd, NULL, NULL)) < 0) TEST_FAIL("accept: %s", strerror(errno));
    ASSERT_TRUE((s->conns[i] = green_spawn(echo_conn, (void *)(intptr_t)c)) != NULL);
  }
  ASSERT_OK(green_joinall(s->conns, (size_t)s->nconns, -1));
  return NULL;
}

/* Sends ECHO_MESSAGES messages of varying sizes, checks each echo byte for byte. */
static void *echo_client(void *arg) {
  unsigned id = (unsigned)(uintptr_t)arg, m;
  unsigned char *out = malloc(ECHO_MAX), *in = malloc(ECHO_MAX);
  int fd = tcp_client(&echo_addr);
  ASSERT_TRUE(out && in);
  for (m = 0; m < ECHO_MESSAGES; m++) {
    size_t len = 1 + (id * 7919u + m * 104729u) % ECHO_MAX;
    fill(out, len, id * ECHO_MESSAGES + m);
    if (green_write(fd, out, len) != (ssize_t)len || read_full(fd, in, len) != (ssize_t)len ||
        memcmp(in, out, len) != 0) {
      fprintf(stderr, "client %u message %u (%zu bytes): %s\n", id, m, len, strerror(errno));
      echo_failures++;
      break;
    }
  }
  ASSERT_OK(green_close(fd));
  free(out);
  free(in);
  return NULL;
}

/* Room for 2 fds a client; fewer clients when the hard limit does not allow it. */
static int echo_client_count(void) {
  struct rlimit rl;
  rlim_t want = 8192;
  int n = ECHO_CLIENTS;
  ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
  if (rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
  }
  if (rl.rlim_cur < (rlim_t)(2 * n + 64)) {
    n = (int)(rl.rlim_cur - 64) / 2;
    printf("note: RLIMIT_NOFILE hard limit %llu: %d clients instead of %d\n",
           (unsigned long long)rl.rlim_max, n, ECHO_CLIENTS);
  }
  return n;
}

TEST_CASE(echo_2000) {
  int n = echo_client_count(), i;
  green_t **clients = calloc((size_t)n, sizeof *clients), *srv;
  server_t s;
  s.lfd = tcp_listener(SOMAXCONN, &echo_addr);
  s.nconns = n;
  s.conns = calloc((size_t)n, sizeof *s.conns);
  ASSERT_TRUE(clients && s.conns);
  ASSERT_TRUE((srv = green_spawn(echo_server, &s)) != NULL);
  for (i = 0; i < n; i++)
    ASSERT_TRUE((clients[i] = green_spawn(echo_client, (void *)(uintptr_t)i)) != NULL);
  ASSERT_OK(green_joinall(clients, (size_t)n, -1));
  ASSERT_OK(green_join(srv, NULL, -1));
  ASSERT_EQ(echo_failures, 0);
  ASSERT_OK(green_close(s.lfd));
  free(clients);
  free(s.conns);
}

/* ---- connect failures ---------------------------------------------------------------- */

TEST_CASE(connect_refused) {
  struct sockaddr_in addr;
  int l = bound_socket(SOCK_STREAM, &addr), c; /* bound, never listening */
  ASSERT_OK(green_close(l));
  ASSERT_OK(c = green_socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_ERRNO(green_connect(c, (struct sockaddr *)&addr, sizeof addr), ECONNREFUSED);
  ASSERT_OK(green_close(c));
}

enum { MAX_FILLERS = 256 };

/* Adds non-blocking connects to *n up to `want`: they fill a listener's accept queue. */
static void add_fillers(int *fillers, int *n, int want, const struct sockaddr_in *addr) {
  for (; *n < want; (*n)++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ASSERT_OK(fd);
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS)
      TEST_FAIL("filler connect: %s", strerror(errno));
    fillers[*n] = fd;
  }
}

/* One green_connect under a 0.2 s deadline: 1 when it timed out, 0 when it connected. */
static int connect_times_out(const struct sockaddr_in *addr) {
  green_deadline_t d;
  double t0 = test_now();
  int c = green_socket(AF_INET, SOCK_STREAM, 0), r, err;
  ASSERT_OK(c);
  ASSERT_OK(green_deadline_enter(&d, 0.2));
  r = green_connect(c, (const struct sockaddr *)addr, sizeof *addr);
  err = errno;
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_OK(green_close(c));
  if (r == 0) return 0;
  if (err != ETIMEDOUT) TEST_FAIL("connect gave %d (%s), expected ETIMEDOUT", r, strerror(err));
  ASSERT_RANGE(test_now() - t0, 0.199, 2.0);
  return 1;
}

TEST_CASE(connect_deadline) {
  struct sockaddr_in addr;
  int l = tcp_listener(0, &addr), fillers[MAX_FILLERS], n = 0, want, timed_out = 0, i;
  for (want = 4; want <= MAX_FILLERS && !timed_out; want *= 2) {
    add_fillers(fillers, &n, want, &addr);
    ASSERT_OK(green_sleep(0.05)); /* their handshakes complete and fill the queue */
    timed_out = connect_times_out(&addr);
  }
  ASSERT_TRUE(timed_out);
  for (i = 0; i < n; i++) ASSERT_OK(close(fillers[i]));
  ASSERT_OK(green_close(l));
}

typedef struct accept_call {
  int fd;
  int r, err;
} accept_call_t;

static void *acceptor(void *arg) {
  accept_call_t *a = arg;
  a->r = green_accept(a->fd, NULL, NULL);
  a->err = errno;
  return NULL;
}

TEST_CASE(kill_during_accept) {
  struct sockaddr_in addr;
  accept_call_t a = {tcp_listener(8, &addr), 0, 0};
  green_t *g = green_spawn(acceptor, &a);
  ASSERT_PTR_NE(g, NULL);
  green_yield(); /* it parks in accept */
  ASSERT_EQ(green_state(g), GREEN_BLOCKED);
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(a.r, -1);
  ASSERT_EQ(a.err, ECANCELED);
  ASSERT_OK(green_close(a.fd));
}

/* ---- UDP ----------------------------------------------------------------------------- */

typedef struct datagram {
  int fd;
  char buf[64];
  ssize_t n;
  struct sockaddr_in from;
  socklen_t fromlen;
} datagram_t;

static void *udp_receiver(void *arg) {
  datagram_t *d = arg;
  d->fromlen = sizeof d->from;
  d->n = green_recvfrom(d->fd, d->buf, sizeof d->buf, 0, (struct sockaddr *)&d->from,
                        &d->fromlen);
  return NULL;
}

TEST_CASE(udp_sendto_recvfrom) {
  struct sockaddr_in a_addr, b_addr;
  datagram_t d = {0};
  int a = bound_socket(SOCK_DGRAM, &a_addr);
  green_t *g;
  d.fd = bound_socket(SOCK_DGRAM, &b_addr);
  ASSERT_TRUE((g = green_spawn(udp_receiver, &d)) != NULL);
  green_yield(); /* the receiver parks: nothing sent yet */
  ASSERT_EQ(green_sendto(a, "dgram", 5, 0, (struct sockaddr *)&b_addr, sizeof b_addr), 5);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(d.n, 5);
  ASSERT_MEM_EQ(d.buf, "dgram", 5);
  ASSERT_EQ(d.fromlen, sizeof a_addr);
  ASSERT_EQ(d.from.sin_family, AF_INET);
  ASSERT_EQ(d.from.sin_port, a_addr.sin_port);
  ASSERT_EQ(d.from.sin_addr.s_addr, a_addr.sin_addr.s_addr);
  ASSERT_OK(green_close(a));
  ASSERT_OK(green_close(d.fd));
}

TEST_CASE(socket_nonblocking) {
  struct sockaddr_in addr;
  int fd = green_socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_OK(fd);
  ASSERT_TRUE(is_nonblocking(fd));
  ASSERT_OK(green_close(fd));
  fd = tcp_listener(8, &addr); /* and it works */
  ASSERT_OK(green_close(fd));
  ASSERT_SAME_RESULT(socket(-1, SOCK_STREAM, 0), green_socket(-1, SOCK_STREAM, 0));
}
