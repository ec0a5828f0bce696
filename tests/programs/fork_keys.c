/* SPDX-License-Identifier: MIT */
/*
 * fork keeps the forking thread's identity in the child: its pthread_getspecific values, its
 * pthread_t and its name, from the main thread and from another thread alike. A thread the
 * child starts begins with no values.
 */
#include <sys/wait.h>

#include "prog.h"

static pthread_key_t key;
static int main_value, thread_value, child_thread_value;

static void *child_thread(void *arg) {
  (void)arg;
  PROG_CHECK(pthread_getspecific(key) == NULL);
  PROG_CHECK(pthread_setspecific(key, &child_thread_value) == 0);
  usleep(10000);
  return pthread_getspecific(key) == &child_thread_value ? &child_thread_value : NULL;
}

/* The child's checks: 0 when everything held, else the number of the first that failed. */
static int child_checks(const void *want, pthread_t self, const char *name) {
  char buf[16] = "";
  pthread_t t;
  void *r = NULL;
  if (pthread_getspecific(key) != want) return 2;
  if (!pthread_equal(pthread_self(), self)) return 3;
  if (name && (pthread_getname_np(pthread_self(), buf, sizeof buf) != 0 || strcmp(buf, name)))
    return 4;
  usleep(20000); /* the child's hub runs */
  if (pthread_create(&t, NULL, child_thread, NULL) != 0 || pthread_join(t, &r) != 0 ||
      r != &child_thread_value)
    return 5;
  if (pthread_getspecific(key) != want) return 6;
  return 0;
}

/* Fork, run the checks in the child, and say how it went. */
static void fork_and_check(const char *who, const void *want, const char *name) {
  pthread_t self = pthread_self();
  int st = 0;
  pid_t pid;
  fflush(stdout);
  if ((pid = fork()) == 0) _exit(child_checks(want, self, name));
  PROG_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
  printf("fork from %s: child exit %d\n", who, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  PROG_CHECK(pthread_getspecific(key) == want);
}

static void *forker(void *arg) {
  (void)arg;
  PROG_CHECK(pthread_setname_np(pthread_self(), "forker") == 0);
  PROG_CHECK(pthread_setspecific(key, &thread_value) == 0);
  usleep(10000);
  fork_and_check("a thread", &thread_value, "forker");
  return NULL;
}

int main(void) {
  pthread_t t;
  PROG_CHECK(pthread_key_create(&key, NULL) == 0);
  PROG_CHECK(pthread_setspecific(key, &main_value) == 0);
  usleep(10000);
  fork_and_check("main", &main_value, NULL);
  PROG_CHECK(pthread_create(&t, NULL, forker, NULL) == 0);
  prog_report_threads();
  PROG_CHECK(pthread_join(t, NULL) == 0);
  return 0;
}
