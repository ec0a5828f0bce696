/* SPDX-License-Identifier: MIT */
/*
 * Signals and blocking calls: a handler without SA_RESTART interrupts a read (EINTR), one
 * with SA_RESTART lets it go on; sleeps and poll end with EINTR either way (nanosleep says
 * how much time was left); sigwait in a thread takes a blocked signal; pause in the main
 * thread returns on a signal another thread sends; a SIGCHLD handler runs while waitpid
 * waits; calls made inside a handler work.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "prog.h"

static volatile sig_atomic_t got_usr1, got_alrm, got_chld;
static int pipe_fd[2];

static void on_usr1(int sig) {
  (void)sig;
  got_usr1++;
  /* a call inside a handler: goes straight to libc */
  if (write(pipe_fd[1], "h", 1) != 1) _exit(3);
}
static void on_alrm(int sig) { (void)sig; got_alrm++; }
static void on_chld(int sig) { (void)sig; got_chld++; }

static void handle(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  PROG_CHECK(sigaction(sig, &sa, NULL) == 0);
}

static void *late_writer(void *arg) {
  (void)arg;
  usleep(400000);
  PROG_CHECK(write(pipe_fd[1], "w", 1) == 1);
  return NULL;
}

static pthread_t main_thread;

static void *kicker(void *arg) {
  (void)arg;
  usleep(100000);
  PROG_CHECK(pthread_kill(main_thread, SIGUSR1) == 0);
  return NULL;
}

static void *waiter(void *arg) {
  sigset_t set;
  int sig = 0;
  (void)arg;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  PROG_CHECK(sigwait(&set, &sig) == 0);
  return (void *)(long)sig;
}

int main(void) {
  char c;
  ssize_t n;
  pthread_t t;
  struct timespec ts = {.tv_sec = 5, .tv_nsec = 0}, rem;
  struct pollfd pfd;
  sigset_t block;
  void *res;
  double t0;
  int r, st;
  main_thread = pthread_self();
  PROG_CHECK(pipe(pipe_fd) == 0);

  handle(SIGALRM, on_alrm, 0);
  alarm(1);
  t0 = prog_now();
  errno = 0;
  n = read(pipe_fd[0], &c, 1);
  printf("read, alarm without SA_RESTART: %zd, %s, handler ran %d\n", n, strerror(errno), got_alrm);
  prog_check_elapsed("interrupted read", prog_now() - t0, 0.9, 2.0);

  handle(SIGALRM, on_alrm, SA_RESTART);
  PROG_CHECK(pthread_create(&t, NULL, late_writer, NULL) == 0);
  prog_report_threads();
  ualarm(100000, 0);
  n = read(pipe_fd[0], &c, 1);
  printf("read, alarm with SA_RESTART: %zd '%c', handler ran %d\n", n, c, got_alrm);
  PROG_CHECK(pthread_join(t, NULL) == 0);

  ualarm(100000, 0);
  errno = 0;
  r = nanosleep(&ts, &rem);
  printf("nanosleep, alarm with SA_RESTART: %d, %s, about %ld s left\n", r, strerror(errno),
         (long)(rem.tv_sec + (rem.tv_nsec > 500000000L)));
  ualarm(100000, 0);
  pfd.fd = pipe_fd[0], pfd.events = POLLIN;
  errno = 0;
  r = poll(&pfd, 1, 5000);
  printf("poll, alarm with SA_RESTART: %d, %s\n", r, strerror(errno));

  handle(SIGUSR1, on_usr1, SA_RESTART);
  PROG_CHECK(pthread_create(&t, NULL, kicker, NULL) == 0);
  errno = 0;
  r = pause();
  printf("pause: %d, %s, USR1 handler ran %d\n", r, strerror(errno), got_usr1);
  PROG_CHECK(read(pipe_fd[0], &c, 1) == 1 && c == 'h');
  PROG_CHECK(pthread_join(t, NULL) == 0);

  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  PROG_CHECK(pthread_sigmask(SIG_BLOCK, &block, NULL) == 0);
  PROG_CHECK(pthread_create(&t, NULL, waiter, NULL) == 0);
  usleep(50000);
  PROG_CHECK(kill(getpid(), SIGUSR2) == 0);
  PROG_CHECK(pthread_join(t, &res) == 0);
  printf("sigwait in a thread: %s\n", (long)res == SIGUSR2 ? "SIGUSR2" : "other");

  handle(SIGCHLD, on_chld, SA_RESTART);
  pid_t pid = fork();
  if (pid == 0) {
    usleep(100000);
    _exit(5);
  }
  PROG_CHECK(waitpid(pid, &st, 0) == pid);
  printf("waitpid with a SIGCHLD handler: status %d, handler ran %d\n", WEXITSTATUS(st), got_chld);
  return 0;
}
