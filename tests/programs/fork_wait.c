/* SPDX-License-Identifier: MIT */
/*
 * fork and the wait family: children that run threads of their own and exit with a status,
 * a blocking waitpid, wait, waitid, WNOHANG before the child ends, a thread cancelled in
 * waitpid (a cancellation point) while the next waits for the same child, ECHILD at the end; a
 * thread of the parent reads what the children write into a pipe meanwhile. The first fork
 * waits until that thread has started and says so: a child forked while the thread is still
 * starting can inherit a lock the thread held inside AddressSanitizer's allocator (GCC 12's
 * runtime takes none of them around fork), and hang on it.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>

#include "prog.h"

static long ticks;
static int tick_pipe[2];

static void *ticker(void *arg) {
  char c = 'r';
  if (write(*(int *)arg, &c, 1) != 1) prog_die("ticker ready");
  while (read(tick_pipe[0], &c, 1) == 1) ticks++;
  return NULL;
}

static void *child_work(void *arg) {
  usleep(100000);
  return (void *)((intptr_t)arg + 1);
}

/* A child: a thread of its own, then exit with code. */
static pid_t spawn_child(int code) {
  pid_t pid = fork();
  if (pid == 0) {
    pthread_t t;
    void *r;
    if (pthread_create(&t, NULL, child_work, (void *)(intptr_t)code) != 0 || pthread_join(t, &r) != 0 ||
        write(tick_pipe[1], "t", 1) != 1)
      _exit(99);
    exit((int)(intptr_t)r);
  }
  return pid;
}

/* Cancelled before it waits: waitpid, a cancellation point, ends it. */
static void *cancelled_waiter(void *arg) {
  pthread_cancel(pthread_self());
  waitpid(*(pid_t *)arg, NULL, 0);
  return NULL;
}

int main(void) {
  pthread_t t, w;
  siginfo_t info;
  pid_t a, b, c, d, r;
  void *res;
  int st, ready[2];
  char go;
  PROG_CHECK(pipe(tick_pipe) == 0 && pipe(ready) == 0);
  PROG_CHECK(pthread_create(&t, NULL, ticker, &ready[1]) == 0);
  PROG_CHECK(read(ready[0], &go, 1) == 1);
  PROG_CHECK((a = spawn_child(6)) > 0);
  r = waitpid(a, &st, WNOHANG);
  printf("waitpid WNOHANG before it ends: %d\n", (int)r);
  prog_report_threads();
  r = waitpid(a, &st, 0);
  printf("waitpid: %s, exit status %d\n", r == a ? "that child" : "another", WEXITSTATUS(st));
  PROG_CHECK((b = spawn_child(10)) > 0);
  r = wait(&st);
  printf("wait: %s, exit status %d\n", r == b ? "that child" : "another", WEXITSTATUS(st));
  PROG_CHECK((c = spawn_child(20)) > 0);
  memset(&info, 0, sizeof info);
  PROG_CHECK(waitid(P_PID, (id_t)c, &info, WEXITED) == 0);
  printf("waitid: %s, code %s, status %d\n", info.si_pid == c ? "that child" : "another",
         info.si_code == CLD_EXITED ? "CLD_EXITED" : "other", info.si_status);
  PROG_CHECK((d = spawn_child(30)) > 0);
  PROG_CHECK(pthread_create(&w, NULL, cancelled_waiter, &d) == 0 && pthread_join(w, &res) == 0);
  printf("a thread cancelled in waitpid: %s\n", res == PTHREAD_CANCELED ? "ended" : "went on");
  r = waitpid(d, &st, 0);
  printf("waitpid after it: %s, exit status %d\n", r == d ? "that child" : "another",
         WEXITSTATUS(st));
  errno = 0;
  r = waitpid(-1, &st, 0);
  printf("waitpid with no children: %d, %s\n", (int)r, strerror(errno));
  close(tick_pipe[1]);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  printf("the parent's thread read %ld bytes from the children\n", ticks);
  return 0;
}
