/* SPDX-License-Identifier: MIT */
/*
 * What the shim leaves to libc: calls a library constructor makes before main() (a mutex, a
 * pipe, a thread created and joined, a sleep), and an atexit handler and a destructor after
 * main() returns; regular files, /dev/zero and /dev/null, and a terminal (a pseudo-terminal
 * pair), used by threads while other threads sleep. Each step prints what it saw; nothing
 * may hang or fail at start-up or exit.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <termios.h>

#include "prog.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *double_it(void *arg) {
  usleep(1000);
  return (void *)((intptr_t)arg * 2);
}

/* A pipe round trip, a mutex, a thread and a sleep: what a library's set-up might do. */
static void busy_outside_main(const char *when) {
  pthread_t t;
  void *r = NULL;
  int p[2];
  char c = '?';
  struct timespec ms = {0, 1000000};
  PROG_CHECK(pthread_mutex_lock(&lock) == 0 && pthread_mutex_unlock(&lock) == 0);
  PROG_CHECK(pipe(p) == 0 && write(p[1], "x", 1) == 1 && read(p[0], &c, 1) == 1);
  PROG_CHECK(pthread_create(&t, NULL, double_it, (void *)(intptr_t)21) == 0 && pthread_join(t, &r) == 0);
  PROG_CHECK(nanosleep(&ms, NULL) == 0);
  close(p[0]);
  close(p[1]);
  printf("%s: pipe gave '%c', thread returned %ld\n", when, c, (long)(intptr_t)r);
}

__attribute__((constructor)) static void before_main(void) { busy_outside_main("constructor"); }
__attribute__((destructor)) static void after_main(void) { busy_outside_main("destructor"); }
static void at_exit(void) { busy_outside_main("atexit handler"); }

static void *sleeper(void *arg) {
  (void)arg;
  usleep(200000);
  return NULL;
}

/* Regular file: write, read back, pread, lseek, and a read at the end. */
static void *file_user(void *arg) {
  char path[] = "/tmp/passthrough.XXXXXX", buf[64] = {0};
  int fd = mkstemp(path);
  (void)arg;
  PROG_CHECK(fd >= 0 && unlink(path) == 0);
  PROG_CHECK(write(fd, "regular file contents\n", 22) == 22);
  PROG_CHECK(lseek(fd, 0, SEEK_SET) == 0);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  ssize_t m = pread(fd, buf + 32, 4, 8);
  ssize_t end = read(fd, buf + 40, 8);
  printf("regular file: read %zd '%.21s', pread %zd '%.4s', at the end %zd\n", n, buf, m, buf + 32, end);
  close(fd);
  return NULL;
}

/* /dev/zero and /dev/null: character devices epoll cannot watch. */
static void *device_user(void *arg) {
  char buf[4096];
  int z = open("/dev/zero", O_RDONLY), nul = open("/dev/null", O_RDWR);
  long sum = 0;
  (void)arg;
  PROG_CHECK(z >= 0 && nul >= 0);
  memset(buf, 1, sizeof buf);
  ssize_t n = read(z, buf, sizeof buf);
  for (size_t i = 0; i < sizeof buf; i++) sum += buf[i];
  printf("/dev/zero: read %zd bytes summing to %ld; /dev/null: write %zd, read %zd\n", n, sum,
         write(nul, buf, 100), read(nul, buf, 100));
  close(z);
  close(nul);
  return NULL;
}

/* A terminal: a line written to a pseudo-terminal's master is read from its slave. */
static void *tty_user(void *arg) {
  char buf[64] = {0};
  int master = posix_openpt(O_RDWR | O_NOCTTY), slave;
  (void)arg;
  PROG_CHECK(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
  PROG_CHECK((slave = open(ptsname(master), O_RDWR | O_NOCTTY)) >= 0);
  PROG_CHECK(write(master, "a line\n", 7) == 7);
  ssize_t n = read(slave, buf, sizeof buf - 1);
  printf("terminal: isatty %d, read %zd '%.6s'\n", isatty(slave), n, buf);
  close(slave);
  close(master);
  return NULL;
}

int main(void) {
  void *(*users[])(void *) = {file_user, device_user, tty_user};
  pthread_t s[2], u[3];
  atexit(at_exit);
  for (int i = 0; i < 2; i++) PROG_CHECK(pthread_create(&s[i], NULL, sleeper, NULL) == 0);
  prog_report_threads();
  for (int i = 0; i < 3; i++) {
    PROG_CHECK(pthread_create(&u[i], NULL, users[i], NULL) == 0);
    PROG_CHECK(pthread_join(u[i], NULL) == 0);
  }
  for (int i = 0; i < 2; i++) PROG_CHECK(pthread_join(s[i], NULL) == 0);
  printf("main returns\n");
  return 0;
}
