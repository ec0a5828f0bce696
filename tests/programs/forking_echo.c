/* SPDX-License-Identifier: MIT */
/*
 * A forking echo server: one child process per connection (socat's fork option, inetd), the
 * parent reaping them from a SIGCHLD handler with waitpid(WNOHANG) while it accepts. Each
 * child echoes on a thread of its own. After NCONN connections the parent waits for the
 * last children and exits.
 *
 *   forking_echo NCONN        prints "PORT n"; then echo_threads client {PORT} ... talks to it
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "prog.h"

static volatile sig_atomic_t reaped, failed;

static void on_chld(int sig) {
  int st, saved = errno;
  (void)sig;
  while (waitpid(-1, &st, WNOHANG) > 0) {
    reaped++;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failed++;
  }
  errno = saved;
}

static void *echo(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[4096];
  ssize_t n, off, w;
  if (write(fd, "G", 1) != 1) return (void *)1; /* echo_threads' client waits for a go */
  while ((n = read(fd, buf, sizeof buf)) > 0)
    for (off = 0; off < n; off += w)
      if ((w = write(fd, buf + off, (size_t)(n - off))) <= 0) return (void *)1;
  return n < 0 ? (void *)1 : NULL;
}

int main(int argc, char **argv) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  struct sigaction act;
  long n = argc > 1 ? atol(argv[1]) : 10, i;
  int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&act, 0, sizeof act);
  act.sa_handler = on_chld;
  act.sa_flags = SA_RESTART;
  PROG_CHECK(sigaction(SIGCHLD, &act, NULL) == 0);
  PROG_CHECK(lfd >= 0 && setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
  PROG_CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(lfd, 128) == 0);
  PROG_CHECK(getsockname(lfd, (struct sockaddr *)&sa, &len) == 0);
  printf("PORT %d\n", ntohs(sa.sin_port));
  fflush(stdout);
  for (i = 0; i < n; i++) {
    int fd = accept(lfd, NULL, NULL);
    pid_t pid;
    if (fd < 0) prog_die("accept");
    if ((pid = fork()) < 0) prog_die("fork");
    if (pid == 0) {
      pthread_t t;
      void *r;
      close(lfd);
      if (pthread_create(&t, NULL, echo, (void *)(intptr_t)fd) != 0 || pthread_join(t, &r) != 0)
        _exit(2);
      _exit(r ? 3 : 0);
    }
    close(fd);
  }
  while (reaped < n) pause();
  printf("served %ld connections in child processes, %d failed\n", n, (int)failed);
  return 0;
}
