/* SPDX-License-Identifier: MIT */
/*
 * echo server on plain libev callbacks, the reference for echo_green: an ev_io read callback
 * that reads once and writes back what it read (a short write parks the rest behind an EV_WRITE
 * watcher). Listens on 127.0.0.1, port 0; prints "PORT n" on stdout. Exits by itself after
 * max_seconds, or when killed.
 *
 * usage: echo_libev [max_seconds]
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "bench.h"

struct conn {
  ev_io io; /* first: the callback casts back */
  size_t off, len; /* pending write: buf[off..len) */
  char buf[4096];
};

static void conn_close(struct ev_loop *loop, struct conn *c) {
  ev_io_stop(loop, &c->io);
  close(c->io.fd);
  free(c);
}

static void conn_watch(struct ev_loop *loop, struct conn *c, int events) {
  ev_io_stop(loop, &c->io);
  ev_io_set(&c->io, c->io.fd, events);
  ev_io_start(loop, &c->io);
}

static void flush_cb(struct ev_loop *loop, struct conn *c) {
  ssize_t n = write(c->io.fd, c->buf + c->off, c->len - c->off);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR)
      conn_close(loop, c);
    return;
  }
  c->off += (size_t)n;
  if (c->off == c->len) {
    c->off = c->len = 0;
    conn_watch(loop, c, EV_READ);
  }
}

static void conn_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct conn *c = (struct conn *)w;
  (void)revents;
  if (c->len) {
    flush_cb(loop, c);
    return;
  }
  ssize_t n = read(w->fd, c->buf, sizeof c->buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    conn_close(loop, c);
    return;
  }
  ssize_t m = write(w->fd, c->buf, (size_t)n);
  if (m == n)
    return;
  if (m < 0 && errno != EAGAIN && errno != EINTR) {
    conn_close(loop, c);
    return;
  }
  c->off = m > 0 ? (size_t)m : 0;
  c->len = (size_t)n;
  conn_watch(loop, c, EV_WRITE);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)revents;
  for (;;) {
    int one = 1, fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        perror("accept4");
      return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    ev_io_init(&c->io, conn_cb, fd, EV_READ);
    ev_io_start(loop, &c->io);
  }
}

static void life_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  (void)w;
  (void)revents;
  ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv) {
  double life = argc > 1 ? bench_arg_double(argv[1], "max seconds") : 600;
  struct ev_loop *loop = ev_default_loop(0);
  ev_io accept_w;
  ev_timer life_w;
  signal(SIGPIPE, SIG_IGN);
  bench_raise_nofile(8192);
  int lfd = bench_listen_loopback(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  ev_io_init(&accept_w, accept_cb, lfd, EV_READ);
  ev_io_start(loop, &accept_w);
  ev_timer_init(&life_w, life_cb, life, 0);
  ev_timer_start(loop, &life_w);
  ev_run(loop, 0);
  return 0;
}
