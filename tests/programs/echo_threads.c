/* SPDX-License-Identifier: MIT */
/*
 * A thread-per-connection echo server and its client, plain blocking POSIX code.
 *
 *   echo_threads server NCONN         listens on 127.0.0.1 (prints "PORT n"), serves NCONN
 *                                     connections, one thread each, then exits; with 0,
 *                                     serves detached threads until killed (scripts/bench)
 *   echo_threads client PORT N ROUNDS N threads, one connection each; once all N are
 *                                     connected each does ROUNDS round trips of 1..4000 bytes
 *   echo_threads -w US server NCONN   the server hashes each request's bytes over and over
 *                                     for US microseconds before the echo: a CPU cost per
 *                                     request for scripts/bench (a real loop, not a sleep)
 *
 * Both print a transcript (the client one line per connection) and their OS thread count
 * while all connections are open: each side's threads wait at a gate (a pipe whose write end
 * the main thread closes once it has counted them), and the server's then send their client
 * a "G", which the client waits for before its first round trip.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>

#include "prog.h"

static long nconn;
static long connected;
static long long echoed;
static double work_s; /* -w, in seconds */
static volatile unsigned long sink; /* keeps the hashing from being optimised away */
static int gate[2]; /* threads wait for EOF on gate[0]: main closes gate[1] once it has
                       counted them */

static int all_connected(void) { return __atomic_load_n(&connected, __ATOMIC_ACQUIRE) == nconn; }

/* ---- server --------------------------------------------------------------------------- */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* FNV-1a over buf, again and again, until work_s has passed. */
static void burn(const char *buf, ssize_t n) {
  double end = now() + work_s;
  unsigned long h = 1469598103934665603UL;
  ssize_t i;
  do {
    for (i = 0; i < n; i++) h = (h ^ (unsigned char)buf[i]) * 1099511628211UL;
  } while (now() < end);
  sink = h;
}

static void *serve(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[4096];
  ssize_t n, off, w;
  if (nconn && (read(gate[0], buf, 1) != 0 || write(fd, "G", 1) != 1)) prog_die("server go");
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    if (work_s > 0) burn(buf, n);
    for (off = 0; off < n; off += w)
      if ((w = write(fd, buf + off, (size_t)(n - off))) <= 0) break;
    if (off < n) break;
    __atomic_add_fetch(&echoed, n, __ATOMIC_RELAXED);
  }
  /* a failed connection fails the test; the benchmark's clients reset theirs at the end */
  if (n != 0 && nconn) prog_die("server read or write");
  close(fd);
  return NULL;
}

static int server(void) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  pthread_t *t = calloc((size_t)nconn + 1, sizeof *t);
  int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
  long i;
  PROG_CHECK(t && lfd >= 0 && pipe(gate) == 0);
  PROG_CHECK(setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
  PROG_CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(lfd, 4096) == 0);
  PROG_CHECK(getsockname(lfd, (struct sockaddr *)&sa, &len) == 0);
  printf("PORT %d\n", ntohs(sa.sin_port));
  fflush(stdout);
  while (nconn == 0) {
    pthread_t d;
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
      usleep(10000); /* EMFILE and the like: let connections end */
      continue;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (pthread_create(&d, NULL, serve, (void *)(intptr_t)fd) != 0) close(fd);
    else pthread_detach(d);
  }
  for (i = 0; i < nconn; i++) {
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) prog_die("accept");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (pthread_create(&t[i], NULL, serve, (void *)(intptr_t)fd) != 0) prog_die("pthread_create");
  }
  prog_report_threads(); /* every connection's thread exists, waiting for the gate */
  close(gate[1]);
  for (i = 0; i < nconn; i++) PROG_CHECK(pthread_join(t[i], NULL) == 0);
  close(lfd);
  free(t);
  printf("served %ld connections, %lld bytes echoed\n", nconn, echoed);
  return 0;
}

/* ---- client --------------------------------------------------------------------------- */

static struct sockaddr_in server_addr;
static long rounds;

typedef struct result {
  long id;
  long bytes;
  unsigned long sum;
} result_t;

static void fill(unsigned char *buf, size_t n, long id, long round) {
  size_t i;
  for (i = 0; i < n; i++) buf[i] = (unsigned char)(i * 31 + (size_t)id * 7 + (size_t)round);
}

static void *client(void *arg) {
  result_t *r = arg;
  unsigned char out[4000], in[4000];
  int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
  long k;
  char c;
  if (fd < 0 || connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) != 0)
    prog_die("client %ld: connect", r->id);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  __atomic_add_fetch(&connected, 1, __ATOMIC_RELEASE);
  if (read(gate[0], &c, 1) != 0) prog_die("client %ld: gate", r->id);
  if (read(fd, &c, 1) != 1 || c != 'G') prog_die("client %ld: no go from the server", r->id);
  for (k = 0; k < rounds; k++) {
    size_t n = 1 + (size_t)((r->id * 7919 + k * 104729) % 4000), got = 0, i;
    fill(out, n, r->id, k);
    if (write(fd, out, n) != (ssize_t)n) prog_die("client %ld: write", r->id);
    while (got < n) {
      ssize_t m = read(fd, in + got, n - got);
      if (m <= 0) prog_die("client %ld: read", r->id);
      got += (size_t)m;
    }
    if (memcmp(in, out, n) != 0) prog_die("client %ld: the echo differs", r->id);
    for (i = 0; i < n; i++) r->sum = r->sum * 131 + in[i];
    r->bytes += (long)n;
  }
  close(fd);
  return NULL;
}

static int clients(int port) {
  pthread_t *t = calloc((size_t)nconn, sizeof *t);
  result_t *res = calloc((size_t)nconn, sizeof *res);
  long i, total = 0;
  PROG_CHECK(t && res && pipe(gate) == 0);
  server_addr.sin_family = AF_INET;
  server_addr.sin_port = htons((uint16_t)port);
  server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (i = 0; i < nconn; i++) {
    res[i].id = i;
    if (pthread_create(&t[i], NULL, client, &res[i]) != 0) prog_die("pthread_create");
  }
  while (!all_connected()) usleep(10000);
  prog_report_threads(); /* every thread is connected and waits at the gate */
  close(gate[1]);
  for (i = 0; i < nconn; i++) PROG_CHECK(pthread_join(t[i], NULL) == 0);
  for (i = 0; i < nconn; i++) {
    printf("conn %ld: %ld bytes, digest %lx\n", i, res[i].bytes, res[i].sum);
    total += res[i].bytes;
  }
  printf("%ld connections, %ld round trips, %ld bytes\n", nconn, nconn * rounds, total);
  free(t);
  free(res);
  return 0;
}

int main(int argc, char **argv) {
  const char *name = argv[0];
  signal(SIGPIPE, SIG_IGN);
  prog_raise_nofile();
  if (argc == 5 && strcmp(argv[1], "-w") == 0) {
    work_s = atof(argv[2]) * 1e-6;
    argc -= 2;
    argv += 2;
  }
  if (argc == 3 && strcmp(argv[1], "server") == 0) {
    nconn = atol(argv[2]);
    return server();
  }
  if (argc == 5 && strcmp(argv[1], "client") == 0) {
    nconn = atol(argv[3]);
    rounds = atol(argv[4]);
    return clients(atoi(argv[2]));
  }
  fprintf(stderr, "usage: %s [-w US] server NCONN | client PORT NTHREADS ROUNDS\n", name);
  return 2;
}
