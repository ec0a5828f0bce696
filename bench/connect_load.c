/* SPDX-License-Identifier: MIT */
/*
 * Connections per second against an echo server on 127.0.0.1: t threads, each in a loop of
 * connect, a 16-byte round trip, and an abortive close (SO_LINGER 0, so no TIME_WAIT piles
 * up), for d seconds. Prints the rate and a RESULT line.
 *
 * usage: connect_load -p port [-t threads] [-d seconds]
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <unistd.h>

#include "bench.h"

static struct sockaddr_in server;
static double stop_at;

static void *cycle(void *arg) {
  long *done = arg;
  char buf[16] = "0123456789abcdef", in[16];
  struct linger lg = {.l_onoff = 1, .l_linger = 0};
  while (bench_now() < stop_at) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0) break;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    if (connect(fd, (struct sockaddr *)&server, sizeof server) == 0 &&
        write(fd, buf, sizeof buf) == (ssize_t)sizeof buf &&
        read(fd, in, sizeof in) > 0)
      ++*done;
    close(fd);
  }
  return NULL;
}

int main(int argc, char **argv) {
  long nthreads = 4, port = 0, done[64] = {0}, total = 0;
  double dur = 2;
  pthread_t t[64];
  int opt;
  while ((opt = getopt(argc, argv, "p:t:d:")) != -1) {
    switch (opt) {
    case 'p': port = bench_arg_long(optarg, "port"); break;
    case 't': nthreads = bench_arg_long(optarg, "threads"); break;
    case 'd': dur = bench_arg_double(optarg, "seconds"); break;
    default: port = 0; optind = argc; break;
    }
  }
  if (!port) {
    fprintf(stderr, "usage: %s -p port [-t threads] [-d seconds]\n", argv[0]);
    return 2;
  }
  if (nthreads > 64) nthreads = 64;
  server.sin_family = AF_INET;
  server.sin_port = htons((uint16_t)port);
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  double t0 = bench_now();
  stop_at = t0 + dur;
  for (long i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, cycle, &done[i]);
  for (long i = 0; i < nthreads; i++) pthread_join(t[i], NULL), total += done[i];
  double rate = (double)total / (bench_now() - t0);
  printf("%ld connections in %.2f s: %.0f conn/s\n", total, bench_now() - t0, rate);
  printf("RESULT conn_per_s=%.0f conn/s\n", rate);
  return 0;
}
