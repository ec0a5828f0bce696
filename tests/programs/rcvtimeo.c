/* SPDX-License-Identifier: MIT */
/*
 * SO_RCVTIMEO and SO_SNDTIMEO on blocking sockets: a receive with nothing to read fails with
 * EAGAIN once the timeout passes; a send into a full buffer returns the part it sent, then
 * EAGAIN; accept on a listener with a timeout fails with EAGAIN. All in a second thread,
 * while the main thread sleeps.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "prog.h"

static void set_timeout(int fd, int opt, long ms) {
  struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  PROG_CHECK(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) == 0);
}

static void *checks(void *arg) {
  static char big[1 << 22];
  int sv[2], lfd, one = 1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  char buf[16];
  double t0;
  ssize_t n;
  (void)arg;
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  set_timeout(sv[0], SO_RCVTIMEO, 300);
  t0 = prog_now();
  errno = 0;
  n = recv(sv[0], buf, sizeof buf, 0);
  printf("recv with nothing to read: %zd, %s\n", n, strerror(errno));
  prog_check_elapsed("recv timeout", prog_now() - t0, 0.25, 1.0);
  errno = 0;
  n = read(sv[0], buf, sizeof buf);
  printf("read with nothing to read: %zd, %s\n", n, strerror(errno));
  PROG_CHECK(write(sv[1], "hello", 5) == 5);
  n = read(sv[0], buf, sizeof buf);
  printf("read with data: %zd\n", n);

  set_timeout(sv[1], SO_SNDTIMEO, 300);
  t0 = prog_now();
  n = send(sv[1], big, sizeof big, 0);
  printf("send into a full buffer: %s\n", n > 0 && n < (ssize_t)sizeof big ? "partial" : "not partial");
  prog_check_elapsed("send timeout", prog_now() - t0, 0.25, 1.5);
  errno = 0;
  n = send(sv[1], big, sizeof big, 0);
  printf("send again: %zd, %s\n", n, strerror(errno));

  lfd = socket(AF_INET, SOCK_STREAM, 0);
  PROG_CHECK(setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
  PROG_CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(lfd, 8) == 0);
  set_timeout(lfd, SO_RCVTIMEO, 200);
  t0 = prog_now();
  errno = 0;
  printf("accept with nobody connecting: %d, %s\n", accept(lfd, NULL, NULL), strerror(errno));
  prog_check_elapsed("accept timeout", prog_now() - t0, 0.15, 1.0);
  close(lfd);
  close(sv[0]);
  close(sv[1]);
  return NULL;
}

int main(void) {
  pthread_t t;
  PROG_CHECK(pthread_create(&t, NULL, checks, NULL) == 0);
  usleep(100000);
  prog_report_threads();
  PROG_CHECK(pthread_join(t, NULL) == 0);
  return 0;
}
