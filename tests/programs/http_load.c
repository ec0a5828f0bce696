/* SPDX-License-Identifier: MIT */
/*
 * A load client for the HTTP tests: N threads each open a connection to 127.0.0.1:PORT;
 * once all are connected they send "GET /rI HTTP/1.0" together and read the answers. While
 * they wait, the main thread asks GET /threads on a connection of its own (the server's OS
 * thread count with N requests in flight). Prints the answers' digest, the server's thread
 * count ("THREADS n": the server's, not this program's) and the time from the requests to
 * the last answer ("TOOK s").
 *
 *   http_load PORT N
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#include "prog.h"

static struct sockaddr_in addr;
static long n, connected, answered_ok;
static int gate[2];

static int dial(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) prog_die("connect");
  return fd;
}

/* Send a GET for path on fd, read the whole answer into buf (NUL-terminated). */
static size_t get(int fd, const char *path, char *buf, size_t len) {
  char req[128];
  size_t got = 0;
  ssize_t r;
  int m = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
  if (write(fd, req, (size_t)m) != m) prog_die("write");
  while (got < len - 1 && (r = read(fd, buf + got, len - 1 - got)) > 0) got += (size_t)r;
  buf[got] = '\0';
  close(fd);
  return got;
}

static void *client(void *arg) {
  long id = (long)(intptr_t)arg;
  char path[32], buf[4096], want[64], c;
  int fd = dial();
  __atomic_add_fetch(&connected, 1, __ATOMIC_RELEASE);
  if (read(gate[0], &c, 1) != 0) prog_die("gate");
  snprintf(path, sizeof path, "/r%ld", id);
  snprintf(want, sizeof want, "slow answer for %s\n", path);
  get(fd, path, buf, sizeof buf);
  if (strncmp(buf, "HTTP/1.0 200", 12) == 0 && strstr(buf, want))
    __atomic_add_fetch(&answered_ok, 1, __ATOMIC_RELAXED);
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t *t;
  char buf[4096], *body;
  double t0;
  if (argc != 3) {
    fprintf(stderr, "usage: %s PORT N\n", argv[0]);
    return 2;
  }
  prog_raise_nofile();
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(argv[1]));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  n = atol(argv[2]);
  PROG_CHECK(n > 0 && (t = calloc((size_t)n, sizeof *t)) && pipe(gate) == 0);
  for (long i = 0; i < n; i++)
    PROG_CHECK(pthread_create(&t[i], NULL, client, (void *)(intptr_t)i) == 0);
  while (__atomic_load_n(&connected, __ATOMIC_ACQUIRE) < n) usleep(1000);
  t0 = prog_now();
  close(gate[1]);
  usleep(100000); /* the requests are in; their handlers sleep */
  get(dial(), "/threads", buf, sizeof buf);
  body = strstr(buf, "\r\n\r\n");
  printf("THREADS %ld\n", body ? atol(body + 4) : -1L);
  for (long i = 0; i < n; i++) PROG_CHECK(pthread_join(t[i], NULL) == 0);
  printf("TOOK %.3f\n", prog_now() - t0);
  printf("%ld requests, %ld answered 200 with their own body\n", n, answered_ok);
  get(dial(), "/quit", buf, sizeof buf);
  free(t);
  return answered_ok == n ? 0 : 1;
}
