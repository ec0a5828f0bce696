/* SPDX-License-Identifier: MIT */
/*
 * select and pselect leave the caller's fd sets alone when they fail: a select that a signal
 * interrupts (EINTR) can be retried with the same sets, and gets the data another thread
 * writes later. A select with a bad fd (EBADF) leaves them too; a timeout clears them.
 */
#include <signal.h>
#include <sys/select.h>

#include "prog.h"

static volatile sig_atomic_t got_usr1;
static pthread_t main_thread;

static void on_usr1(int sig) {
  (void)sig;
  got_usr1++;
}

static void *kicker(void *arg) {
  (void)arg;
  usleep(100000);
  PROG_CHECK(pthread_kill(main_thread, SIGUSR1) == 0);
  return NULL;
}

/* One interrupted wait and its retry; `use_pselect` picks the call. */
static void interrupted_then_retried(int use_pselect) {
  const char *name = use_pselect ? "pselect" : "select";
  int p[2], r;
  fd_set rd;
  char c;
  prog_later_t later = {0, 400, "x"};
  struct timeval tv = {3, 0};
  struct timespec ts = {3, 0};
  pthread_t k, w;
  PROG_CHECK(pipe(p) == 0);
  later.fd = p[1];
  got_usr1 = 0;
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  PROG_CHECK(pthread_create(&k, NULL, kicker, NULL) == 0);
  w = prog_start_later(&later);
  if (!use_pselect) prog_report_threads();
  r = use_pselect ? pselect(p[0] + 1, &rd, NULL, NULL, NULL, NULL)
                  : select(p[0] + 1, &rd, NULL, NULL, NULL);
  printf("%s: %d errno %s, handler ran %d, fd still in the set: %s\n", name, r,
         r < 0 && errno == EINTR ? "EINTR" : "other", (int)got_usr1,
         FD_ISSET(p[0], &rd) ? "yes" : "no");
  /* the retry with the same set (bounded, so the unfixed shim's empty set cannot hang) */
  r = use_pselect ? pselect(p[0] + 1, &rd, NULL, NULL, &ts, NULL)
                  : select(p[0] + 1, &rd, NULL, NULL, &tv);
  printf("%s retry: %d, fd readable: %s\n", name, r, r > 0 && FD_ISSET(p[0], &rd) ? "yes" : "no");
  PROG_CHECK(read(p[0], &c, 1) == 1 || r <= 0);
  pthread_join(k, NULL);
  pthread_join(w, NULL);
  close(p[0]);
  close(p[1]);
}

/* EBADF leaves the sets as they were; a timeout clears them. */
static void errors_and_timeout(void) {
  int p[2], bad, r;
  fd_set rd;
  struct timeval tv = {0, 50000};
  PROG_CHECK(pipe(p) == 0);
  bad = dup(p[0]);
  close(bad);
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  FD_SET(bad, &rd);
  r = select((bad > p[0] ? bad : p[0]) + 1, &rd, NULL, NULL, &tv);
  printf("select with a closed fd: %d errno %s, set untouched: %s\n", r,
         r < 0 && errno == EBADF ? "EBADF" : "other",
         FD_ISSET(p[0], &rd) && FD_ISSET(bad, &rd) ? "yes" : "no");
  FD_ZERO(&rd);
  FD_SET(p[0], &rd);
  tv.tv_sec = 0;
  tv.tv_usec = 50000;
  r = select(p[0] + 1, &rd, NULL, NULL, &tv);
  printf("select timeout: %d, set cleared: %s\n", r, FD_ISSET(p[0], &rd) ? "no" : "yes");
  close(p[0]);
  close(p[1]);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  PROG_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  main_thread = pthread_self();
  interrupted_then_retried(0);
  interrupted_then_retried(1);
  errors_and_timeout();
  return 0;
}
