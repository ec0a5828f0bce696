/* SPDX-License-Identifier: MIT */
/* Blocking-style I/O on pipes, socketpairs and files: parking, close, kill, deadlines, full
 * writes, scatter reads, and errno parity with libc. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "test.h"

static void fill(unsigned char *buf, size_t n, unsigned seed) {
  size_t i;
  for (i = 0; i < n; i++) buf[i] = (unsigned char)(i * 131 + (i >> 13) + seed);
}

static void close_pair(int fds[2]) {
  ASSERT_OK(green_close(fds[0]));
  ASSERT_OK(green_close(fds[1]));
}

/* ---- parking -------------------------------------------------------------------------- */

typedef struct pipe_io {
  int fd;
  char buf[64];
  ssize_t r;
  int err;
  double took;
  int ticks_then; /* the ticker's count when the read returned */
} pipe_io_t;

static int ticks, ticks_stop;

static void *ticker(void *arg) {
  (void)arg;
  while (!ticks_stop) {
    ticks++;
    ASSERT_OK(green_sleep(0.002));
  }
  return NULL;
}

static void *reader(void *arg) {
  pipe_io_t *io = arg;
  double t0 = test_now();
  io->r = green_read(io->fd, io->buf, sizeof io->buf);
  io->err = errno;
  io->took = test_now() - t0;
  io->ticks_then = ticks;
  return NULL;
}

static void *late_hello(void *arg) {
  int fd = *(int *)arg;
  ASSERT_OK(green_sleep(0.05));
  ASSERT_EQ(green_write(fd, "hello", 5), 5);
  return NULL;
}

/* A reads an empty pipe, B writes to it 50 ms later, a ticker runs meanwhile. */
static void read_parks_only_caller(int pipe_flags) {
  pipe_io_t io = {0};
  green_t *a, *b, *t;
  int p[2];
  ASSERT_OK(pipe2(p, pipe_flags));
  io.fd = p[0];
  ASSERT_TRUE((t = green_spawn(ticker, NULL)) != NULL);
  ASSERT_TRUE((a = green_spawn(reader, &io)) != NULL);
  ASSERT_TRUE((b = green_spawn(late_hello, &p[1])) != NULL);
  ASSERT_OK(green_join(a, NULL, -1));
  ASSERT_OK(green_join(b, NULL, -1));
  ticks_stop = 1;
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(io.r, 5);
  ASSERT_MEM_EQ(io.buf, "hello", 5);
  ASSERT_RANGE(io.took, 0.049, 2.0);
  ASSERT_GE(io.ticks_then, 3);
  close_pair(p);
}

TEST_CASE(read_parks_nonblocking_fd) { read_parks_only_caller(O_NONBLOCK); }

TEST_CASE(read_parks_blocking_fd) { read_parks_only_caller(0); }

TEST_CASE(close_while_reading) {
  pipe_io_t io = {0};
  green_t *a;
  int p[2];
  ASSERT_OK(pipe(p));
  io.fd = p[0];
  ASSERT_TRUE((a = green_spawn(reader, &io)) != NULL);
  green_yield(); /* a parks in its read */
  ASSERT_OK(green_close(p[0]));
  ASSERT_OK(green_join(a, NULL, -1));
  ASSERT_EQ(io.r, -1);
  ASSERT_EQ(io.err, EBADF);
  ASSERT_RANGE(io.took, 0, 1.0);
  ASSERT_OK(close(p[1]));
}

TEST_CASE(kill_during_read) {
  pipe_io_t io = {0};
  green_t *a;
  int p[2];
  ASSERT_OK(pipe(p));
  io.fd = p[0];
  ASSERT_TRUE((a = green_spawn(reader, &io)) != NULL);
  green_yield();
  ASSERT_OK(green_kill(a));
  ASSERT_OK(green_join(a, NULL, -1));
  ASSERT_EQ(io.r, -1);
  ASSERT_EQ(io.err, ECANCELED);
  close_pair(p);
}

/* ---- green_wait_fd -------------------------------------------------------------------- */

TEST_CASE(wait_fd_readable) {
  green_t *b;
  double t0 = test_now();
  int p[2];
  ASSERT_OK(pipe(p));
  ASSERT_TRUE((b = green_spawn(late_hello, &p[1])) != NULL);
  ASSERT_EQ(green_wait_fd(p[0], GREEN_READ, 2.0), GREEN_READ);
  ASSERT_RANGE(test_now() - t0, 0.049, 2.0);
  ASSERT_EQ(green_wait_fd(p[0], GREEN_READ, 0.5), GREEN_READ); /* still readable */
  ASSERT_OK(green_join(b, NULL, -1));
  close_pair(p);
}

TEST_CASE(wait_fd_writable) {
  int s[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
  ASSERT_EQ(green_wait_fd(s[0], GREEN_WRITE, 1.0), GREEN_WRITE);
  ASSERT_EQ(green_wait_fd(s[0], GREEN_READ | GREEN_WRITE, 1.0), GREEN_WRITE); /* no data */
  close_pair(s);
}

TEST_CASE(wait_fd_timeout) {
  double t0 = test_now();
  int p[2];
  ASSERT_OK(pipe(p));
  ASSERT_ERRNO(green_wait_fd(p[0], GREEN_READ, 0.05), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 2.0);
  ASSERT_ERRNO(green_wait_fd(p[0], GREEN_READ, NAN), EINVAL);
  close_pair(p);
}

TEST_CASE(wait_fd_bad_events) {
  int p[2];
  ASSERT_OK(pipe(p));
  ASSERT_ERRNO(green_wait_fd(p[0], 0, 0.5), EINVAL);
  ASSERT_ERRNO(green_wait_fd(p[0], 0x100, 0.5), EINVAL);
  ASSERT_ERRNO(green_wait_fd(p[0], GREEN_READ | 0x100, 0.5), EINVAL);
  ASSERT_OK(close(p[0]));
  ASSERT_OK(close(p[1]));
}

/* A closed fd number that nothing will reuse before the caller's next open. */
static int closed_fd(void) {
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_OK(fd);
  ASSERT_OK(close(fd));
  return fd;
}

TEST_CASE(wait_fd_bad_fd) {
  int fd;
  (void)green_current(); /* the hub's own fds are open before picking a closed number */
  fd = closed_fd();
  ASSERT_ERRNO(green_wait_fd(fd, GREEN_READ, 2.0), EBADF);
  ASSERT_ERRNO(green_wait_fd(9999, GREEN_READ, 2.0), EBADF);
  ASSERT_ERRNO(green_wait_fd(-1, GREEN_WRITE, 2.0), EBADF);
}

/* ---- complete writes ----------------------------------------------------------------- */

enum { BY_WRITE, BY_WRITEV, BY_SEND, BY_SENDMSG };

typedef struct transfer {
  int fd;
  int how;
  const unsigned char *data;
  size_t len;
  ssize_t r;
  int err;
  /* reader side */
  size_t got;
  int mismatch_at; /* -1: all bytes as sent */
} transfer_t;

/* Splits len bytes into six pieces of uneven sizes. */
static int split(const unsigned char *data, size_t len, struct iovec iov[6]) {
  size_t sizes[6] = {len / 8 + 3, len / 4, 1, 100, len / 2, 0}, off = 0;
  int i;
  sizes[5] = len - (sizes[0] + sizes[1] + sizes[2] + sizes[3] + sizes[4]);
  for (i = 0; i < 6; i++) {
    iov[i].iov_base = (void *)(data + off);
    iov[i].iov_len = sizes[i];
    off += sizes[i];
  }
  return 6;
}

static void *transfer_writer(void *arg) {
  transfer_t *t = arg;
  struct iovec iov[6];
  struct msghdr msg = {0};
  msg.msg_iov = iov;
  msg.msg_iovlen = (size_t)split(t->data, t->len, iov);
  switch (t->how) {
  case BY_WRITE: t->r = green_write(t->fd, t->data, t->len); break;
  case BY_WRITEV: t->r = green_writev(t->fd, iov, (int)msg.msg_iovlen); break;
  case BY_SEND: t->r = green_send(t->fd, t->data, t->len, 0); break;
  case BY_SENDMSG: t->r = green_sendmsg(t->fd, &msg, 0); break;
  }
  t->err = errno;
  return NULL;
}

static void *transfer_reader(void *arg) {
  transfer_t *t = arg;
  static unsigned char buf[65536];
  ssize_t n;
  t->mismatch_at = -1;
  while (t->got < t->len && (n = green_read(t->fd, buf, sizeof buf)) > 0) {
    if (t->mismatch_at < 0 && memcmp(buf, t->data + t->got, (size_t)n) != 0)
      t->mismatch_at = (int)t->got;
    t->got += (size_t)n;
  }
  return NULL;
}

/* One call sends len bytes through a socketpair while another greenlet reads them. */
static void transfer(int how, size_t len) {
  unsigned char *data = malloc(len);
  transfer_t w = {0}, r = {0};
  green_t *gw, *gr;
  int s[2];
  ASSERT_TRUE(data != NULL);
  fill(data, len, (unsigned)how);
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
  w.fd = s[0], w.how = how, w.data = data, w.len = len;
  r.fd = s[1], r.data = data, r.len = len;
  ASSERT_TRUE((gw = green_spawn(transfer_writer, &w)) != NULL);
  ASSERT_TRUE((gr = green_spawn(transfer_reader, &r)) != NULL);
  ASSERT_OK(green_join(gw, NULL, -1));
  ASSERT_OK(green_join(gr, NULL, -1));
  if (w.r != (ssize_t)len) TEST_FAIL("sent %zd of %zu bytes (%s)", w.r, len, strerror(w.err));
  ASSERT_EQ(r.got, len);
  ASSERT_EQ(r.mismatch_at, -1);
  close_pair(s);
  free(data);
}

TEST_CASE(write_8mib) { transfer(BY_WRITE, 8 << 20); }

TEST_CASE(writev_4mib) { transfer(BY_WRITEV, 4 << 20); }

TEST_CASE(send_8mib) { transfer(BY_SEND, 8 << 20); }

TEST_CASE(sendmsg_4mib) { transfer(BY_SENDMSG, 4 << 20); }

/* ---- scatter reads ------------------------------------------------------------------- */

TEST_CASE(readv_scatter) {
  char a[3], b[4], c[5];
  struct iovec iov[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
  int p[2];
  ASSERT_OK(pipe(p));
  ASSERT_EQ(green_write(p[1], "abcdefghij", 10), 10);
  ASSERT_EQ(green_readv(p[0], iov, 3), 10);
  ASSERT_MEM_EQ(a, "abc", 3);
  ASSERT_MEM_EQ(b, "defg", 4);
  ASSERT_MEM_EQ(c, "hij", 3);
  close_pair(p);
}

static void *recvmsg_reader(void *arg) {
  int fd = *(int *)arg;
  char a[2], b[6], c[8];
  struct iovec iov[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
  struct msghdr msg = {0};
  msg.msg_iov = iov;
  msg.msg_iovlen = 3;
  ASSERT_EQ(green_recvmsg(fd, &msg, 0), 12); /* parks first: nothing sent yet */
  ASSERT_MEM_EQ(a, "01", 2);
  ASSERT_MEM_EQ(b, "234567", 6);
  ASSERT_MEM_EQ(c, "89ab", 4);
  return NULL;
}

TEST_CASE(recvmsg_scatter) {
  green_t *g;
  int s[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s));
  ASSERT_TRUE((g = green_spawn(recvmsg_reader, &s[1])) != NULL);
  green_yield();
  ASSERT_EQ(green_send(s[0], "0123456789ab", 12, 0), 12);
  ASSERT_OK(green_join(g, NULL, -1));
  close_pair(s);
}

static void *send_in_two(void *arg) {
  int fd = *(int *)arg;
  ASSERT_EQ(green_send(fd, "0123", 4, 0), 4);
  ASSERT_OK(green_sleep(0.02));
  ASSERT_EQ(green_send(fd, "456789", 6, 0), 6);
  return NULL;
}

/* MSG_WAITALL on a stream socket waits for all it asked, across sends, in recvmsg as in
 * recv (the kernel's answer to MSG_WAITALL | MSG_DONTWAIT is what it has). */
TEST_CASE(recvmsg_waitall) {
  char a[3], b[7];
  struct iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
  green_t *g;
  int s[2];
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
  ASSERT_TRUE((g = green_spawn(send_in_two, &s[0])) != NULL);
  ASSERT_EQ(green_recvmsg(s[1], &msg, MSG_WAITALL), 10);
  ASSERT_MEM_EQ(a, "012", 3);
  ASSERT_MEM_EQ(b, "3456789", 7);
  ASSERT_OK(green_join(g, NULL, -1));
  close_pair(s);
}

/* ---- errno parity with libc ---------------------------------------------------------- */

/* Bad arguments the compiler cannot see (it warns about literal ones). */
static void *volatile null_buf = NULL;
static volatile int minus_one = -1;

/* Every call on fd as libc and as libgreen: same result, same errno. */
static void same_as_libc(int fd) {
  char buf[16] = {0};
  struct iovec iov = {buf, sizeof buf};
  struct msghdr msg = {0};
  struct sockaddr_in sin = test_loopback(9);
  struct sockaddr *sa = (struct sockaddr *)&sin;
  socklen_t len = sizeof sin;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ASSERT_SAME_RESULT(read(fd, buf, sizeof buf), green_read(fd, buf, sizeof buf));
  ASSERT_SAME_RESULT(write(fd, buf, sizeof buf), green_write(fd, buf, sizeof buf));
  ASSERT_SAME_RESULT(readv(fd, &iov, 1), green_readv(fd, &iov, 1));
  ASSERT_SAME_RESULT(writev(fd, &iov, 1), green_writev(fd, &iov, 1));
  ASSERT_SAME_RESULT(recv(fd, buf, sizeof buf, 0), green_recv(fd, buf, sizeof buf, 0));
  ASSERT_SAME_RESULT(send(fd, buf, sizeof buf, 0), green_send(fd, buf, sizeof buf, 0));
  ASSERT_SAME_RESULT(recvfrom(fd, buf, sizeof buf, 0, NULL, NULL),
                     green_recvfrom(fd, buf, sizeof buf, 0, NULL, NULL));
  ASSERT_SAME_RESULT(sendto(fd, buf, sizeof buf, 0, sa, len),
                     green_sendto(fd, buf, sizeof buf, 0, sa, len));
  ASSERT_SAME_RESULT(recvmsg(fd, &msg, 0), green_recvmsg(fd, &msg, 0));
  ASSERT_SAME_RESULT(sendmsg(fd, &msg, 0), green_sendmsg(fd, &msg, 0));
  ASSERT_SAME_RESULT(accept(fd, NULL, NULL), green_accept(fd, NULL, NULL));
  ASSERT_SAME_RESULT(accept4(fd, NULL, NULL, 0), green_accept4(fd, NULL, NULL, 0));
  ASSERT_SAME_RESULT(connect(fd, sa, len), green_connect(fd, sa, len));
}

/* A call that would block is a test failure, not a hang. */
static void no_hang_enter(green_deadline_t *d) { ASSERT_OK(green_deadline_enter(d, 5.0)); }

TEST_CASE(errno_bad_fd) {
  green_deadline_t d;
  no_hang_enter(&d);
  same_as_libc(-1);
  same_as_libc(closed_fd());
  ASSERT_OK(green_deadline_leave(&d));
}

/* Socket calls on a pipe (with data in it and room for more, so libc does not block). */
TEST_CASE(errno_not_a_socket) {
  green_deadline_t d;
  char buf[4] = "abcd";
  struct sockaddr_in sin = test_loopback(9);
  int p[2];
  no_hang_enter(&d);
  ASSERT_OK(pipe(p));
  ASSERT_EQ(write(p[1], "data", 4), 4);
  ASSERT_SAME_RESULT(recv(p[0], buf, 4, 0), green_recv(p[0], buf, 4, 0));
  ASSERT_SAME_RESULT(send(p[1], buf, 4, 0), green_send(p[1], buf, 4, 0));
  ASSERT_SAME_RESULT(accept(p[0], NULL, NULL), green_accept(p[0], NULL, NULL));
  ASSERT_SAME_RESULT(connect(p[0], (struct sockaddr *)&sin, sizeof sin),
                     green_connect(p[0], (struct sockaddr *)&sin, sizeof sin));
  close_pair(p);
  ASSERT_OK(green_deadline_leave(&d));
}

TEST_CASE(errno_efault) {
  green_deadline_t d;
  int p[2], s[2];
  no_hang_enter(&d);
  ASSERT_OK(pipe(p));
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
  ASSERT_EQ(write(p[1], "abc", 3), 3);
  ASSERT_EQ(write(s[1], "abc", 3), 3);
  ASSERT_SAME_RESULT(read(p[0], null_buf, 3), green_read(p[0], null_buf, 3));
  ASSERT_SAME_RESULT(write(p[1], null_buf, 3), green_write(p[1], null_buf, 3));
  ASSERT_SAME_RESULT(recv(s[0], null_buf, 3, 0), green_recv(s[0], null_buf, 3, 0));
  ASSERT_SAME_RESULT(send(s[0], null_buf, 3, 0), green_send(s[0], null_buf, 3, 0));
  close_pair(p);
  close_pair(s);
  ASSERT_OK(green_deadline_leave(&d));
}

TEST_CASE(errno_peer_closed) {
  green_deadline_t d;
  char buf[4];
  int s[2];
  no_hang_enter(&d);
  signal(SIGPIPE, SIG_IGN);
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
  ASSERT_OK(close(s[1]));
  ASSERT_SAME_RESULT(read(s[0], buf, sizeof buf), green_read(s[0], buf, sizeof buf));
  ASSERT_EQ(green_read(s[0], buf, sizeof buf), 0); /* EOF */
  ASSERT_SAME_RESULT(write(s[0], "x", 1), green_write(s[0], "x", 1));
  ASSERT_SAME_RESULT(send(s[0], "x", 1, 0), green_send(s[0], "x", 1, 0));
  ASSERT_ERRNO(green_write(s[0], "x", 1), EPIPE);
  ASSERT_OK(green_close(s[0]));
  ASSERT_OK(green_deadline_leave(&d));
}

/* A loopback port nothing listens on (it was bound a moment ago). */
static uint16_t closed_port(void) {
  struct sockaddr_in sin = test_loopback(0);
  socklen_t len = sizeof sin;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_OK(fd);
  ASSERT_OK(bind(fd, (struct sockaddr *)&sin, sizeof sin));
  ASSERT_OK(getsockname(fd, (struct sockaddr *)&sin, &len));
  ASSERT_OK(close(fd));
  return ntohs(sin.sin_port);
}

TEST_CASE(errno_connect_refused) {
  green_deadline_t d;
  struct sockaddr_in sin = test_loopback(closed_port());
  struct sockaddr *sa = (struct sockaddr *)&sin;
  int a = socket(AF_INET, SOCK_STREAM, 0), b = green_socket(AF_INET, SOCK_STREAM, 0);
  no_hang_enter(&d);
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_SAME_RESULT(connect(a, sa, sizeof sin), green_connect(b, sa, sizeof sin));
  ASSERT_ERRNO(green_connect(b, sa, 0), EINVAL); /* bad length: no blocking attempt */
  ASSERT_OK(close(a));
  ASSERT_OK(green_close(b));
  ASSERT_OK(green_deadline_leave(&d));
}

TEST_CASE(errno_listening_socket) {
  green_deadline_t d;
  struct sockaddr_in sin = test_loopback(0);
  char buf[4];
  int l = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_STREAM, 0);
  no_hang_enter(&d);
  signal(SIGPIPE, SIG_IGN);
  ASSERT_OK(l);
  ASSERT_OK(u);
  ASSERT_OK(bind(l, (struct sockaddr *)&sin, sizeof sin));
  ASSERT_OK(listen(l, 8));
  ASSERT_SAME_RESULT(read(l, buf, sizeof buf), green_read(l, buf, sizeof buf));
  ASSERT_SAME_RESULT(recv(l, buf, sizeof buf, 0), green_recv(l, buf, sizeof buf, 0));
  ASSERT_SAME_RESULT(write(l, "x", 1), green_write(l, "x", 1));
  /* accept on a socket that does not listen */
  ASSERT_SAME_RESULT(accept(u, NULL, NULL), green_accept(u, NULL, NULL));
  ASSERT_OK(green_close(l));
  ASSERT_OK(green_close(u));
  ASSERT_OK(green_deadline_leave(&d));
}

TEST_CASE(errno_bad_iovcnt) {
  green_deadline_t d;
  char buf[4];
  struct iovec iov = {buf, sizeof buf};
  int p[2];
  no_hang_enter(&d);
  ASSERT_OK(pipe(p));
  ASSERT_EQ(write(p[1], "data", 4), 4);
  ASSERT_SAME_RESULT(readv(p[0], &iov, minus_one), green_readv(p[0], &iov, minus_one));
  ASSERT_SAME_RESULT(writev(p[1], &iov, minus_one), green_writev(p[1], &iov, minus_one));
  ASSERT_ERRNO(green_readv(p[0], &iov, minus_one), EINVAL);
  ASSERT_ERRNO(green_writev(p[1], &iov, minus_one), EINVAL);
  close_pair(p);
  ASSERT_OK(green_deadline_leave(&d));
}

/* ---- deadlines ----------------------------------------------------------------------- */

TEST_CASE(deadline_read) {
  green_deadline_t d;
  double t0 = test_now();
  char buf[4];
  int p[2];
  ASSERT_OK(pipe(p));
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  ASSERT_ERRNO(green_read(p[0], buf, sizeof buf), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 2.0);
  ASSERT_OK(green_deadline_leave(&d));
  close_pair(p);
}

TEST_CASE(deadline_write) {
  enum { BIG = 64 << 20 };
  green_deadline_t d;
  double t0 = test_now();
  char *big = calloc(1, BIG);
  ssize_t r;
  int s[2];
  ASSERT_TRUE(big != NULL);
  ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, s));
  ASSERT_OK(green_deadline_enter(&d, 0.2));
  errno = 0;
  r = green_write(s[0], big, BIG); /* nobody reads: it fills the buffer, then times out */
  if (!((r > 0 && r < BIG) || (r == -1 && errno == ETIMEDOUT)))
    TEST_FAIL("a write past its deadline gave %zd (%s)", r, strerror(errno));
  ASSERT_RANGE(test_now() - t0, 0.199, 2.0);
  ASSERT_ERRNO(green_write(s[0], big, 1), ETIMEDOUT);
  ASSERT_OK(green_deadline_leave(&d));
  close_pair(s);
  free(big);
}

/* ---- regular files ------------------------------------------------------------------- */

TEST_CASE(regular_file) {
  enum { LEN = 1 << 20 };
  green_deadline_t d;
  char path[] = "/tmp/green-test-XXXXXX";
  unsigned char *out = malloc(LEN), *in = malloc(LEN);
  int fd = mkstemp(path);
  ASSERT_OK(fd);
  ASSERT_OK(unlink(path));
  ASSERT_TRUE(out && in);
  fill(out, LEN, 7);
  no_hang_enter(&d);
  ASSERT_EQ(green_write(fd, out, LEN), LEN);
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  ASSERT_EQ(green_read(fd, in, LEN), LEN);
  ASSERT_MEM_EQ(in, out, LEN);
  ASSERT_EQ(green_read(fd, in, LEN), 0); /* EOF */
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_OK(green_close(fd));
  free(out);
  free(in);
}

/* ---- fairness: yielding greenlets cannot starve I/O ------------------------------------ */

static volatile int spin_stop;
static long spins;

static void *spinner(void *arg) {
  (void)arg;
  while (!spin_stop) {
    green_yield();
    spins++;
  }
  return NULL;
}

static void *read_then_stop(void *arg) {
  char c;
  ssize_t r = green_read(*(int *)arg, &c, 1);
  spin_stop = 1;
  return (void *)(intptr_t)r;
}

/* 100 greenlets yield to each other forever, so the ready queue never empties: the hub
 * still polls now and then, and a reader whose pipe became readable gets its turn. */
TEST_CASE(yield_loop_does_not_starve_io) {
  enum { SPINNERS = 100 };
  green_t *g[SPINNERS], *reader;
  void *r;
  int p[2];
  ASSERT_OK(pipe(p));
  ASSERT_PTR_NE(reader = green_spawn(read_then_stop, &p[0]), NULL);
  for (int i = 0; i < SPINNERS; i++) ASSERT_PTR_NE(g[i] = green_spawn(spinner, NULL), NULL);
  green_yield(); /* all of them run once: the reader parks */
  ASSERT_EQ(write(p[1], "x", 1), 1);
  double t0 = test_now();
  ASSERT_OK(green_join(reader, &r, 10)); /* main is queued behind the spinners too */
  ASSERT_EQ((intptr_t)r, 1);
  ASSERT_LT(test_now() - t0, 5.0);
  ASSERT_GT(spins, SPINNERS); /* they did spin meanwhile */
  ASSERT_OK(green_joinall(g, SPINNERS, -1));
  ASSERT_OK(green_close(p[0]));
  close(p[1]);
}
