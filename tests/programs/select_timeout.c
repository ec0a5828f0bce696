/* SPDX-License-Identifier: MIT */
/*
 * select and pselect: a timeout with nothing ready (the timeval is left at zero, as Linux
 * does), readiness another thread causes, write readiness, a bad fd (EBADF), and a sleep
 * in the other thread meanwhile.
 */
#include <pthread.h>
#include <sys/select.h>
#include <sys/socket.h>

#include "prog.h"

static int p[2], sv[2];

static void *writer(void *arg) {
  (void)arg;
  usleep(150000);
  PROG_CHECK(write(p[1], "x", 1) == 1);
  usleep(150000);
  PROG_CHECK(write(sv[1], "y", 1) == 1);
  return NULL;
}

int main(void) {
  pthread_t t;
  fd_set rd, wr;
  struct timeval tv;
  struct timespec ts;
  double t0;
  int r;
  char c;
  PROG_CHECK(pipe(p) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);

  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  tv.tv_sec = 0, tv.tv_usec = 200000;
  t0 = prog_now();
  r = select(p[0] + 1, &rd, NULL, NULL, &tv);
  printf("select, nothing ready: %d, read set %s, timeval %ld.%06ld\n", r,
         FD_ISSET(p[0], &rd) ? "kept" : "cleared", (long)tv.tv_sec, (long)tv.tv_usec);
  prog_check_elapsed("select timeout", prog_now() - t0, 0.18, 1.0);

  PROG_CHECK(pthread_create(&t, NULL, writer, NULL) == 0);
  prog_report_threads();
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  FD_SET(sv[0], &rd);
  tv.tv_sec = 5, tv.tv_usec = 0;
  r = select((p[0] > sv[0] ? p[0] : sv[0]) + 1, &rd, NULL, NULL, &tv);
  printf("select, pipe written: %d, pipe %d, socket %d, time left %s\n", r, FD_ISSET(p[0], &rd),
         FD_ISSET(sv[0], &rd), tv.tv_sec >= 4 ? "about 5 s" : "wrong");
  PROG_CHECK(read(p[0], &c, 1) == 1);

  FD_ZERO(&rd);
  FD_SET(sv[0], &rd);
  ts.tv_sec = 5, ts.tv_nsec = 0;
  r = pselect(sv[0] + 1, &rd, NULL, NULL, &ts, NULL);
  printf("pselect, socket written: %d, socket %d\n", r, FD_ISSET(sv[0], &rd));
  PROG_CHECK(read(sv[0], &c, 1) == 1);
  PROG_CHECK(pthread_join(t, NULL) == 0);

  FD_ZERO(&wr);
  FD_SET(sv[0], &wr);
  tv.tv_sec = 1, tv.tv_usec = 0;
  r = select(sv[0] + 1, NULL, &wr, NULL, &tv);
  printf("select for writing: %d, socket %d\n", r, FD_ISSET(sv[0], &wr));

  int closed = dup(p[0]);
  PROG_CHECK(closed >= 0 && close(closed) == 0);
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  FD_SET(closed, &rd);
  tv.tv_sec = 1, tv.tv_usec = 0;
  errno = 0;
  r = select((closed > p[0] ? closed : p[0]) + 1, &rd, NULL, NULL, &tv);
  printf("select with a closed fd: %d, %s\n", r, strerror(errno));
  /* an fd beyond the process's fd table is not looked at: the timeout passes */
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  FD_SET(1000, &rd);
  tv.tv_sec = 0, tv.tv_usec = 100000;
  errno = 0;
  r = select(1001, &rd, NULL, NULL, &tv);
  printf("select with an fd beyond the table: %d, %s\n", r, strerror(errno));
  return 0;
}
