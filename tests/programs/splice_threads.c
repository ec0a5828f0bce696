/* SPDX-License-Identifier: MIT */
/*
 * sendfile, splice, tee and vmsplice between threads of one process: 64 MiB from a file
 * through a socketpair, TCP loopback and a pipe with sendfile (one call each: a blocking
 * sendfile moves it all), splice file -> pipe, pipe -> socket and socket -> pipe, and
 * smaller tee and vmsplice runs; each reader is another thread, and checks a checksum.
 * copy_file_range copies between files (and refuses a pipe, as the kernel does).
 * Under the shim without these hooks the writer blocks the one OS thread on a full buffer.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "prog.h"

enum { BIG = 64 << 20, SMALL = 1 << 20 };

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

static unsigned char *pattern(size_t n) {
  unsigned char *b = malloc(n);
  uint32_t x = 12345;
  PROG_CHECK(b);
  for (size_t i = 0; i < n; i++) b[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
  return b;
}

static uint64_t expect_big, expect_small;

typedef struct reader {
  int fd;
  size_t got;
  uint64_t sum;
  int slow; /* sleep between reads: the writer meets a full buffer */
} reader_t;

static void *read_all(void *arg) {
  reader_t *r = arg;
  static __thread unsigned char buf[65536];
  ssize_t n;
  r->sum = 1469598103934665603ULL;
  while ((n = read(r->fd, buf, r->slow ? 4096 : sizeof buf)) > 0) {
    r->sum = fnv(r->sum, buf, (size_t)n);
    r->got += (size_t)n;
    if (r->slow) usleep(1000);
  }
  PROG_CHECK(n == 0);
  close(r->fd);
  return NULL;
}

static void start_reader(pthread_t *t, reader_t *r, int fd, int slow) {
  memset(r, 0, sizeof *r);
  r->fd = fd;
  r->slow = slow;
  PROG_CHECK(pthread_create(t, NULL, read_all, r) == 0);
}

static void finish(const char *what, pthread_t t, reader_t *r, uint64_t expect) {
  PROG_CHECK(pthread_join(t, NULL) == 0);
  printf("%s: reader got %zu bytes, checksum %s\n", what, r->got,
         r->sum == expect ? "ok" : "WRONG");
}

static void tcp_pair(int sv[2]) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int l = socket(AF_INET, SOCK_STREAM, 0);
  PROG_CHECK(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0);
  PROG_CHECK(getsockname(l, (struct sockaddr *)&a, &len) == 0);
  PROG_CHECK((sv[0] = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
  PROG_CHECK(connect(sv[0], (struct sockaddr *)&a, sizeof a) == 0);
  PROG_CHECK((sv[1] = accept(l, NULL, NULL)) >= 0);
  close(l);
}

static void sendfile_case(const char *what, int file, int sv[2], int use_offset) {
  pthread_t t;
  reader_t r;
  off_t off = 0;
  ssize_t n;
  lseek(file, 0, SEEK_SET);
  start_reader(&t, &r, sv[1], 0);
  if (use_offset) prog_report_threads(); /* the reader is alive */
  n = sendfile(sv[0], file, use_offset ? &off : NULL, BIG);
  printf("%s: sendfile returned %zd, offset %lld, file offset %lld\n", what, n, (long long)off,
         (long long)lseek(file, 0, SEEK_CUR));
  close(sv[0]);
  finish(what, t, &r, expect_big);
}

/* A thread that writes the big pattern into fd (a pipe or socket) and closes it. */
typedef struct feeder {
  int fd;
  const unsigned char *data;
  size_t len;
} feeder_t;

static void *feed(void *arg) {
  feeder_t *f = arg;
  size_t off = 0;
  while (off < f->len) {
    ssize_t n = write(f->fd, f->data + off, f->len - off);
    PROG_CHECK(n > 0);
    off += (size_t)n;
  }
  close(f->fd);
  return NULL;
}

/* splice everything from in to out in blocking calls; the total. */
static size_t splice_all(int in, int out) {
  size_t total = 0;
  ssize_t n;
  while ((n = splice(in, NULL, out, NULL, 1 << 20, SPLICE_F_MOVE)) > 0) total += (size_t)n;
  PROG_CHECK(n == 0);
  return total;
}

static void splice_cases(int file, const unsigned char *data) {
  int p[2], sv[2], q[2];
  pthread_t t, w;
  reader_t r;
  feeder_t f;
  size_t total;

  lseek(file, 0, SEEK_SET); /* file -> pipe */
  PROG_CHECK(pipe(p) == 0);
  start_reader(&t, &r, p[0], 0);
  total = splice_all(file, p[1]);
  close(p[1]);
  printf("splice file->pipe: %zu bytes\n", total);
  finish("splice file->pipe", t, &r, expect_big);

  PROG_CHECK(pipe(p) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0); /* pipe -> socket */
  f = (feeder_t){p[1], data, BIG};
  PROG_CHECK(pthread_create(&w, NULL, feed, &f) == 0);
  start_reader(&t, &r, sv[1], 0);
  total = splice_all(p[0], sv[0]);
  close(sv[0]);
  close(p[0]);
  printf("splice pipe->socket: %zu bytes\n", total);
  PROG_CHECK(pthread_join(w, NULL) == 0);
  finish("splice pipe->socket", t, &r, expect_big);

  tcp_pair(sv); /* TCP socket -> pipe */
  PROG_CHECK(pipe(q) == 0);
  f = (feeder_t){sv[0], data, BIG};
  PROG_CHECK(pthread_create(&w, NULL, feed, &f) == 0);
  start_reader(&t, &r, q[0], 0);
  total = splice_all(sv[1], q[1]);
  close(q[1]);
  close(sv[1]);
  printf("splice tcp->pipe: %zu bytes\n", total);
  PROG_CHECK(pthread_join(w, NULL) == 0);
  finish("splice tcp->pipe", t, &r, expect_big);
}

/* tee from one pipe into another that a slow thread reads, then consume the first. */
static void tee_case(const unsigned char *data) {
  int a[2], b[2];
  pthread_t t, w;
  reader_t r;
  feeder_t f;
  size_t total = 0, drained = 0;
  ssize_t n;
  static unsigned char sink[65536];
  PROG_CHECK(pipe(a) == 0 && pipe(b) == 0);
  f = (feeder_t){a[1], data, SMALL};
  PROG_CHECK(pthread_create(&w, NULL, feed, &f) == 0);
  start_reader(&t, &r, b[0], 1);
  while ((n = tee(a[0], b[1], SMALL, 0)) > 0) {
    total += (size_t)n;
    for (ssize_t k = 0; k < n;) { /* take what was copied out of the first pipe */
      ssize_t m = read(a[0], sink, (size_t)(n - k) < sizeof sink ? (size_t)(n - k) : sizeof sink);
      PROG_CHECK(m > 0);
      k += m;
      drained += (size_t)m;
    }
  }
  PROG_CHECK(n == 0);
  close(b[1]);
  close(a[0]);
  printf("tee: %zu bytes copied, %zu drained\n", total, drained);
  PROG_CHECK(pthread_join(w, NULL) == 0);
  finish("tee", t, &r, expect_small);
}

static void vmsplice_case(const unsigned char *data) {
  int p[2];
  pthread_t t;
  reader_t r;
  size_t off = 0;
  PROG_CHECK(pipe(p) == 0);
  start_reader(&t, &r, p[0], 1);
  while (off < SMALL) {
    struct iovec v = {(void *)(data + off), SMALL - off};
    ssize_t n = vmsplice(p[1], &v, 1, 0);
    PROG_CHECK(n > 0);
    off += (size_t)n;
  }
  close(p[1]);
  printf("vmsplice: %zu bytes\n", off);
  finish("vmsplice", t, &r, expect_small);
}

static void copy_file_range_case(int file, const char *dir) {
  char path[4096];
  int out, p[2];
  loff_t in_off = 0;
  ssize_t n;
  unsigned char *back = malloc(SMALL);
  snprintf(path, sizeof path, "%s/splice_threads_copy_XXXXXX", dir);
  PROG_CHECK(back && (out = mkstemp(path)) >= 0 && unlink(path) == 0);
  n = copy_file_range(file, &in_off, out, NULL, SMALL, 0);
  PROG_CHECK(pread(out, back, SMALL, 0) == SMALL);
  printf("copy_file_range: %zd bytes, in offset %lld, checksum %s\n", n, (long long)in_off,
         fnv(1469598103934665603ULL, back, SMALL) == expect_small ? "ok" : "WRONG");
  PROG_CHECK(pipe(p) == 0);
  n = copy_file_range(file, NULL, p[1], NULL, 100, 0);
  printf("copy_file_range to a pipe: %zd (%s)\n", n, n < 0 ? strerror(errno) : "no error");
  close(p[0]);
  close(p[1]);
  close(out);
  free(back);
}

int main(void) {
  const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  char path[4096];
  unsigned char *data = pattern(BIG);
  int file, sv[2], p[2];
  double t0 = prog_now();
  signal(SIGPIPE, SIG_IGN);
  expect_big = fnv(1469598103934665603ULL, data, BIG);
  expect_small = fnv(1469598103934665603ULL, data, SMALL);
  snprintf(path, sizeof path, "%s/splice_threads_XXXXXX", dir);
  PROG_CHECK((file = mkstemp(path)) >= 0 && unlink(path) == 0);
  PROG_CHECK(write(file, data, BIG) == BIG);

  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  sendfile_case("sendfile unix", file, sv, 1);
  tcp_pair(sv);
  sendfile_case("sendfile tcp", file, sv, 0);
  PROG_CHECK(pipe(p) == 0);
  {
    pthread_t t;
    reader_t r;
    off_t off = 0;
    size_t total = 0;
    ssize_t n;
    start_reader(&t, &r, p[0], 0);
    while (total < BIG && (n = sendfile(p[1], file, &off, BIG - total)) > 0) total += (size_t)n;
    close(p[1]);
    printf("sendfile pipe: %zu bytes, offset %lld\n", total, (long long)off);
    finish("sendfile pipe", t, &r, expect_big);
  }
  splice_cases(file, data);
  tee_case(data);
  vmsplice_case(data);
  copy_file_range_case(file, dir);
  close(file);
  free(data);
  printf("TOOK %.2f\n", prog_now() - t0);
  return 0;
}
