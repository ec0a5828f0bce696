/* SPDX-License-Identifier: MIT */
/*
 * The calls the other programs leave out, each waiting on work another thread does:
 * epoll_wait and epoll_pwait (a thread's own event loop), ppoll, accept4 with its flags,
 * sendmmsg and recvmmsg, dup2 and dup3 onto fds in use, the gethostby* family and
 * getnameinfo (answered by the hosts file: no name goes to a DNS server),
 * pthread_cond_clockwait on both clocks, and wait3.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "prog.h"

static void epoll_loop(void) {
  int sv[3][2], ep = epoll_create1(EPOLL_CLOEXEC), i, n, seen = 0;
  prog_later_t l[3];
  pthread_t t[3];
  struct epoll_event ev, out[4];
  sigset_t none;
  char buf[16];
  PROG_CHECK(ep >= 0);
  for (i = 0; i < 3; i++) {
    PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]) == 0);
    ev.events = EPOLLIN;
    ev.data.u32 = (uint32_t)i;
    PROG_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[i][0], &ev) == 0);
    l[i] = (prog_later_t){sv[i][1], 30 * (i + 1), i == 0 ? "one" : i == 1 ? "two" : "three"};
    t[i] = prog_start_later(&l[i]);
  }
  prog_report_threads();
  while (seen < 3) {
    PROG_CHECK((n = epoll_wait(ep, out, 4, -1)) > 0);
    for (i = 0; i < n; i++) {
      ssize_t k = read(sv[out[i].data.u32][0], buf, sizeof buf);
      printf("epoll_wait: fd %u readable, read '%.*s'\n", out[i].data.u32, (int)k, buf);
      seen++;
    }
  }
  sigemptyset(&none);
  double t0 = prog_now();
  n = epoll_pwait(ep, out, 4, 50, &none);
  prog_check_elapsed("epoll_pwait with nothing ready, 50 ms", prog_now() - t0, 0.045, 1.0);
  printf("epoll_pwait returned %d\n", n);
  printf("epoll_wait(timeout 0): %d\n", epoll_wait(ep, out, 4, 0));
  for (i = 0; i < 3; i++) {
    PROG_CHECK(pthread_join(t[i], NULL) == 0);
    close(sv[i][0]);
    close(sv[i][1]);
  }
  close(ep);
}

static void ppoll_wait(void) {
  int p[2];
  prog_later_t l;
  pthread_t t;
  struct timespec ts = {0, 40000000};
  struct pollfd pfd;
  PROG_CHECK(pipe(p) == 0);
  pfd = (struct pollfd){p[0], POLLIN, 0};
  double t0 = prog_now();
  int n = ppoll(&pfd, 1, &ts, NULL);
  prog_check_elapsed("ppoll with nothing ready, 40 ms", prog_now() - t0, 0.035, 1.0);
  printf("ppoll returned %d\n", n);
  l = (prog_later_t){p[1], 20, "x"};
  t = prog_start_later(&l);
  n = ppoll(&pfd, 1, NULL, NULL);
  printf("ppoll woken by a thread: %d, revents %s\n", n, pfd.revents == POLLIN ? "POLLIN" : "other");
  PROG_CHECK(pthread_join(t, NULL) == 0);
  close(p[0]);
  close(p[1]);
}

static struct sockaddr_in listener;
static int go[2]; /* the client writes once main has seen its read fail */

static void *connect_to(void *arg) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  char c;
  (void)arg;
  usleep(20000);
  if (s < 0 || connect(s, (struct sockaddr *)&listener, sizeof listener) != 0) prog_die("connect");
  if (read(go[0], &c, 1) != 1 || write(s, "hi", 2) != 2) prog_die("write");
  close(s);
  return NULL;
}

static void accept_flags(void) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  int l = socket(AF_INET, SOCK_STREAM, 0), c;
  pthread_t t;
  char buf[4];
  PROG_CHECK(l >= 0 && bind(l, (struct sockaddr *)&sa, len) == 0 && listen(l, 8) == 0);
  PROG_CHECK(getsockname(l, (struct sockaddr *)&sa, &len) == 0 && pipe(go) == 0);
  listener = sa;
  PROG_CHECK(pthread_create(&t, NULL, connect_to, NULL) == 0);
  PROG_CHECK((c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0);
  printf("accept4: O_NONBLOCK %d, FD_CLOEXEC %d\n", !!(fcntl(c, F_GETFL) & O_NONBLOCK),
         !!(fcntl(c, F_GETFD) & FD_CLOEXEC));
  ssize_t n = read(c, buf, sizeof buf);
  printf("read on it before data: %zd %s\n", n, n < 0 ? strerror(errno) : "");
  PROG_CHECK(write(go[1], "g", 1) == 1);
  struct pollfd pfd = {c, POLLIN, 0};
  PROG_CHECK(poll(&pfd, 1, -1) == 1);
  n = read(c, buf, sizeof buf);
  printf("read after poll: %zd '%.2s'\n", n, buf);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  close(c);
  close(l);
  close(go[0]);
  close(go[1]);
}

static void *send_three(void *arg) {
  int fd = *(int *)arg;
  char *words[3] = {"alpha", "beta", "gamma"};
  struct mmsghdr m[3];
  struct iovec v[3];
  usleep(20000);
  for (int i = 0; i < 3; i++) {
    v[i] = (struct iovec){words[i], strlen(words[i])};
    m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &v[i], .msg_iovlen = 1}};
  }
  if (sendmmsg(fd, m, 3, 0) != 3) prog_die("sendmmsg");
  return NULL;
}

static void mmsg(void) {
  int sv[2];
  char bufs[3][16];
  struct mmsghdr m[3];
  struct iovec v[3];
  pthread_t t;
  PROG_CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
  for (int i = 0; i < 3; i++) {
    v[i] = (struct iovec){bufs[i], sizeof bufs[i]};
    m[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &v[i], .msg_iovlen = 1}};
  }
  PROG_CHECK(pthread_create(&t, NULL, send_three, &sv[1]) == 0);
  int n = recvmmsg(sv[0], m, 3, 0, NULL);
  printf("recvmmsg: %d messages:", n);
  for (int i = 0; i < n; i++) printf(" '%.*s'", (int)m[i].msg_len, bufs[i]);
  printf("\n");
  PROG_CHECK(pthread_join(t, NULL) == 0);
  close(sv[0]);
  close(sv[1]);
}

static void dups(void) {
  int a[2], b[2];
  prog_later_t l;
  pthread_t t;
  char buf[8] = {0};
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
  PROG_CHECK(dup2(a[0], b[0]) == b[0]); /* b[0] now reads a's stream */
  l = (prog_later_t){a[1], 20, "via-a"};
  t = prog_start_later(&l);
  ssize_t n = read(b[0], buf, sizeof buf - 1);
  printf("dup2 onto a socket in use: read %zd '%s'\n", n, buf);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  PROG_CHECK(dup3(b[1], a[0], O_CLOEXEC) == a[0]); /* a[0] now is b's other end */
  printf("dup3 O_CLOEXEC: FD_CLOEXEC %d\n", !!(fcntl(a[0], F_GETFD) & FD_CLOEXEC));
  l = (prog_later_t){b[0], 20, "back"}; /* b[0] is a[0]'s old stream: writes reach a[1] */
  t = prog_start_later(&l);
  memset(buf, 0, sizeof buf);
  n = read(a[1], buf, sizeof buf - 1);
  printf("and the other way: read %zd '%s'\n", n, buf);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  int r = dup3(a[0], a[0], 0);
  printf("dup3 onto itself: %d %s\n", r, strerror(errno));
  close(a[0]), close(a[1]), close(b[0]), close(b[1]);
}

static void names(void) {
  struct hostent *h = gethostbyname("localhost"), he, *res = NULL;
  struct in_addr lo = {htonl(INADDR_LOOPBACK)};
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(80), .sin_addr = lo};
  char host[256], serv[32], buf[1024], a[INET_ADDRSTRLEN];
  int herr = 0;
  printf("gethostbyname(localhost): %s, %s\n", h ? h->h_name : "NULL",
         h ? inet_ntop(AF_INET, h->h_addr_list[0], a, sizeof a) : "-");
  h = gethostbyname2("localhost", AF_INET);
  printf("gethostbyname2(localhost, AF_INET): %s\n", h ? h->h_name : "NULL");
  gethostbyname_r("localhost", &he, buf, sizeof buf, &res, &herr);
  printf("gethostbyname_r(localhost): %s\n", res ? res->h_name : "NULL");
  h = gethostbyaddr(&lo, sizeof lo, AF_INET);
  printf("gethostbyaddr(127.0.0.1): %s\n", h ? h->h_name : "NULL");
  int r = getnameinfo((struct sockaddr *)&sa, sizeof sa, host, sizeof host, serv, sizeof serv, 0);
  printf("getnameinfo(127.0.0.1:80): %d %s %s\n", r, host, serv);
  r = getnameinfo((struct sockaddr *)&sa, sizeof sa, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV);
  printf("getnameinfo numeric: %d %s %s\n", r, host, serv);
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int flag;

static void *signal_later(void *arg) {
  (void)arg;
  usleep(20000);
  pthread_mutex_lock(&m);
  flag = 1;
  pthread_cond_signal(&c);
  pthread_mutex_unlock(&m);
  return NULL;
}

static void clockwaits(void) {
  clockid_t clocks[2] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
  for (int i = 0; i < 2; i++) {
    struct timespec at;
    pthread_t t;
    int r;
    clock_gettime(clocks[i], &at);
    at.tv_nsec += 30000000;
    if (at.tv_nsec >= 1000000000) at.tv_sec++, at.tv_nsec -= 1000000000;
    pthread_mutex_lock(&m);
    r = pthread_cond_clockwait(&c, &m, clocks[i], &at);
    printf("cond_clockwait(%s), nobody signals: %s\n", i ? "REALTIME" : "MONOTONIC", strerror(r));
    flag = 0;
    PROG_CHECK(pthread_create(&t, NULL, signal_later, NULL) == 0);
    clock_gettime(clocks[i], &at);
    at.tv_sec += 5;
    while (!flag && (r = pthread_cond_clockwait(&c, &m, clocks[i], &at)) == 0) {}
    printf("cond_clockwait(%s), signalled: %s, flag %d\n", i ? "REALTIME" : "MONOTONIC",
           strerror(r), flag);
    pthread_mutex_unlock(&m);
    PROG_CHECK(pthread_join(t, NULL) == 0);
  }
}

static void wait3_child(void) {
  int st = 0;
  struct rusage ru;
  pid_t pid = fork();
  PROG_CHECK(pid >= 0);
  if (pid == 0) {
    usleep(30000);
    _exit(5);
  }
  pid_t r = wait3(&st, 0, &ru);
  printf("wait3: %s, status %d\n", r == pid ? "that child" : "another", WEXITSTATUS(st));
}

static void *run_all(void *arg) {
  (void)arg;
  epoll_loop();
  ppoll_wait();
  accept_flags();
  mmsg();
  dups();
  names();
  clockwaits();
  wait3_child();
  return NULL;
}

int main(void) {
  pthread_t t;
  setvbuf(stdout, NULL, _IOLBF, 0);
  PROG_CHECK(pthread_create(&t, NULL, run_all, NULL) == 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  return 0;
}
