/* SPDX-License-Identifier: MIT */
/*
 * Blocking calls made through syscall() by number: SYS_read and SYS_write between two
 * threads over a pipe; SYS_nanosleep, SYS_clock_nanosleep (relative, absolute), SYS_poll,
 * SYS_ppoll, SYS_pselect6 and SYS_epoll_pwait among threads that must sleep at once (the
 * whole takes about one sleep); the raw shapes (the time left the raw ppoll writes back, the
 * signal set size, clock_nanosleep's -1 + errno, waitid's rusage); and thread ids: gettid()
 * and syscall(SYS_gettid) agree, the main thread's is the process id, every thread's is its
 * own, and tgkill to oneself runs the handler on the sender. Under the unfixed shim the
 * raw read blocks the only OS thread.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "prog.h"

/* ---- a pipe between two threads --------------------------------------------------------- */

static int pipefd[2];

static void *raw_writer(void *arg) {
  (void)arg;
  usleep(50000);
  PROG_CHECK(syscall(SYS_write, pipefd[1], "hello", 5) == 5);
  return NULL;
}

static void pipe_test(void) {
  char buf[16] = {0};
  pthread_t t;
  PROG_CHECK(pipe(pipefd) == 0);
  PROG_CHECK(pthread_create(&t, NULL, raw_writer, NULL) == 0);
  long n = syscall(SYS_read, pipefd[0], buf, sizeof buf);
  pthread_join(t, NULL);
  printf("SYS_read: %ld \"%s\"\n", n, buf);
  close(pipefd[0]);
  close(pipefd[1]);
}

/* ---- a loopback connection: accept in one thread, connect and send in another --------- */

static int listener;

static void *raw_server(void *arg) {
  char buf[16] = {0};
  long c, n;
  (void)arg;
  c = syscall(SYS_accept4, listener, NULL, NULL, SOCK_CLOEXEC);
  PROG_CHECK(c >= 0);
  n = syscall(SYS_recvfrom, c, buf, 10, MSG_WAITALL, NULL, NULL);
  printf("SYS_accept4 and SYS_recvfrom: %ld \"%s\"\n", n, buf);
  PROG_CHECK(syscall(SYS_sendto, c, "bye", 3, 0, NULL, 0) == 3);
  close((int)c);
  return NULL;
}

static void socket_test(void) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  char buf[8] = {0};
  pthread_t t;
  int s;
  PROG_CHECK((listener = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
  PROG_CHECK(bind(listener, (struct sockaddr *)&a, sizeof a) == 0 && listen(listener, 1) == 0);
  PROG_CHECK(getsockname(listener, (struct sockaddr *)&a, &len) == 0);
  PROG_CHECK(pthread_create(&t, NULL, raw_server, NULL) == 0);
  usleep(50000); /* the server waits in accept */
  PROG_CHECK((s = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
  PROG_CHECK(syscall(SYS_connect, s, &a, sizeof a) == 0);
  usleep(50000); /* the server waits in recvfrom for all 10 bytes */
  PROG_CHECK(syscall(SYS_sendto, s, "hello", 5, 0, NULL, 0) == 5);
  usleep(20000);
  PROG_CHECK(syscall(SYS_sendto, s, " raw!", 5, 0, NULL, 0) == 5);
  printf("SYS_recvfrom reply: %ld", syscall(SYS_recvfrom, s, buf, sizeof buf, 0, NULL, NULL));
  printf(" \"%s\"\n", buf);
  pthread_join(t, NULL);
  close(s);
  close(listener);
}

/* ---- sleepers --------------------------------------------------------------------------- */

enum { SLEEP_MS = 200 };
static const struct timespec nap = {0, SLEEP_MS * 1000000L};
static atomic_int sleep_errors;

static void *sleep_nanosleep(void *arg) {
  (void)arg;
  if (syscall(SYS_nanosleep, &nap, NULL) != 0) atomic_fetch_add(&sleep_errors, 1);
  return NULL;
}

static void *sleep_clock(void *arg) {
  (void)arg;
  if (syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &nap, NULL) != 0) atomic_fetch_add(&sleep_errors, 1);
  return NULL;
}

static void *sleep_clock_abs(void *arg) {
  struct timespec at;
  (void)arg;
  clock_gettime(CLOCK_MONOTONIC, &at);
  at.tv_nsec += nap.tv_nsec;
  if (at.tv_nsec >= 1000000000L) at.tv_sec++, at.tv_nsec -= 1000000000L;
  if (syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) != 0)
    atomic_fetch_add(&sleep_errors, 1);
  return NULL;
}

static void *sleep_poll(void *arg) {
  (void)arg;
#ifdef SYS_poll
  if (syscall(SYS_poll, NULL, 0, SLEEP_MS) != 0) atomic_fetch_add(&sleep_errors, 1);
#else
  sleep_nanosleep(NULL);
#endif
  return NULL;
}

static void *sleep_ppoll(void *arg) {
  struct timespec ts = nap;
  sigset_t none;
  (void)arg;
  sigemptyset(&none);
  if (syscall(SYS_ppoll, NULL, 0, &ts, &none, 8) != 0 || ts.tv_sec || ts.tv_nsec)
    atomic_fetch_add(&sleep_errors, 1); /* the raw call writes back the time left: 0 */
  return NULL;
}

static void *sleep_pselect(void *arg) {
  struct timespec ts = nap;
  (void)arg;
  if (syscall(SYS_pselect6, 0, NULL, NULL, NULL, &ts, NULL) != 0) atomic_fetch_add(&sleep_errors, 1);
  return NULL;
}

static void *sleep_epoll(void *arg) {
  struct epoll_event ev;
  sigset_t none;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  (void)arg;
  sigemptyset(&none);
  if (syscall(SYS_epoll_pwait, ep, &ev, 1, SLEEP_MS, &none, 8) != 0) atomic_fetch_add(&sleep_errors, 1);
  close(ep);
  return NULL;
}

static void sleep_test(void) {
  void *(*fns[])(void *) = {sleep_nanosleep, sleep_clock, sleep_clock_abs, sleep_poll,
                           sleep_ppoll, sleep_pselect, sleep_epoll};
  enum { N = sizeof fns / sizeof fns[0], EACH = 2 };
  pthread_t t[N * EACH];
  double t0 = prog_now();
  int i;
  for (i = 0; i < N * EACH; i++) PROG_CHECK(pthread_create(&t[i], NULL, fns[i % N], NULL) == 0);
  prog_report_threads();
  for (i = 0; i < N * EACH; i++) pthread_join(t[i], NULL);
  printf("%d raw sleeps, %d errors\n", N * EACH, atomic_load(&sleep_errors));
  prog_check_elapsed("raw sleeps at once", prog_now() - t0, 0.19, 1.5); /* serially: 2.8 s */
}

/* ---- the raw shapes --------------------------------------------------------------------- */

static void shapes_test(void) {
  struct timespec ts = {0, 1000000L};
  struct rusage ru;
  siginfo_t si;
  sigset_t none;
  long r;
  pid_t pid;
  sigemptyset(&none);
  r = syscall(SYS_ppoll, NULL, 0, &ts, &none, sizeof none);
  printf("ppoll with libc's sigset size: %s\n", r == -1 && errno == EINVAL ? "EINVAL" : "?");
  r = syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &ts, NULL);
  printf("clock_nanosleep on a thread CPU clock: %ld errno %d\n", r, errno);
  ts.tv_nsec = -1;
  r = syscall(SYS_nanosleep, &ts, NULL);
  printf("nanosleep with a bad time: %ld %s\n", r, errno == EINVAL ? "EINVAL" : "?");
  if ((pid = fork()) == 0) {
    usleep(50000);
    _exit(7);
  }
  r = syscall(SYS_waitid, P_PID, pid, &si, WEXITED, &ru);
  printf("waitid with rusage: %ld, status %d, same pid %d\n", r, si.si_status, si.si_pid == pid);
  if ((pid = fork()) == 0) {
    usleep(50000);
    _exit(3);
  }
  int st = 0;
  r = syscall(SYS_wait4, pid, &st, 0, NULL);
  printf("wait4: same pid %d, status %d\n", r == pid, WEXITSTATUS(st));
}

/* ---- thread ids ------------------------------------------------------------------------- */

enum { IDS = 4 };
static pid_t ids[IDS];
static atomic_int sig_tid, id_ready;

static void on_usr2(int sig) {
  (void)sig;
  atomic_store(&sig_tid, (int)gettid());
}

/* A thread's own /proc/self/task/<id> files open (the kernel's say which thread they are:
 * under the shim, the OS thread). */
static void task_files(pid_t me) {
  char path[64];
  FILE *f;
  int fd, ok;
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)me);
  ok = (f = fopen(path, "r")) != NULL;
  if (f) fclose(f);
  printf("fopen of its /proc/self/task/<id>/stat: %d\n", ok);
  snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)getpid(), (int)me);
  ok = (fd = open(path, O_RDONLY)) >= 0;
  if (fd >= 0) close(fd);
  printf("open of its /proc/<pid>/task/<id>/comm: %d\n", ok);
}

static void *who(void *arg) {
  int i = (int)(long)arg;
  pid_t me = gettid();
  cpu_set_t set;
  ids[i] = me;
  if ((pid_t)syscall(SYS_gettid) != me) printf("thread %d: gettid and SYS_gettid differ\n", i);
  if (i == 0) {
    atomic_store(&sig_tid, 0);
    printf("tgkill to self: %d\n", tgkill(getpid(), me, SIGUSR2));
    printf("handler ran on the sender: %d\n", atomic_load(&sig_tid) == me);
    atomic_store(&sig_tid, 0);
    printf("SYS_tgkill to self: %ld\n", syscall(SYS_tgkill, getpid(), me, SIGUSR2));
    printf("handler ran on the sender: %d\n", atomic_load(&sig_tid) == me);
    printf("sched_getaffinity of own id: %d\n", sched_getaffinity(me, sizeof set, &set));
    task_files(me);
  }
  atomic_fetch_add(&id_ready, 1);
  while (atomic_load(&id_ready) < IDS) usleep(1000); /* all alive at once */
  return NULL;
}

static void id_test(void) {
  pthread_t t[IDS];
  int i, j, distinct = 1, not_pid = 1;
  signal(SIGUSR2, on_usr2);
  printf("main: gettid == getpid %d, SYS_gettid == getpid %d\n", gettid() == getpid(),
         (pid_t)syscall(SYS_gettid) == getpid());
  for (i = 0; i < IDS; i++) PROG_CHECK(pthread_create(&t[i], NULL, who, (void *)(long)i) == 0);
  for (i = 0; i < IDS; i++) pthread_join(t[i], NULL);
  for (i = 0; i < IDS; i++) {
    not_pid &= ids[i] != getpid() && ids[i] > 0;
    for (j = 0; j < i; j++) distinct &= ids[i] != ids[j];
  }
  printf("thread ids: distinct %d, none is the process id %d\n", distinct, not_pid);
  printf("tgkill to an ended thread's id: %s\n",
         tgkill(getpid(), ids[1], SIGUSR2) == -1 && errno == ESRCH ? "ESRCH" : "?");
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  pipe_test();
  socket_test();
  sleep_test();
  shapes_test();
  id_test();
  return 0;
}
