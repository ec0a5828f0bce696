/* SPDX-License-Identifier: MIT */
/* Dumps, the deadlock report and the counters (src/dump.c). Linked with libgreen.so, as a
 * program would be; the parked greenlets' functions are not static, so their names are in
 * the dynamic symbol table whatever the build strips. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

static green_mutex_t mutex = GREEN_MUTEX_INITIALIZER;
static int pipe_fds[2];

__attribute__((noinline)) void *dump_test_reader(void *arg) {
  char c;
  (void)arg;
  return green_read(pipe_fds[0], &c, 1) == 1 ? NULL : (void *)1;
}

__attribute__((noinline)) void *dump_test_locker(void *arg) {
  (void)arg;
  if (green_mutex_lock(&mutex, -1) != 0) return (void *)1;
  green_mutex_unlock(&mutex);
  return NULL;
}

__attribute__((noinline)) void *dump_test_sleeper(void *arg) {
  (void)arg;
  return green_sleep(30) == -1 && errno == ECANCELED ? NULL : (void *)1;
}

/* Everything written to stderr while fn(arg) runs. */
static char *capture_stderr(void (*fn)(void *), void *arg) {
  static char buf[65536];
  int p[2], saved = dup(2);
  ssize_t n;
  size_t len = 0;
  if (pipe2(p, O_NONBLOCK) != 0) return NULL;
  fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  dup2(p[1], 2);
  fn(arg);
  dup2(saved, 2);
  close(saved);
  close(p[1]);
  while (len < sizeof buf - 1 && (n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t)n;
  buf[len] = '\0';
  close(p[0]);
  return buf;
}

static void dump_to_stderr(void *arg) {
  (void)arg;
  green_dump(2);
}

static const char *after(const char *text, const char *needle) {
  const char *p = strstr(text, needle);
  return p ? p + strlen(needle) : NULL;
}

/* The section of greenlet `id` in a dump: from its line to the next blank line. */
static char *section(const char *dump, unsigned long long id) {
  static char out[8192];
  char head[64];
  const char *p, *end;
  snprintf(head, sizeof head, "\ngreenlet %llu ", id);
  if (!(p = strstr(dump, head))) return NULL;
  end = strstr(p + 1, "\n\n");
  if (!end) end = p + strlen(p);
  snprintf(out, sizeof out, "%.*s", (int)(end - p), p);
  return out;
}

/* Three greenlets parked on an fd, a mutex and a timer: each is listed with what it waits on
 * and its own function in its backtrace; main, which dumps, is running. */
TEST_CASE(three_parked) {
  green_t *g[3];
  char *dump, *s;
  ASSERT_OK(pipe(pipe_fds));
  ASSERT_OK(green_mutex_lock(&mutex, -1));
  ASSERT_PTR_NE(g[0] = green_spawn(dump_test_reader, NULL), NULL);
  ASSERT_PTR_NE(g[1] = green_spawn(dump_test_locker, NULL), NULL);
  ASSERT_PTR_NE(g[2] = green_spawn(dump_test_sleeper, NULL), NULL);
  ASSERT_OK(green_set_name(g[0], "reader"));
  ASSERT_OK(green_set_name(g[1], "locker"));
  ASSERT_OK(green_sleep(0.05));
  dump = capture_stderr(dump_to_stderr, NULL);
  fputs(dump, stdout);
  ASSERT_TRUE(strstr(dump, "libgreen: dump of process") == dump);
  ASSERT_TRUE(after(dump, "hub of thread ") != NULL);
  ASSERT_TRUE(strstr(dump, "libgreen: end of dump\n") != NULL);
  ASSERT_TRUE((s = section(dump, 1)) != NULL); /* the main greenlet is the thread's first */
  ASSERT_TRUE(strstr(s, "(main) [running]") != NULL);
  ASSERT_TRUE(strstr(s, "test_three_parked") != NULL);
  ASSERT_TRUE(strstr(s, "green_dump") == NULL); /* the dump's own frames are left out */
  ASSERT_TRUE((s = section(dump, green_id(g[0]))) != NULL);
  ASSERT_TRUE(strstr(s, "\"reader\" [waiting on fd ") != NULL);
  ASSERT_TRUE(strstr(s, "(a pipe) for reading, for 0.") != NULL);
  ASSERT_TRUE(strstr(s, "dump_test_reader") != NULL);
  ASSERT_TRUE(strstr(s, "green_read") != NULL);
  ASSERT_TRUE((s = section(dump, green_id(g[1]))) != NULL);
  ASSERT_TRUE(strstr(s, "\"locker\" [waiting on mutex 0x") != NULL);
  ASSERT_TRUE(strstr(s, "held by the main greenlet") != NULL);
  ASSERT_TRUE(strstr(s, "dump_test_locker") != NULL);
  ASSERT_TRUE((s = section(dump, green_id(g[2]))) != NULL);
  ASSERT_TRUE(strstr(s, "[sleeping in green_sleep, for 0.") != NULL);
  ASSERT_TRUE(strstr(s, " s left, 256 KiB stack]") != NULL);
  ASSERT_TRUE(strstr(s, "dump_test_sleeper") != NULL);
  ASSERT_OK(green_mutex_unlock(&mutex));
  ASSERT_EQ(write(pipe_fds[1], "x", 1), 1);
  ASSERT_OK(green_kill(g[2]));
  ASSERT_OK(green_joinall(g, 3, 5));
  ASSERT_OK(green_close(pipe_fds[0]));
  ASSERT_OK(close(pipe_fds[1]));
}

TEST_CASE(bad_fd) {
  ASSERT_ERRNO(green_dump(-1), EBADF);
  ASSERT_ERRNO(green_dump(1000000), EBADF);
}

/* ---- another thread's hub ---------------------------------------------------------------- */

static green_event_t other_go; /* the other thread's */
static volatile pid_t other_tid;
static volatile int other_ready, other_done;

__attribute__((noinline)) void *dump_test_other_waiter(void *arg) {
  (void)arg;
  return green_event_wait(&other_go, 30) == 0 ? NULL : (void *)1;
}

static void *other_thread(void *arg) {
  green_t *g;
  (void)arg;
  green_event_init(&other_go);
  other_tid = (pid_t)syscall(SYS_gettid);
  g = green_spawn(dump_test_other_waiter, NULL);
  green_sleep(0.01);
  other_ready = 1;
  while (!other_done) green_sleep(0.01);
  green_event_set(&other_go);
  return green_join(g, NULL, 5) == 0 ? NULL : (void *)1;
}

/* The other thread's hub writes its own section, its parked greenlet's backtrace included. */
TEST_CASE(other_hub) {
  pthread_t t;
  char *dump, head[64];
  const char *p;
  void *r;
  ASSERT_OK(green_sleep(0)); /* this thread's hub */
  ASSERT_EQ(pthread_create(&t, NULL, other_thread, NULL), 0);
  while (!other_ready) green_sleep(0.005);
  dump = capture_stderr(dump_to_stderr, NULL);
  fputs(dump, stdout);
  snprintf(head, sizeof head, "hub of thread %d:", (int)other_tid);
  ASSERT_TRUE((p = strstr(dump, head)) != NULL);
  ASSERT_TRUE(strstr(p, "[waiting on event 0x") != NULL);
  ASSERT_TRUE(strstr(p, "dump_test_other_waiter") != NULL);
  ASSERT_TRUE(strstr(dump, "did not answer") == NULL);
  other_done = 1;
  ASSERT_EQ(pthread_join(t, &r), 0);
  ASSERT_PTR_EQ(r, NULL);
}

/* ---- hubs from green_hubs_start ------------------------------------------------------------ */

static green_event_t hub_go = GREEN_EVENT_INITIALIZER;
static pid_t hub_tids[2];

__attribute__((noinline)) void *dump_test_hub_waiter(void *arg) {
  __atomic_store_n(&hub_tids[(intptr_t)arg], (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
  return green_event_wait(&hub_go, 10) == 0 ? NULL : (void *)1;
}

/* A dump lists each hub with its own greenlets, in turn: one waiter on each of two hubs. */
TEST_CASE(started_hubs) {
  green_hub_t *hubs[2];
  green_t *g[2];
  char *dump, head[64];
  const char *p;
  intptr_t i;
  ASSERT_OK(green_hubs_start(2, hubs));
  for (i = 0; i < 2; i++)
    ASSERT_PTR_NE(g[i] = green_spawn_on(hubs[i], dump_test_hub_waiter, (void *)i), NULL);
  while (!__atomic_load_n(&hub_tids[0], __ATOMIC_ACQUIRE) ||
         !__atomic_load_n(&hub_tids[1], __ATOMIC_ACQUIRE))
    ASSERT_OK(green_sleep(0.005));
  ASSERT_OK(green_sleep(0.01)); /* both wait now */
  dump = capture_stderr(dump_to_stderr, NULL);
  fputs(dump, stdout);
  for (i = 0; i < 2; i++) {
    snprintf(head, sizeof head, "hub of thread %d:", (int)hub_tids[i]);
    ASSERT_TRUE((p = strstr(dump, head)) != NULL);
    ASSERT_TRUE((p = strstr(p, "[waiting on event 0x")) != NULL);
    ASSERT_TRUE(strstr(p, "dump_test_hub_waiter") != NULL);
  }
  ASSERT_TRUE(strstr(dump, "did not answer") == NULL);
  ASSERT_OK(green_event_set(&hub_go));
  for (i = 0; i < 2; i++) ASSERT_OK(green_join(g[i], NULL, 5));
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
}

/* ---- the dump signal ----------------------------------------------------------------------- */

__attribute__((noinline)) void raise_dump_signal(void *arg) {
  (void)arg;
  raise(SIGUSR2);
  __asm__ volatile("" ::: "memory"); /* not a tail call: this frame stays in the backtrace */
}

TEST_CASE(dump_signal) {
  green_t *g;
  char *dump;
  ASSERT_OK(setenv("GREEN_DUMP_SIGNAL", "SIGUSR2", 1));
  ASSERT_OK(pipe(pipe_fds));
  ASSERT_PTR_NE(g = green_spawn(dump_test_reader, NULL), NULL); /* makes the hub */
  ASSERT_OK(green_sleep(0.01));
  dump = capture_stderr(raise_dump_signal, NULL);
  fputs(dump, stdout);
  ASSERT_TRUE(strstr(dump, "libgreen: dump of process") != NULL);
  ASSERT_TRUE(strstr(dump, "raise_dump_signal") != NULL); /* main, where the signal hit */
  ASSERT_TRUE(strstr(dump, "dump_test_reader") != NULL);
  ASSERT_EQ(write(pipe_fds[1], "x", 1), 1);
  ASSERT_OK(green_join(g, NULL, 5));
  ASSERT_OK(green_close(pipe_fds[0]));
  ASSERT_OK(close(pipe_fds[1]));
}

/* ---- deadlock ---------------------------------------------------------------------------- */

static void join_deadlocked(void *arg) {
  green_t *g = arg;
  ASSERT_ERRNO(green_join(g, NULL, -1), EDEADLK);
}

/* main holds the mutex its greenlet waits for and joins it: with GREEN_DEBUG, the EDEADLK
 * comes with a report of who waits on what. */
TEST_CASE(deadlock_report) {
  green_t *g;
  char *report;
  ASSERT_OK(setenv("GREEN_DEBUG", "1", 1));
  ASSERT_OK(green_mutex_lock(&mutex, -1));
  ASSERT_PTR_NE(g = green_spawn(dump_test_locker, NULL), NULL);
  report = capture_stderr(join_deadlocked, g);
  fputs(report, stdout);
  ASSERT_TRUE(strstr(report, "libgreen: deadlock: every greenlet of thread ") == report);
  ASSERT_TRUE(strstr(report, "(main) [waiting on join of greenlet ") != NULL);
  ASSERT_TRUE(strstr(report, "[waiting on mutex 0x") != NULL);
  ASSERT_TRUE(strstr(report, "held by the main greenlet") != NULL);
  ASSERT_TRUE(strstr(report, "dump_test_locker") != NULL);
  ASSERT_TRUE(strstr(report, "test_deadlock_report") != NULL);
  ASSERT_TRUE(strstr(report, "the hub [") == NULL);
  ASSERT_TRUE(strstr(report, "libgreen: end of deadlock report\n") != NULL);
  /* once per hub */
  report = capture_stderr(join_deadlocked, g);
  ASSERT_EQ(report[0], '\0');
  ASSERT_OK(green_mutex_unlock(&mutex));
  ASSERT_OK(green_join(g, NULL, 5));
}

/* Without GREEN_DEBUG the deadlock is only the EDEADLK. */
TEST_CASE(deadlock_quiet) {
  green_t *g;
  ASSERT_OK(unsetenv("GREEN_DEBUG"));
  ASSERT_OK(green_mutex_lock(&mutex, -1));
  ASSERT_PTR_NE(g = green_spawn(dump_test_locker, NULL), NULL);
  ASSERT_EQ(capture_stderr(join_deadlocked, g)[0], '\0');
  ASSERT_OK(green_mutex_unlock(&mutex));
  ASSERT_OK(green_join(g, NULL, 5));
}

/* ---- counters ---------------------------------------------------------------------------- */

static void *sleep_a_little(void *arg) {
  (void)arg;
  green_sleep(0.001);
  return NULL;
}

static void spin(double seconds) {
  double until = green_now() + seconds;
  while (green_now() < until) {
  }
}

TEST_CASE(stats_counts) {
  green_stats_t before, st;
  green_t *g[10];
  size_t i;
  ASSERT_OK(green_stats(&before));
  for (i = 0; i < 10; i++) ASSERT_PTR_NE(g[i] = green_spawn(sleep_a_little, NULL), NULL);
  ASSERT_OK(green_sleep(0)); /* the loop polls once before the spin */
  spin(0.05);               /* the hub away from its loop */
  ASSERT_OK(green_joinall(g, 10, 5));
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.spawns - before.spawns, 10);
  ASSERT_GE(st.greenlets_peak, 10);
  ASSERT_EQ(st.greenlets, 0);
  ASSERT_GE(st.parks[GREEN_WAIT_SLEEP] - before.parks[GREEN_WAIT_SLEEP], 10);
  ASSERT_GE(st.parks[GREEN_WAIT_JOIN] - before.parks[GREEN_WAIT_JOIN], 1);
  ASSERT_EQ(st.parks[GREEN_WAIT_FD], before.parks[GREEN_WAIT_FD]);
  ASSERT_GE(st.switches - before.switches, 20);
  ASSERT_GE(st.longest_away, 0.04);
  ASSERT_LT(st.longest_away, 10);
  ASSERT_GT(st.stack_bytes_reserved, 10 * 256 * 1024);
  ASSERT_GT(st.stack_bytes_committed, 0);
  ASSERT_LE(st.stack_bytes_committed, st.stack_bytes_reserved);
  ASSERT_EQ(st.preemptions, 0);
  ASSERT_TRUE(strcmp(green_wait_name(GREEN_WAIT_MUTEX), "mutex") == 0);
  errno = 0;
  ASSERT_PTR_EQ(green_wait_name(GREEN_WAIT_KINDS), NULL);
  ASSERT_EQ(errno, EINVAL);
  errno = 0;
  ASSERT_PTR_EQ(green_wait_name(-1), NULL);
  ASSERT_EQ(errno, EINVAL);
}

/* ---- a DNS lookup ------------------------------------------------------------------------ */

__attribute__((noinline)) void *dump_test_resolver(void *arg) {
  struct addrinfo *res = NULL;
  int r = green_getaddrinfo("dump-test.invalid", "80", NULL, &res);
  (void)arg;
  if (r == 0) green_freeaddrinfo(res);
  return r == EAI_SYSTEM && errno == ECANCELED ? NULL : (void *)1;
}

/* A lookup sent to a server that never answers is listed with the name it looks up. */
TEST_CASE(dns_lookup) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  char servers[64], *dump, *s;
  int silent = socket(AF_INET, SOCK_DGRAM, 0);
  green_t *g;
  void *r;
  ASSERT_OK(bind(silent, (struct sockaddr *)&sa, sizeof sa));
  ASSERT_OK(getsockname(silent, (struct sockaddr *)&sa, &len));
  snprintf(servers, sizeof servers, "127.0.0.1:%d", ntohs(sa.sin_port));
  ASSERT_OK(setenv("GREEN_DNS_SERVERS", servers, 1));
  ASSERT_PTR_NE(g = green_spawn(dump_test_resolver, NULL), NULL);
  ASSERT_OK(green_sleep(0.05));
  dump = capture_stderr(dump_to_stderr, NULL);
  fputs(dump, stdout);
  ASSERT_TRUE((s = section(dump, green_id(g))) != NULL);
  ASSERT_TRUE(strstr(s, "[waiting on DNS lookup of \"dump-test.invalid\", for 0.") != NULL);
  ASSERT_TRUE(strstr(s, "dump_test_resolver") != NULL);
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, &r, 5));
  ASSERT_PTR_EQ(r, NULL);
  close(silent);
}
