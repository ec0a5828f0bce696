/* SPDX-License-Identifier: MIT */
/* An fd closed with plain close() while the hub still knows it (issue 13, defect 5): a reused
 * number must never block the OS thread, and a greenlet left waiting on the closed fd is
 * named by the watchdog and woken, not left asleep. And the ways each kind of fd is tried
 * without waiting, now that the hub leaves every fd's mode as the program set it. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "test.h"

static int ticks, ticks_stop;

static void *ticker(void *arg) {
  (void)arg;
  while (!ticks_stop) {
    ticks++;
    ASSERT_OK(green_sleep(0.002));
  }
  return NULL;
}

typedef struct waiter {
  int fd;
  double limit; /* a scoped deadline, so a waiter the hub forgot still ends */
  ssize_t r;
  int err;
  double took;
  int ticks_before, ticks_after;
  char buf[16];
} waiter_t;

static void *wait_read(void *arg) {
  waiter_t *w = arg;
  green_deadline_t d;
  double t0 = test_now();
  w->ticks_before = ticks;
  ASSERT_OK(green_deadline_enter(&d, w->limit));
  w->r = green_read(w->fd, w->buf, sizeof w->buf);
  w->err = errno;
  ASSERT_OK(green_deadline_leave(&d));
  w->took = test_now() - t0;
  w->ticks_after = ticks;
  return NULL;
}

typedef struct late_write {
  int fd;
  double after;
} late_write_t;

static void *write_later(void *arg) {
  late_write_t *l = arg;
  ASSERT_OK(green_sleep(l->after));
  ASSERT_EQ(write(l->fd, "hello", 5), 5); /* a plain write: a few bytes never wait */
  return NULL;
}

static green_t *spawn_named(void *(*fn)(void *), void *arg, const char *name) {
  green_t *g = green_spawn(fn, arg);
  ASSERT_TRUE(g != NULL);
  ASSERT_OK(green_set_name(g, name));
  return g;
}

/* Close fd's pipe with plain close(), then make a new blocking pipe whose read end has
 * number fd again. */
static void reuse_number(int p[2], int q[2]) {
  int fd = p[0];
  ASSERT_OK(close(p[0]));
  ASSERT_OK(close(p[1]));
  ASSERT_OK(pipe(q));
  if (q[0] != fd) { /* the lowest free number is another one: put the new file there */
    ASSERT_EQ(dup2(q[0], fd), fd);
    ASSERT_OK(close(q[0]));
    q[0] = fd;
  }
  ASSERT_EQ(fcntl(q[0], F_GETFL) & O_NONBLOCK, 0);
}

/* stderr goes to a temporary file until stop_capture, which returns what was written. */
static int saved_err = -1;
static FILE *captured;

static void start_capture(void) {
  ASSERT_TRUE((captured = tmpfile()) != NULL);
  ASSERT_OK(saved_err = dup(2));
  ASSERT_OK(dup2(fileno(captured), 2));
}

static char *stop_capture(void) {
  static char text[8192];
  size_t n;
  ASSERT_OK(dup2(saved_err, 2));
  ASSERT_OK(close(saved_err));
  rewind(captured);
  n = fread(text, 1, sizeof text - 1, captured);
  text[n] = 0;
  fclose(captured);
  fputs(text, stderr); /* shown when the test fails */
  return text;
}

static void stop_ticker(green_t *t) {
  ticks_stop = 1;
  ASSERT_OK(green_join(t, NULL, -1));
}

/* Greenlet A waits on a pipe; main closes it with close() and a new blocking pipe gets the
 * number; B reads the reused number while a ticker runs. Before the fix B's read was a plain
 * read() on the blocking pipe (the hub remembered the old file as non-blocking): the whole
 * thread blocked, the ticker stopped, and the alarm ended the test. Now B parks: on the
 * watcher of the old file, which epoll dropped, so without the watchdog it times out; the
 * data is there for the next read. */
TEST_CASE(read_of_reused_number_never_blocks_the_thread) {
  waiter_t a = {.limit = 0.5}, b = {.limit = 0.3};
  late_write_t l;
  green_t *t, *ga, *gb, *gw;
  int p[2], q[2];
  char buf[16];
  alarm(10);
  ASSERT_OK(pipe(p));
  a.fd = p[0];
  t = spawn_named(ticker, NULL, "ticker");
  ga = spawn_named(wait_read, &a, "old");
  ASSERT_OK(green_sleep(0.01)); /* a parks on the first pipe */
  reuse_number(p, q);
  b.fd = q[0];
  l = (late_write_t){q[1], 0.05};
  gb = spawn_named(wait_read, &b, "new");
  gw = spawn_named(write_later, &l, "writer");
  ASSERT_OK(green_join(gb, NULL, -1));
  ASSERT_OK(green_join(gw, NULL, -1));
  ASSERT_OK(green_join(ga, NULL, -1));
  stop_ticker(t);
  ASSERT_GE(b.ticks_after - b.ticks_before, 10); /* the thread ran others meanwhile */
  if (b.r == 5) ASSERT_MEM_EQ(b.buf, "hello", 5);
  else {
    ASSERT_EQ(b.r, -1);
    ASSERT_EQ(b.err, ETIMEDOUT);
    ASSERT_EQ(green_read(q[0], buf, sizeof buf), 5);
  }
  ASSERT_EQ(a.r, -1);
  ASSERT_TRUE(a.err == ETIMEDOUT || a.err == EBADF);
  ASSERT_OK(green_close(q[0]));
  ASSERT_OK(green_close(q[1]));
  alarm(0);
}

/* The same for a write to a reused number: a full blocking pipe must park the writer. */
static void *write_much(void *arg) {
  waiter_t *w = arg;
  static char big[1 << 20];
  green_deadline_t d;
  w->ticks_before = ticks;
  ASSERT_OK(green_deadline_enter(&d, w->limit));
  w->r = green_write(w->fd, big, sizeof big);
  w->err = errno;
  ASSERT_OK(green_deadline_leave(&d));
  w->ticks_after = ticks;
  return NULL;
}

TEST_CASE(write_to_reused_number_never_blocks_the_thread) {
  waiter_t w = {.limit = 0.2};
  green_t *t, *g;
  int p[2], q[2], fd;
  alarm(10);
  ASSERT_OK(pipe(p));
  ASSERT_EQ(green_write(p[1], "x", 1), 1); /* the hub learns p[1] */
  fd = p[1];
  ASSERT_OK(close(p[0]));
  ASSERT_OK(close(p[1]));
  ASSERT_OK(pipe(q));
  if (q[1] != fd) {
    ASSERT_EQ(dup2(q[1], fd), fd);
    ASSERT_OK(close(q[1]));
    q[1] = fd;
  }
  w.fd = q[1];
  t = spawn_named(ticker, NULL, "ticker");
  g = spawn_named(write_much, &w, "writer");
  ASSERT_OK(green_join(g, NULL, -1));
  stop_ticker(t);
  ASSERT_GE(w.ticks_after - w.ticks_before, 10);
  ASSERT_GT(w.r, 0); /* what fitted in the pipe, then the deadline */
  ASSERT_LT(w.r, 1 << 20);
  ASSERT_OK(green_close(q[0]));
  ASSERT_OK(green_close(q[1]));
  alarm(0);
}

/* With the watchdog on, a greenlet waiting on an fd closed with close() is named and woken
 * with EBADF within a period or so, instead of sleeping until its deadline. */
TEST_CASE(watchdog_names_waiter_on_closed_fd) {
  waiter_t a = {.limit = 5};
  char want[128], *text;
  green_t *ga;
  int p[2];
  alarm(20);
  ASSERT_OK(green_set_watchdog(0.1));
  ASSERT_OK(pipe(p));
  a.fd = p[0];
  start_capture();
  ga = spawn_named(wait_read, &a, "stuck");
  ASSERT_OK(green_sleep(0.01));
  ASSERT_OK(close(p[0])); /* the write end stays open: nothing but the check can wake a */
  ASSERT_OK(green_join(ga, NULL, -1));
  text = stop_capture();
  ASSERT_EQ(a.r, -1);
  ASSERT_EQ(a.err, EBADF);
  ASSERT_LT(a.took, 1.5);
  snprintf(want, sizeof want,
           "\"stuck\" waits on fd %d, which was closed without green_close: EBADF", p[0]);
  ASSERT_TRUE(strstr(text, want) != NULL);
  ASSERT_EQ(strstr(strstr(text, want) + strlen(want), "waits on fd"), NULL); /* once */
  ASSERT_OK(green_close(p[1]));
  ASSERT_OK(green_set_watchdog(0));
  alarm(0);
}

/* When the number names a new file, the old waiter gets EBADF, and a greenlet that reads the
 * new file gets its data (the watcher is bound to the new file), not a timeout. */
TEST_CASE(watchdog_rebinds_reused_number) {
  waiter_t a = {.limit = 5}, b = {.limit = 4};
  char want[160], *text;
  late_write_t l;
  green_t *ga, *gb, *gw;
  int p[2], q[2];
  alarm(20);
  ASSERT_OK(green_set_watchdog(0.1));
  ASSERT_OK(pipe(p));
  a.fd = p[0];
  start_capture();
  ga = spawn_named(wait_read, &a, "old");
  ASSERT_OK(green_sleep(0.45)); /* checks have seen a's file: 0.25 s left one, on coarse clocks */
  reuse_number(p, q);
  b.fd = q[0];
  l = (late_write_t){q[1], 0.4};
  gb = spawn_named(wait_read, &b, "new");
  gw = spawn_named(write_later, &l, "writer");
  ASSERT_OK(green_join(gb, NULL, -1));
  ASSERT_OK(green_join(gw, NULL, -1));
  ASSERT_OK(green_join(ga, NULL, -1));
  text = stop_capture();
  ASSERT_EQ(a.r, -1);
  ASSERT_EQ(a.err, EBADF);
  ASSERT_LT(a.took, 1.5);
  ASSERT_EQ(b.r, 5);
  ASSERT_MEM_EQ(b.buf, "hello", 5);
  ASSERT_LT(b.took, 2.0);
  snprintf(want, sizeof want, "\"old\" waits on fd %d, which was closed without green_close "
           "(the number names another file now): EBADF", q[0]);
  ASSERT_TRUE(strstr(text, want) != NULL);
  ASSERT_OK(green_close(q[0]));
  ASSERT_OK(green_close(q[1]));
  ASSERT_OK(green_set_watchdog(0));
  alarm(0);
}

/* ---- each kind of fd, its mode left alone ------------------------------------------------ */

static int is_nonblocking(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

TEST_CASE(mode_left_alone) {
  int p[2];
  char c;
  ASSERT_OK(pipe(p));
  ASSERT_EQ(green_write(p[1], "x", 1), 1);
  ASSERT_EQ(green_read(p[0], &c, 1), 1);
  ASSERT_TRUE(!is_nonblocking(p[0]) && !is_nonblocking(p[1]));
  ASSERT_OK(green_close(p[0]));
  ASSERT_OK(green_close(p[1]));
}

/* A tty refuses RWF_NOWAIT: it is polled, then read plainly, and the reader parks. */
TEST_CASE(tty_read_parks) {
  waiter_t b = {.limit = 3};
  late_write_t l;
  green_t *t, *gb, *gw;
  int master, slave;
  alarm(10);
  ASSERT_OK(master = posix_openpt(O_RDWR | O_NOCTTY));
  ASSERT_OK(grantpt(master));
  ASSERT_OK(unlockpt(master));
  ASSERT_OK(slave = open(ptsname(master), O_RDWR | O_NOCTTY));
  b.fd = slave;
  l = (late_write_t){master, 0.05};
  t = spawn_named(ticker, NULL, "ticker");
  gb = spawn_named(wait_read, &b, "reader");
  gw = spawn_named(write_later, &l, "writer");
  ASSERT_OK(green_join(gw, NULL, -1));
  ASSERT_OK(green_sleep(0.02));
  ASSERT_EQ(write(master, "\n", 1), 1); /* ends the line: a canonical tty reads lines */
  ASSERT_OK(green_join(gb, NULL, -1));
  stop_ticker(t);
  ASSERT_EQ(b.r, 6);
  ASSERT_MEM_EQ(b.buf, "hello\n", 6);
  ASSERT_GE(b.ticks_after - b.ticks_before, 10);
  ASSERT_TRUE(!is_nonblocking(slave));
  ASSERT_OK(green_close(slave));
  ASSERT_OK(green_close(master));
  alarm(0);
}

enum { TTY_WRITE = 64 << 10 };

/* Reads a pty's master side until TTY_WRITE bytes came, from 50 ms on. */
static void *drain_master(void *arg) {
  static char buf[4096];
  int fd = *(int *)arg;
  ssize_t n, total = 0;
  ASSERT_OK(green_sleep(0.05));
  while (total < TTY_WRITE && (n = green_read(fd, buf, sizeof buf)) > 0) total += n;
  ASSERT_EQ(total, TTY_WRITE);
  return NULL;
}

/* A tty's output is written through a non-blocking twin: a write larger than the tty takes
 * parks the writer, and the reader of the master side gets to run. Before, it was polled,
 * then written plainly: the OS thread waited for a reader that could never run. */
TEST_CASE(tty_write_parks) {
  static char out[TTY_WRITE];
  struct termios raw;
  green_t *t, *gd;
  int master, slave, before;
  alarm(10);
  ASSERT_OK(master = posix_openpt(O_RDWR | O_NOCTTY));
  ASSERT_OK(grantpt(master));
  ASSERT_OK(unlockpt(master));
  ASSERT_OK(slave = open(ptsname(master), O_RDWR | O_NOCTTY));
  ASSERT_OK(tcgetattr(slave, &raw));
  cfmakeraw(&raw);
  ASSERT_OK(tcsetattr(slave, TCSANOW, &raw));
  memset(out, 'x', sizeof out);
  t = spawn_named(ticker, NULL, "ticker");
  gd = spawn_named(drain_master, &master, "drainer");
  before = ticks;
  ASSERT_EQ(green_write(slave, out, sizeof out), (ssize_t)sizeof out);
  ASSERT_GE(ticks - before, 10);
  ASSERT_OK(green_join(gd, NULL, -1));
  stop_ticker(t);
  ASSERT_TRUE(!is_nonblocking(slave));
  ASSERT_OK(green_close(slave));
  ASSERT_OK(green_close(master));
  alarm(0);
}

/* An eventfd's write side refuses RWF_NOWAIT: polled, then written plainly. */
TEST_CASE(eventfd_write_read) {
  uint64_t one = 1, got = 0;
  int fd = eventfd(0, 0);
  ASSERT_OK(fd);
  ASSERT_EQ(green_write(fd, &one, sizeof one), (ssize_t)sizeof one);
  ASSERT_EQ(green_write(fd, &one, sizeof one), (ssize_t)sizeof one);
  ASSERT_EQ(green_read(fd, &got, sizeof got), (ssize_t)sizeof got);
  ASSERT_EQ(got, 2);
  ASSERT_OK(green_close(fd));
}

static void *connect_later(void *arg) {
  struct sockaddr_in *addr = arg;
  int fd;
  ASSERT_OK(green_sleep(0.05));
  ASSERT_OK(fd = socket(AF_INET, SOCK_STREAM, 0)); /* a blocking socket of the program's */
  ASSERT_OK(green_connect(fd, (struct sockaddr *)addr, sizeof *addr));
  ASSERT_TRUE(!is_nonblocking(fd)); /* made non-blocking for the call only */
  ASSERT_EQ(green_write(fd, "hi", 2), 2);
  ASSERT_OK(green_close(fd));
  return NULL;
}

/* accept on the program's own blocking listener parks the caller, not the thread. */
TEST_CASE(blocking_listener_accept_parks) {
  struct sockaddr_in addr = {.sin_family = AF_INET};
  socklen_t len = sizeof addr;
  green_t *t, *gc;
  int l, c, before;
  char buf[4];
  alarm(10);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_OK(l = socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_OK(bind(l, (struct sockaddr *)&addr, sizeof addr));
  ASSERT_OK(listen(l, 8));
  ASSERT_OK(getsockname(l, (struct sockaddr *)&addr, &len));
  t = spawn_named(ticker, NULL, "ticker");
  gc = spawn_named(connect_later, &addr, "client");
  before = ticks;
  ASSERT_OK(c = green_accept(l, NULL, NULL));
  ASSERT_GE(ticks - before, 10);
  ASSERT_EQ(green_read(c, buf, sizeof buf), 2);
  ASSERT_MEM_EQ(buf, "hi", 2);
  ASSERT_OK(green_join(gc, NULL, -1));
  stop_ticker(t);
  ASSERT_TRUE(!is_nonblocking(l));
  ASSERT_OK(green_close(c));
  ASSERT_OK(green_close(l));
  alarm(0);
}
