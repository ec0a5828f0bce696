/* SPDX-License-Identifier: MIT */
/*
 * Errors and partial transfers, call for call, the same natively and under the shim. From a
 * second thread (so that every call is a green one under the shim): bad fds, bad buffers, bad
 * lengths, reads of nothing, sockets in the wrong state, refused connections, a peer that
 * went away (EPIPE, and death by SIGPIPE in a child), invalid timeouts, short reads,
 * MSG_WAITALL and MSG_PEEK, and the pthread objects' error returns. Each line shows a call's
 * return value and errno.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "prog.h"

/* show: the return value and, when it failed, errno's name in words */
#define SHOW(what, call)                                                                  \
  do {                                                                                    \
    errno = 0;                                                                            \
    long r_ = (long)(call);                                                               \
    int e_ = errno;                                                                       \
    printf("%-44s %ld%s%s\n", what, r_, r_ < 0 ? " " : "", r_ < 0 ? strerror(e_) : ""); \
  } while (0)
/* pthread and clock_nanosleep calls return the error number itself */
#define SHOW_RET(what, call)                                                       \
  do {                                                                             \
    int r_ = (call);                                                               \
    printf("%-44s %d%s%s\n", what, r_, r_ ? " " : "", r_ ? strerror(r_) : "");    \
  } while (0)

#ifdef __SANITIZE_ADDRESS__
#define ASAN 1
#else
#define ASAN 0
#endif

/* Bad pointers the compiler cannot see through. */
static void *volatile null_ptr;
static struct iovec *volatile null_iov;
static volatile int minus_one = -1;

static struct sockaddr_in loopback(uint16_t port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  return sa;
}

/* A port nothing listens on: bound (so nobody else takes it) but never listened. */
static int closed_port(int *holder) {
  struct sockaddr_in sa = loopback(0);
  socklen_t len = sizeof sa;
  *holder = socket(AF_INET, SOCK_STREAM, 0);
  PROG_CHECK(*holder >= 0 && bind(*holder, (struct sockaddr *)&sa, len) == 0);
  PROG_CHECK(getsockname(*holder, (struct sockaddr *)&sa, &len) == 0);
  return ntohs(sa.sin_port);
}

static void fds(void) {
  int p[2], q[2], sv[2];
  char buf[16];
  struct iovec iov = {buf, sizeof buf};
  PROG_CHECK(pipe(p) == 0 && pipe(q) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  close(p[0]);
  SHOW("read(-1)", read(-1, buf, 1));
  SHOW("read(a closed fd)", read(p[0], buf, 1));
  SHOW("write(-1)", write(-1, buf, 1));
  SHOW("recv(a pipe)", recv(p[1], buf, 1, 0));
  SHOW("write(a pipe without reader), SIGPIPE ignored", write(p[1], "x", 1));
  struct msghdr no_iov = {.msg_iov = NULL, .msg_iovlen = 1};
  SHOW("readv(iovcnt -1)", readv(sv[0], &iov, minus_one));
  SHOW("writev(iovcnt IOV_MAX + 1)", writev(sv[0], null_iov, IOV_MAX + 1));
  SHOW("readv(NULL, 1)", readv(sv[0], null_iov, 1));
  SHOW("writev(NULL, 1)", writev(sv[0], null_iov, 1));
  SHOW("recvmsg(msg_iov NULL, msg_iovlen 1)", recvmsg(sv[0], &no_iov, 0));
  SHOW("sendmsg(msg_iov NULL, msg_iovlen 1)", sendmsg(sv[0], &no_iov, 0));
  SHOW("read(socket, buf, 0) with nothing waiting", read(sv[0], buf, 0));
  SHOW("readv(socket, {buf, 0}) with nothing waiting", readv(sv[0], &(struct iovec){buf, 0}, 1));
  SHOW("read(pipe, buf, 0) with nothing waiting", read(q[0], buf, 0));
  SHOW("write(socket, NULL, 10)", write(sv[0], null_ptr, 10));
  SHOW("send(\"ab\")", send(sv[1], "ab", 2, 0));
  SHOW("read(socket, NULL, 10) with data waiting", read(sv[0], null_ptr, 10));
  SHOW("recv(MSG_DONTWAIT): what the bad read left", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
  SHOW("recv(MSG_DONTWAIT) with nothing waiting", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
  close(p[1]);
  close(q[0]);
  close(q[1]);
  close(sv[0]);
  close(sv[1]);
}

static void sockets(void) {
  int holder, port = closed_port(&holder), s = socket(AF_INET, SOCK_STREAM, 0), p[2];
  struct sockaddr_in sa = loopback((uint16_t)port);
  char buf[8];
  PROG_CHECK(s >= 0 && pipe(p) == 0);
  SHOW("recv(an unconnected TCP socket)", recv(s, buf, sizeof buf, 0));
  SHOW("send(an unconnected TCP socket, NOSIGNAL)", send(s, "x", 1, MSG_NOSIGNAL));
  SHOW("accept(a socket that does not listen)", accept(s, NULL, NULL));
  SHOW("accept(a pipe)", accept(p[0], NULL, NULL));
  SHOW("connect(a pipe)", connect(p[0], (struct sockaddr *)&sa, sizeof sa));
  SHOW("connect(addrlen 3)", connect(s, (struct sockaddr *)&sa, 3));
  SHOW("connect(a closed port)", connect(s, (struct sockaddr *)&sa, sizeof sa));
  close(s);
  s = socket(AF_INET, SOCK_DGRAM, 0);
  SHOW("connect(UDP to the closed port)", connect(s, (struct sockaddr *)&sa, sizeof sa));
  SHOW("send(UDP)", send(s, "x", 1, 0));
  usleep(10000);
  SHOW("recv(UDP) after the ICMP error", recv(s, buf, sizeof buf, 0));
  close(s);
  close(holder);
  close(p[0]);
  close(p[1]);
}

static void transfers(void) {
  int sv[2];
  char buf[64] = {0};
  pthread_t t;
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  SHOW("write(\"hello\")", write(sv[1], "hello", 5));
  SHOW("recv(MSG_PEEK, 64)", recv(sv[0], buf, sizeof buf, MSG_PEEK));
  SHOW("read(64): a short read", read(sv[0], buf, sizeof buf));
  SHOW("write(\"hello\")", write(sv[1], "hello", 5));
  prog_later_t world = {sv[1], 20, "world"};
  t = prog_start_later(&world);
  SHOW("recv(MSG_WAITALL, 10): waits for the rest", recv(sv[0], buf, 10, MSG_WAITALL));
  PROG_CHECK(pthread_join(t, NULL) == 0);
  printf("%-44s '%.10s'\n", "  got", buf);
  SHOW("shutdown(SHUT_WR)", shutdown(sv[1], SHUT_WR));
  SHOW("read() after the peer's shutdown", read(sv[0], buf, sizeof buf));
  SHOW("shutdown(a bad how)", shutdown(sv[1], 7));
  close(sv[1]);
  SHOW("send() to a closed peer, NOSIGNAL", send(sv[0], "x", 1, MSG_NOSIGNAL));
  close(sv[0]);
}

/* A child that writes to a socket whose peer has gone, SIGPIPE left at its default. */
static void sigpipe_child(void) {
  int sv[2], st = 0;
  pid_t pid;
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  close(sv[1]);
  PROG_CHECK((pid = fork()) >= 0);
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    (void)!write(sv[0], "x", 1);
    _exit(0);
  }
  PROG_CHECK(waitpid(pid, &st, 0) == pid);
  printf("%-44s %s\n", "write() to a closed peer, default SIGPIPE",
         WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE ? "killed by SIGPIPE" : "survived");
  close(sv[0]);
}

static void waits(void) {
  struct timespec bad = {0, 2000000000L}, past = {0, 0};
  struct pollfd pfd = {.fd = 0, .events = POLLIN};
  struct timeval tv = {0, 0};
  struct rlimit rl;
  PROG_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  SHOW("nanosleep(tv_nsec 2e9)", nanosleep(&bad, NULL));
  SHOW("nanosleep(NULL)", nanosleep(NULL, NULL));
  SHOW_RET("clock_nanosleep(a bad clock)", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &past, NULL));
  SHOW_RET("clock_nanosleep(tv_nsec 2e9)", clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL));
  SHOW_RET("clock_nanosleep(TIMER_ABSTIME, 0)", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL));
  SHOW("usleep(0)", usleep(0));
  SHOW("sleep(0)", sleep(0));
  SHOW("poll(NULL, 1, 10)", poll(null_ptr, 1, 10));
  if (!ASAN) /* AddressSanitizer's poll reads all nfds entries first */
    SHOW("poll(nfds over RLIMIT_NOFILE)", poll(&pfd, (nfds_t)rl.rlim_cur + 1, 10));
  SHOW("poll(no fds, 10 ms)", poll(NULL, 0, 10));
  SHOW("select(nfds -1)", select(-1, NULL, NULL, NULL, &tv));
  tv.tv_usec = -1;
  SHOW("select(tv_usec -1)", select(0, NULL, NULL, NULL, &tv));
}

static void sync_errors(void) {
  pthread_mutex_t m;
  pthread_mutexattr_t a;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER;
  struct timespec bad = {0, 2000000000L}, past = {0, 0};
  sem_t s;
  PROG_CHECK(pthread_mutexattr_init(&a) == 0 && pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK) == 0);
  PROG_CHECK(pthread_mutex_init(&m, &a) == 0);
  SHOW_RET("errorcheck mutex: unlock while unlocked", pthread_mutex_unlock(&m));
  SHOW_RET("errorcheck mutex: lock", pthread_mutex_lock(&m));
  SHOW_RET("errorcheck mutex: lock again", pthread_mutex_lock(&m));
  SHOW_RET("errorcheck mutex: trylock", pthread_mutex_trylock(&m));
  SHOW_RET("errorcheck mutex: unlock", pthread_mutex_unlock(&m));
  SHOW_RET("mutex: clocklock(a CPU clock) while free", pthread_mutex_clocklock(&plain, CLOCK_PROCESS_CPUTIME_ID, &past));
  SHOW_RET("mutex: timedlock(tv_nsec 2e9) while free", pthread_mutex_timedlock(&plain, &bad));
  SHOW_RET("mutex: unlock", pthread_mutex_unlock(&plain));
  SHOW_RET("mutex: lock", pthread_mutex_lock(&plain));
  SHOW_RET("mutex: timedlock(tv_nsec 2e9) while held", pthread_mutex_timedlock(&plain, &bad));
  SHOW_RET("cond: timedwait(the past)", pthread_cond_timedwait(&c, &plain, &past));
  SHOW_RET("cond: timedwait(tv_nsec 2e9)", pthread_cond_timedwait(&c, &plain, &bad));
  SHOW_RET("mutex: unlock", pthread_mutex_unlock(&plain));
  SHOW_RET("join(self)", pthread_join(pthread_self(), NULL));
  PROG_CHECK(sem_init(&s, 0, 0) == 0);
  SHOW("sem_trywait(0)", sem_trywait(&s));
  SHOW("sem_timedwait(the past)", sem_timedwait(&s, &past));
  SHOW("sem_timedwait(tv_nsec 2e9)", sem_timedwait(&s, &bad));
  SHOW("sem_post", sem_post(&s));
  SHOW("sem_timedwait(tv_nsec 2e9) with a count", sem_timedwait(&s, &bad));
  SHOW("sem_init(value over SEM_VALUE_MAX)", sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1u));
  pthread_mutex_destroy(&m);
  pthread_mutexattr_destroy(&a);
}

static void *run_all(void *arg) {
  (void)arg;
  fds();
  sockets();
  transfers();
  sigpipe_child();
  waits();
  sync_errors();
  return NULL;
}

int main(void) {
  pthread_t t;
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  PROG_CHECK(pthread_create(&t, NULL, run_all, NULL) == 0);
  prog_report_threads();
  PROG_CHECK(pthread_join(t, NULL) == 0);
  return 0;
}
