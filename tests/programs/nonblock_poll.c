/* SPDX-License-Identifier: MIT */
/*
 * A program's own event loop: fds it made non-blocking (fcntl O_NONBLOCK, ioctl FIONBIO,
 * SOCK_NONBLOCK, pipe2 O_NONBLOCK) keep failing with EAGAIN at once, and poll waits with
 * its timeout. Another thread writes to them now and then. Also shows that a blocking fd
 * the shim parks on stays blocking as far as the kernel is concerned.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "prog.h"

static int sv[2], sv2[2], p[2], sv3[2];

static void *writer(void *arg) {
  (void)arg;
  usleep(100000);
  PROG_CHECK(write(sv[1], "a", 1) == 1);
  usleep(100000);
  PROG_CHECK(write(p[1], "b", 1) == 1);
  usleep(100000);
  PROG_CHECK(write(sv2[1], "c", 1) == 1);
  usleep(100000);
  PROG_CHECK(write(sv3[1], "d", 1) == 1);
  return NULL;
}

static const char *mode(int fd) { return fcntl(fd, F_GETFL) & O_NONBLOCK ? "non-blocking" : "blocking"; }

static void try_read(const char *name, int fd) {
  char c;
  ssize_t n;
  errno = 0;
  n = read(fd, &c, 1);
  if (n == 1) printf("%s: read '%c'\n", name, c);
  else printf("%s: read %zd, %s\n", name, n, strerror(errno));
}

int main(void) {
  pthread_t t;
  int one = 1, ready, left = 4;
  char c;
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv2) == 0);
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv3) == 0);
  PROG_CHECK(pipe2(p, O_NONBLOCK) == 0);
  PROG_CHECK(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == 0);
  PROG_CHECK(ioctl(sv3[0], FIONBIO, &one) == 0);
  try_read("fcntl O_NONBLOCK socket", sv[0]);
  try_read("SOCK_NONBLOCK socket", sv2[0]);
  try_read("FIONBIO socket", sv3[0]);
  try_read("O_NONBLOCK pipe", p[0]);
  PROG_CHECK(pthread_create(&t, NULL, writer, NULL) == 0);
  prog_report_threads();
  struct pollfd fds[4] = {{sv[0], POLLIN, 0}, {p[0], POLLIN, 0}, {sv2[0], POLLIN, 0}, {sv3[0], POLLIN, 0}};
  while (left > 0) {
    ready = poll(fds, 4, 2000);
    if (ready <= 0) prog_die("poll: %d", ready);
    for (int i = 0; i < 4; i++)
      if (fds[i].revents & POLLIN) {
        PROG_CHECK(read(fds[i].fd, &c, 1) == 1);
        printf("poll: fd %d ready, read '%c'\n", i, c);
        fds[i].fd = -fds[i].fd - 1; /* ignored from now on */
        left--;
      }
  }
  printf("poll with nothing to wait for: %d\n", poll(fds, 4, 50));
  try_read("drained socket", sv[0]);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  /* a blocking socket read through the shim is still blocking in the kernel */
  PROG_CHECK(write(sv[0], "e", 1) == 1);
  PROG_CHECK(read(sv[1], &c, 1) == 1);
  printf("blocking end after a read: %s; program's end: %s\n", mode(sv[1]), mode(sv[0]));
  PROG_CHECK(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) & ~O_NONBLOCK) == 0);
  PROG_CHECK(write(sv[1], "f", 1) == 1);
  try_read("made blocking again", sv[0]);
  return 0;
}
