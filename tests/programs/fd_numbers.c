/* SPDX-License-Identifier: MIT */
/*
 * The runtime's own fds never show: after a sleep, a thread and a name lookup (the argument;
 * "localhost" by default) the program's first open() gets fd 3, as without the shim, and
 * /proc/self/fd lists only the program's fds; the kernel's fd table keeps its size. A program that closes every fd above 2 — one by
 * one, then with close_range — goes on with threads, sleeps, pipes and lookups as before.
 */
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>

#include "prog.h"

/* The size of the kernel's fd table, which select() and /proc/self/status reveal. */
static void print_fd_table_size(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  PROG_CHECK(f != NULL);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "FDSize:", 7) == 0) printf("fd table: %d\n", atoi(line + 7));
  fclose(f);
}

static void *nap(void *arg) {
  usleep(10000);
  return arg;
}

static void lookup(const char *name) {
  struct addrinfo hints, *res = NULL;
  int rc;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  rc = getaddrinfo(name, "80", &hints, &res);
  printf("lookup %s: %s\n", name, rc == 0 ? "found" : gai_strerror(rc));
  if (res) freeaddrinfo(res);
}

/* The fds /proc/self/fd lists above 2, but for the listing's own. */
static void list_fds(const char *when) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  printf("fds %s:", when);
  PROG_CHECK(d != NULL);
  while ((e = readdir(d)))
    if (e->d_name[0] != '.' && atoi(e->d_name) > 2 && atoi(e->d_name) != dirfd(d))
      printf(" %s", e->d_name);
  printf("\n");
  closedir(d);
}

/* Green I/O after the closes: a thread writes to a pipe after a delay, the main thread reads. */
static void pipe_round(void) {
  int p[2];
  char buf[8] = "";
  prog_later_t later = {0, 50, "ok"};
  pthread_t t;
  PROG_CHECK(pipe(p) == 0);
  later.fd = p[1];
  t = prog_start_later(&later);
  prog_report_threads();
  PROG_CHECK(read(p[0], buf, sizeof buf - 1) == 2);
  pthread_join(t, NULL);
  printf("pipe %d %d: read \"%s\"\n", p[0], p[1], buf);
  close(p[0]);
  close(p[1]);
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "localhost";
  pthread_t t;
  int fd, closed = 0, i;
  usleep(10000);
  PROG_CHECK(pthread_create(&t, NULL, nap, NULL) == 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  lookup(name);
  fd = open("/dev/null", O_RDONLY);
  printf("first open: %d\n", fd);
  list_fds("after the first open");
  print_fd_table_size();
  for (i = 3; i < 1024; i++) closed += close(i) == 0;
  printf("close 3..1023: %d closed\n", closed);
  pipe_round();
  lookup(name);
  PROG_CHECK(open("/dev/null", O_RDONLY) == 3);
  PROG_CHECK(close_range(3, ~0U, 0) == 0);
  list_fds("after close_range");
  pipe_round();
  lookup(name);
  usleep(10000);
  printf("open after all: %d\n", open("/dev/null", O_RDONLY));
  return 0;
}
