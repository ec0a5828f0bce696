/* SPDX-License-Identifier: MIT */
/*
 * echo server on libgreen: one greenlet per connection, green_read + green_write. Listens on
 * 127.0.0.1, port 0, through green_listen (one accept loop per hub); prints "PORT n" on
 * stdout. Exits by itself after max_seconds (a scoped deadline on each accept loop), then
 * prints "ACCEPTED n0 n1 ...": the connections each hub accepted. Or ends when killed.
 *
 * usage: echo_green [-j hubs] [-w us] [max_seconds]
 *   -j  hubs (green_hubs_start), each with its accept loop and its connections' greenlets
 *   -w  CPU work per request: hashes the request's bytes over and over for this many
 *       microseconds before the echo (a real loop, not a sleep; as echo_threads -w)
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "bench.h"
#include "green.h"

static double work_s; /* -w, in seconds */
static double life = 600;
static green_listener_t *listener;
static volatile unsigned long sink; /* keeps the hashing from being optimised away */

/* FNV-1a over buf, again and again, until `work_s` has passed. */
static void burn(const unsigned char *buf, ssize_t n) {
  double end = bench_now() + work_s;
  unsigned long h = 1469598103934665603UL;
  do {
    for (ssize_t i = 0; i < n; i++) h = (h ^ buf[i]) * 1099511628211UL;
  } while (bench_now() < end);
  sink = h;
}

static void *serve(void *arg) {
  int fd = (int)(intptr_t)arg;
  unsigned char buf[4096];
  for (;;) {
    ssize_t n = green_read(fd, buf, sizeof buf);
    if (n <= 0) break;
    if (work_s > 0) burn(buf, n);
    if (green_write(fd, buf, (size_t)n) != n) break;
  }
  green_close(fd);
  return NULL;
}

static void *accept_loop(void *arg) {
  long *accepted = arg;
  green_deadline_t d;
  green_deadline_enter(&d, life);
  for (;;) {
    int fd = green_listen_accept(listener, NULL, NULL);
    if (fd < 0) {
      if (errno == ETIMEDOUT || errno == ECANCELED || errno == EBADF) break;
      perror("green_listen_accept");
      green_sleep(0.01); /* EMFILE and the like: let connections end */
      continue;
    }
    int one = 1;
    ++*accepted;
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
  return NULL;
}

int main(int argc, char **argv) {
  long nhubs = 1;
  int opt;
  while ((opt = getopt(argc, argv, "j:w:")) != -1) {
    switch (opt) {
    case 'j': nhubs = bench_arg_long(optarg, "hubs"); break;
    case 'w': work_s = bench_arg_double(optarg, "microseconds") * 1e-6; break;
    default:
      fprintf(stderr, "usage: %s [-j hubs] [-w us] [max_seconds]\n", argv[0]);
      return 2;
    }
  }
  if (optind < argc) life = bench_arg_double(argv[optind], "max seconds");
  signal(SIGPIPE, SIG_IGN);
  bench_raise_nofile(8192);

  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  green_hub_t *hubs[64];
  green_t *loops[64];
  long accepted[64] = {0};
  if (nhubs > 64) nhubs = 64;
  if (!(listener = green_listen((struct sockaddr *)&sa, sizeof sa, 4096)) ||
      green_listen_addr(listener, (struct sockaddr *)&sa, &len) != 0 ||
      green_hubs_start((size_t)nhubs, hubs) != 0) {
    perror("echo_green: listen or hubs");
    return 1;
  }
  printf("PORT %d\n", ntohs(sa.sin_port));
  fflush(stdout);
  for (long i = 0; i < nhubs; i++)
    if (!(loops[i] = green_spawn_on(hubs[i], accept_loop, &accepted[i]))) {
      perror("green_spawn_on");
      return 1;
    }
  for (long i = 0; i < nhubs; i++) green_join(loops[i], NULL, -1);
  green_listen_close(listener);
  printf("ACCEPTED");
  for (long i = 0; i < nhubs; i++) printf(" %ld", accepted[i]);
  printf("\n");
  for (long i = 0; i < nhubs; i++) green_hub_stop(hubs[i]);
  return 0;
}
