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

static int listen_loopback(void) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  int one = 1, fd = green_socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4096) != 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
    perror("listen socket");
    exit(1);
  }
  printf("PORT %d\n", ntohs(sa.sin_port));
  fflush(stdout);
  return fd;
}

int main(int argc, char **argv) {
  double life = argc > 1 ? bench_arg_double(argv[1], "max seconds") : 600;
  green_deadline_t d;
  signal(SIGPIPE, SIG_IGN);
  bench_raise_nofile(8192);
  int lfd = listen_loopback();
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
