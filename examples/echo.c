/* SPDX-License-Identifier: MIT */
/*
 * echo: an echo server greenlet and N client greenlets in one process, on loopback.
 *
 *   echo [-c CLIENTS] [-n ROUNDS] [-s BYTES]
 *   echo -S
 *
 * The server accepts and spawns one greenlet per connection that echoes until EOF: plain
 * blocking-style code, all of it on one OS thread. Each client connects, sends ROUNDS
 * messages and checks every echo byte for byte. Prints the round trips and the wall time.
 * With -S it is the server alone (scripts/soak's): prints "PORT n" and serves until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <green.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int rounds = 100;
static size_t msg_size = 64;
static struct sockaddr_in server_addr;
static long round_trips, failures;

static void *serve_connection(void *arg) {
  int fd = (int)(long)arg;
  char buf[16384];
  ssize_t n;
  while ((n = green_read(fd, buf, sizeof buf)) > 0)
    if (green_write(fd, buf, (size_t)n) != n) break;
  green_close(fd);
  return NULL;
}

static void *serve(void *arg) {
  int lfd = (int)(long)arg, fd;
  for (;;) {
    green_t *g;
    if ((fd = green_accept(lfd, NULL, NULL)) < 0) {
      if (errno == ECANCELED) return NULL; /* killed */
      /* ENOBUFS, EMFILE, a network error of the pending connection...: accept again */
      if (green_sleep(0.001) < 0 && errno == ECANCELED) return NULL;
      continue;
    }
    if (!(g = green_spawn(serve_connection, (void *)(long)fd))) {
      green_close(fd);
      continue;
    }
    green_detach(g);
  }
}

static int read_full(int fd, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = green_read(fd, buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static void *client(void *arg) {
  long id = (long)arg;
  char *out = malloc(msg_size), *in = malloc(msg_size);
  int fd = green_socket(AF_INET, SOCK_STREAM, 0), i;
  if (!out || !in || fd < 0 ||
      green_connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0)
    goto fail;
  for (i = 0; i < rounds; i++) {
    memset(out, 'a' + (int)((id + i) % 26), msg_size);
    if (green_write(fd, out, msg_size) != (ssize_t)msg_size || read_full(fd, in, msg_size) < 0 ||
        memcmp(in, out, msg_size) != 0)
      goto fail;
    round_trips++;
  }
  goto done;
fail:
  fprintf(stderr, "client %ld: %s\n", id, strerror(errno));
  failures++;
done:
  if (fd >= 0) green_close(fd);
  free(out);
  free(in);
  return NULL;
}

static int listen_loopback(void) {
  socklen_t len = sizeof server_addr;
  int fd = green_socket(AF_INET, SOCK_STREAM, 0);
  server_addr.sin_family = AF_INET;
  server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server_addr.sin_port = 0;
  if (fd < 0 || bind(fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0 ||
      listen(fd, 4096) < 0 || getsockname(fd, (struct sockaddr *)&server_addr, &len) < 0)
    return -1;
  return fd;
}

/* Two fds per client (its socket and the server's): make room for them. */
static void raise_fd_limit(long clients) {
  struct rlimit rl;
  rlim_t want = (rlim_t)(2 * clients + 64);
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int main(int argc, char **argv) {
  long clients = 1000, i;
  int opt, lfd, serve_only = 0;
  green_t *server, **gs;
  double start, wall;
  while ((opt = getopt(argc, argv, "c:n:s:S")) != -1) {
    if (opt == 'S') serve_only = 1;
    else if (opt == 'c') clients = atol(optarg);
    else if (opt == 'n') rounds = atoi(optarg);
    else if (opt == 's') msg_size = (size_t)atol(optarg);
    else {
      fprintf(stderr, "usage: %s [-c CLIENTS] [-n ROUNDS] [-s BYTES] | -S\n", argv[0]);
      return 2;
    }
  }
  if (clients < 1 || rounds < 1 || msg_size < 1) {
    fprintf(stderr, "echo: CLIENTS, ROUNDS and BYTES must be positive\n");
    return 2;
  }
  raise_fd_limit(clients);
  if ((lfd = listen_loopback()) < 0) {
    perror("echo: listen on 127.0.0.1");
    return 1;
  }
  if (serve_only) {
    signal(SIGPIPE, SIG_IGN); /* a client that resets must not end the server */
    printf("PORT %d\n", ntohs(server_addr.sin_port));
    fflush(stdout);
    serve((void *)(long)lfd);
    perror("echo: accept");
    return 1;
  }
  server = green_spawn(serve, (void *)(long)lfd);
  gs = calloc((size_t)clients, sizeof *gs);
  start = green_now();
  for (i = 0; i < clients; i++)
    if (!(gs[i] = green_spawn(client, (void *)i))) {
      perror("echo: spawn");
      return 1;
    }
  green_joinall(gs, (size_t)clients, -1);
  wall = green_now() - start;
  green_kill(server);
  green_join(server, NULL, -1);
  green_close(lfd);
  printf("echo: %ld clients x %d round trips of %zu bytes on 127.0.0.1:%d, one OS thread\n",
         clients, rounds, msg_size, ntohs(server_addr.sin_port));
  printf("echo: %ld round trips in %.3f s (%.0f round trips/s), %ld failed clients\n",
         round_trips, wall, (double)round_trips / wall, failures);
  free(gs);
  return failures ? 1 : 0;
}
