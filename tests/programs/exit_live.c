/* SPDX-License-Identifier: MIT */
/*
 * Process exit with threads still alive: main returns (or calls exit) while other threads
 * are blocked in read, sleep or a condition wait; the process ends with main's status at
 * once. With "pthread_exit", main leaves with pthread_exit instead and the process ends with
 * status 0 when the last thread does.
 *
 *   exit_live return|exit|pthread_exit
 */
#include <pthread.h>

#include "prog.h"

static int p[2];
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;

static void *reader(void *arg) {
  char ch;
  (void)arg;
  if (read(p[0], &ch, 1) < 0) prog_die("read");
  return NULL;
}

static void *sleeper(void *arg) {
  (void)arg;
  sleep(100);
  return NULL;
}

static void *waiter(void *arg) {
  (void)arg;
  pthread_mutex_lock(&m);
  pthread_cond_wait(&c, &m);
  pthread_mutex_unlock(&m);
  return NULL;
}

static void *last(void *arg) {
  (void)arg;
  usleep(200000);
  printf("the last thread ends\n");
  fflush(stdout);
  return NULL;
}

static void at_exit(void) { printf("atexit handler ran\n"); }

int main(int argc, char **argv) {
  pthread_t t;
  const char *how = argc > 1 ? argv[1] : "return";
  PROG_CHECK(pipe(p) == 0);
  atexit(at_exit);
  if (strcmp(how, "pthread_exit") == 0) {
    PROG_CHECK(pthread_create(&t, NULL, last, NULL) == 0);
    prog_report_threads();
    pthread_exit(NULL);
  }
  PROG_CHECK(pthread_create(&t, NULL, reader, NULL) == 0);
  PROG_CHECK(pthread_create(&t, NULL, sleeper, NULL) == 0);
  PROG_CHECK(pthread_create(&t, NULL, waiter, NULL) == 0);
  usleep(50000);
  prog_report_threads();
  printf("main leaves by %s\n", how);
  fflush(stdout);
  if (strcmp(how, "exit") == 0) exit(3);
  return 4;
}
