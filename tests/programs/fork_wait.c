/*
 * fork and the wait family: children that run threads of their own and exit with a status,
 * a blocking waitpid, wait, waitid, WNOHANG before the child ends, ECHILD at the end; the
 * parent's threads keep running meanwhile.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>

#include "prog.h"

static long ticks;

static void *ticker(void *arg) {
  (void)arg;
  for (int i = 0; i < 20; i++) {
    usleep(20000);
    __atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
  }
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
    if (pthread_create(&t, NULL, child_work, (void *)(intptr_t)code) != 0 || pthread_join(t, &r) != 0)
      _exit(99);
    exit((int)(intptr_t)r);
  }
  return pid;
}

int main(void) {
  pthread_t t;
  siginfo_t info;
  pid_t a, b, c, r;
  int st;
  PROG_CHECK(pthread_create(&t, NULL, ticker, NULL) == 0);
  PROG_CHECK((a = spawn_child(6)) > 0);
  r = waitpid(a, &st, WNOHANG);
  printf("waitpid WNOHANG before it ends: %d\n", (int)r);
  prog_report_threads();
  r = waitpid(a, &st, 0);
  printf("waitpid: %s, exit status %d\n", r == a ? "that child" : "another", WEXITSTATUS(st));
  printf("the parent's thread ran meanwhile: %s\n", ticks > 0 ? "yes" : "no");
  PROG_CHECK((b = spawn_child(10)) > 0);
  r = wait(&st);
  printf("wait: %s, exit status %d\n", r == b ? "that child" : "another", WEXITSTATUS(st));
  PROG_CHECK((c = spawn_child(20)) > 0);
  memset(&info, 0, sizeof info);
  PROG_CHECK(waitid(P_PID, (id_t)c, &info, WEXITED) == 0);
  printf("waitid: %s, code %s, status %d\n", info.si_pid == c ? "that child" : "another",
         info.si_code == CLD_EXITED ? "CLD_EXITED" : "other", info.si_status);
  errno = 0;
  r = waitpid(-1, &st, 0);
  printf("waitpid with no children: %d, %s\n", (int)r, strerror(errno));
  PROG_CHECK(pthread_join(t, NULL) == 0);
  return 0;
}
