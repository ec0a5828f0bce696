/* SPDX-License-Identifier: MIT */
/*
 * The shim's allocation sites that nomem_threads does not reach, one scenario each, for
 * nomem_site.sh, which fails one allocation by its function (GREEN_FAULT_ALLOC=fn) and checks
 * the transcript. Each scenario prints the same lines natively and under greenrun when
 * nothing fails.
 *   native       a thread made under greenrun --threads=native (threads.c's create_native)
 *   select       select on fd 1100, beyond FD_SETSIZE, with a set of the program's own size
 *   lock [n]     F_SETLKW on a byte another process holds, with n more of its locks listed
 *   outside      a condition signalled by a SIGEV_THREAD timer's callback (not a program
 *                thread) while a thread waits on it with a 1 s limit
 *   pshared      a process-shared mutex's init
 *   table        a read on fd 700 (a chunk of the fd tables of its own) that waits for a
 *                thread's write (SIGALRM ends it after 5 s if the read blocks the OS thread)
 *   table timeout  the same on a socket with a 300 ms SO_RCVTIMEO that nobody writes to
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "prog.h"

static void *answer(void *arg) {
  (void)arg;
  return (void *)42;
}

static int run_native(void) {
  pthread_t t;
  void *r;
  PROG_CHECK(pthread_create(&t, NULL, answer, NULL) == 0);
  PROG_CHECK(pthread_join(t, &r) == 0);
  printf("thread: returned %ld\n", (long)r);
  return 0;
}

enum { HIGH_FD = 1100 };

static int select_high(unsigned long *set, size_t bytes) {
  struct timeval tv = {1, 0};
  memset(set, 0, bytes);
  set[HIGH_FD / (8 * sizeof *set)] |= 1UL << (HIGH_FD % (8 * sizeof *set));
  return select(HIGH_FD + 1, (fd_set *)(void *)set, NULL, NULL, &tv);
}

/* FD_SET would check the fd against FD_SETSIZE: the bit is set by hand, as such programs do. */
static int run_select(void) {
  struct rlimit rl;
  size_t bytes = (HIGH_FD / 64 + 1) * 8;
  unsigned long *set = malloc(bytes);
  int p[2];
  PROG_CHECK(set && pipe(p) == 0);
  PROG_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  if (rl.rlim_cur <= HIGH_FD) {
    rl.rlim_cur = HIGH_FD + 1;
    PROG_CHECK(rl.rlim_max > HIGH_FD && setrlimit(RLIMIT_NOFILE, &rl) == 0);
  }
  PROG_CHECK(dup2(p[0], HIGH_FD) == HIGH_FD && write(p[1], "x", 1) == 1);
  prog_show("select", select_high(set, bytes));
  prog_show("select again", select_high(set, bytes));
  free(set);
  return 0;
}

/* The child holds byte 0, and n more locks on the odd bytes (n lines of /proc/locks), for
 * 300 ms; the parent waits for byte 0. */
static int run_lock(int n) {
  char path[] = "/tmp/nomem_sites_XXXXXX";
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1};
  prog_flag_t held;
  int fd = mkstemp(path), status;
  pid_t pid;
  PROG_CHECK(fd >= 0 && unlink(path) == 0);
  prog_flag_init(&held);
  PROG_CHECK((pid = fork()) >= 0);
  if (pid == 0) {
    for (int i = 0; i <= n; i++) {
      fl.l_start = i ? 2 * i - 1 : 0;
      if (fcntl(fd, F_SETLK, &fl) != 0) _exit(2);
    }
    prog_flag_raise(&held);
    usleep(300000);
    _exit(0);
  }
  prog_flag_wait(&held);
  fl.l_start = 0;
  prog_show("F_SETLKW", fcntl(fd, F_SETLKW, &fl));
  PROG_CHECK(waitpid(pid, &status, 0) == pid && status == 0);
  close(fd);
  return 0;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flagged = PTHREAD_COND_INITIALIZER;
static int flag; /* under lock */

static void on_expiry(union sigval v) {
  (void)v;
  pthread_mutex_lock(&lock);
  flag = 1;
  pthread_cond_signal(&flagged);
  pthread_mutex_unlock(&lock);
}

/* Out of memory, the callback's signal is lost (preload/README.md, Limits): the waiter then
 * wakes at its limit, and sees the flag. Otherwise the signal wakes it. */
static int run_outside(void) {
  struct sigevent ev = {0};
  struct itimerspec once = {{0, 0}, {0, 100000000}};
  struct timespec limit;
  timer_t t;
  int timeouts = 0;
  ev.sigev_notify = SIGEV_THREAD;
  ev.sigev_notify_function = on_expiry;
  PROG_CHECK(timer_create(CLOCK_MONOTONIC, &ev, &t) == 0);
  pthread_mutex_lock(&lock);
  PROG_CHECK(timer_settime(t, 0, &once, NULL) == 0);
  clock_gettime(CLOCK_REALTIME, &limit);
  limit.tv_sec += 1;
  while (!flag) {
    int r = pthread_cond_timedwait(&flagged, &lock, &limit);
    if (r == ETIMEDOUT) {
      timeouts++;
      limit.tv_sec += 1;
    } else PROG_CHECK(r == 0);
  }
  pthread_mutex_unlock(&lock);
  PROG_CHECK(timer_delete(t) == 0);
  printf("flag seen after %d timeouts\n", timeouts);
  return 0;
}

static int run_pshared(void) {
  pthread_mutexattr_t a;
  pthread_mutex_t m;
  int r;
  PROG_CHECK(pthread_mutexattr_init(&a) == 0);
  PROG_CHECK(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) == 0);
  r = pthread_mutex_init(&m, &a);
  printf("init: %s\n", r ? strerror(r) : "0");
  if (r) PROG_CHECK(pthread_mutex_init(&m, &a) == 0);
  PROG_CHECK(pthread_mutex_lock(&m) == 0 && pthread_mutex_unlock(&m) == 0);
  PROG_CHECK(pthread_mutex_destroy(&m) == 0);
  printf("lock, unlock, destroy: 0\n");
  return 0;
}

static void *write_later(void *arg) {
  usleep(200000);
  PROG_CHECK(write(*(int *)arg, "x", 1) == 1);
  return NULL;
}

static int run_table(int timeout) {
  enum { FD = 700 };
  struct timeval limit = {0, 300000};
  pthread_t t;
  char c;
  int p[2];
  if (timeout) {
    PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, p) == 0 && dup2(p[0], FD) == FD);
    PROG_CHECK(setsockopt(FD, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0);
  } else {
    PROG_CHECK(pipe(p) == 0 && dup2(p[0], FD) == FD);
    PROG_CHECK(pthread_create(&t, NULL, write_later, &p[1]) == 0);
  }
  alarm(5);
  prog_show("read", read(FD, &c, 1));
  alarm(0);
  if (!timeout) PROG_CHECK(pthread_join(t, NULL) == 0);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && strcmp(argv[1], "native") == 0) return run_native();
  if (argc >= 2 && strcmp(argv[1], "select") == 0) return run_select();
  if (argc >= 2 && strcmp(argv[1], "lock") == 0) return run_lock(argc > 2 ? atoi(argv[2]) : 0);
  if (argc >= 2 && strcmp(argv[1], "outside") == 0) return run_outside();
  if (argc >= 2 && strcmp(argv[1], "pshared") == 0) return run_pshared();
  if (argc >= 2 && strcmp(argv[1], "table") == 0) return run_table(argc > 2);
  fprintf(stderr, "usage: %s native|select|lock [n]|outside|pshared|table [timeout]\n", argv[0]);
  return 2;
}
