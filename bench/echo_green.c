/* SPDX-License-Identifier: MIT */
/*
 * echo server on libgreen: one greenlet per connection, green_accept + green_read +
 * green_write. Listens on 127.0.0.1, port 0; prints "PORT n" on stdout. Exits by itself after
 * max_seconds (a scoped deadline on the accept loop), or when killed.
 *
 * usage: echo_green [max_seconds]
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <arpa/inet.h>

#include "bench.h"
#include "green.h"

static void *serve(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[4096];
  for (;;) {
    ssize_t n = green_read(fd, buf, sizeof buf);
    if (n <= 0 || green_write(fd, buf, (size_t)n) != n)
      break;
  }
  green_close(fd);
  return NULL;
}

int main(int argc, char **argv) {
  double life = argc > 1 ? bench_arg_double(argv[1], "max seconds") : 600;
  green_deadline_t d;
  signal(SIGPIPE, SIG_IGN);
  bench_raise_nofile(8192);
  int lfd = bench_listen_loopback(green_socket(AF_INET, SOCK_STREAM, 0));
  green_deadline_enter(&d, life);
  for (;;) {
    int fd = green_accept(lfd, NULL, NULL);
    if (fd < 0) {
      if (errno == ETIMEDOUT || errno == ECANCELED)
        break;
      perror("green_accept");
      green_sleep(0.01); /* EMFILE and the like: let connections end */
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    green_t *g = green_spawn(serve, (void *)(intptr_t)fd);
    if (!g) {
      perror("green_spawn");
      green_close(fd);
      continue;
    }
    green_detach(g);
  }
  green_deadline_leave(&d);
  return 0;
}
