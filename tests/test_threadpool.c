/* SPDX-License-Identifier: MIT */
/* The thread pool: results, lazy start, the bound (environment and setter), the hub staying
 * responsive under 1,000 blocking jobs, kill and deadline while a job runs, a hub that exits
 * with a job out, process exit with a job still blocked. */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/wait.h>

#include "test.h"

/* Threads of this process, from /proc/self/task. */
static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int n = 0;
  ASSERT_TRUE(d != NULL);
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

static pthread_t main_thread;

static void *twice_elsewhere(void *arg) {
  ASSERT_TRUE(!pthread_equal(pthread_self(), main_thread)); /* on a worker */
  sleep_s(0.001); /* a really blocking call */
  return (void *)((intptr_t)arg * 2);
}

TEST_CASE(result_and_lazy_start) {
  void *res = NULL;
  main_thread = pthread_self();
  ASSERT_EQ(thread_count(), 1); /* nothing started before the first job */
  ASSERT_OK(green_threadpool_run(twice_elsewhere, (void *)(intptr_t)21, &res));
  ASSERT_EQ((intptr_t)res, 42);
  ASSERT_EQ(thread_count(), 2); /* one job at a time needs one worker */
  ASSERT_OK(green_threadpool_run(twice_elsewhere, (void *)(intptr_t)1, NULL));
  ASSERT_EQ(thread_count(), 2);
}

/* ---- the bound ------------------------------------------------------------------------------ */

static atomic_int busy, max_busy;

/* Counts the jobs running at once; each holds its worker until `target` have been seen
 * running together (or 2 s have passed), so a slow machine cannot hide the bound. */
static void *count_busy(void *arg) {
  int target = (int)(intptr_t)arg;
  int now = atomic_fetch_add(&busy, 1) + 1, seen = atomic_load(&max_busy);
  double end = test_now() + 2;
  while (now > seen && !atomic_compare_exchange_weak(&max_busy, &seen, now)) {
  }
  while (atomic_load(&max_busy) < target && test_now() < end) sleep_s(0.001);
  sleep_s(0.002);
  atomic_fetch_sub(&busy, 1);
  return NULL;
}

static void *run_count_busy(void *arg) {
  ASSERT_OK(green_threadpool_run(count_busy, arg, NULL));
  return NULL;
}

static void run_jobs(int n, int target) {
  green_t **gs = calloc((size_t)n, sizeof *gs);
  int i;
  ASSERT_TRUE(gs != NULL);
  for (i = 0; i < n; i++)
    ASSERT_TRUE((gs[i] = green_spawn(run_count_busy, (void *)(intptr_t)target)));
  ASSERT_OK(green_joinall(gs, (size_t)n, -1));
  free(gs);
}

TEST_CASE(bound_from_environment) {
  ASSERT_OK(setenv("GREEN_THREADPOOL_SIZE", "3", 1));
  run_jobs(24, 3);
  ASSERT_EQ(atomic_load(&max_busy), 3);
  ASSERT_EQ(thread_count(), 1 + 3);
}

TEST_CASE(bound_from_setter) {
  ASSERT_OK(green_threadpool_set_size(5));
  run_jobs(30, 5);
  ASSERT_EQ(atomic_load(&max_busy), 5);
  ASSERT_EQ(thread_count(), 1 + 5);
  ASSERT_OK(green_threadpool_set_size(2)); /* idle workers beyond it leave */
  double end = test_now() + 10;
  while (thread_count() > 1 + 2 && test_now() < end) sleep_s(0.001);
  ASSERT_EQ(thread_count(), 1 + 2);
  atomic_store(&max_busy, 0);
  run_jobs(10, 2);
  ASSERT_EQ(atomic_load(&max_busy), 2);
  ASSERT_ERRNO(green_threadpool_set_size(0), EINVAL);
  ASSERT_ERRNO(green_threadpool_set_size(1025), EINVAL);
}

/* ---- responsiveness --------------------------------------------------------------------------- */

enum { JOBS = 1000 };
static atomic_int jobs_done;
static int ticks, ticks_while_jobs_ran;

static void *blocking_job(void *arg) {
  sleep_s(0.001);
  atomic_fetch_add(&jobs_done, 1);
  return arg;
}

static void *submit_job(void *arg) {
  void *res = NULL;
  ASSERT_OK(green_threadpool_run(blocking_job, arg, &res));
  ASSERT_PTR_EQ(res, arg);
  return NULL;
}

static void *ticker(void *arg) {
  int *stop = arg;
  while (!*stop) {
    ASSERT_OK(green_sleep(0.001));
    ticks++;
    if (atomic_load(&jobs_done) < JOBS) ticks_while_jobs_ran++;
  }
  return NULL;
}

/* 1,000 jobs that each block 1 ms, on (at most) 8 workers: at least 125 ms of work. A greenlet
 * ticking every millisecond meanwhile must keep ticking: the hub is never blocked. */
TEST_CASE(hub_responsive_under_1000_jobs) {
  static green_t *gs[JOBS];
  green_t *tick;
  int stop = 0, i;
  ASSERT_OK(green_threadpool_set_size(8));
  ASSERT_TRUE((tick = green_spawn(ticker, &stop)));
  for (i = 0; i < JOBS; i++) ASSERT_TRUE((gs[i] = green_spawn(submit_job, (void *)(intptr_t)i)));
  ASSERT_OK(green_joinall(gs, JOBS, -1));
  stop = 1;
  ASSERT_OK(green_join(tick, NULL, -1));
  ASSERT_EQ(atomic_load(&jobs_done), JOBS);
  /* 125 ms of jobs and 1 ms ticks would give about 100 ticks; any slowness of the machine
   * stretches both, so 10 is a floor only a blocked hub misses */
  ASSERT_GE(ticks_while_jobs_ran, 10);
}

/* ---- giving up while a job runs ----------------------------------------------------------------- */

typedef struct pipe_job {
  int fd;            /* a blocking pipe: read(2) really blocks the worker */
  atomic_int done;
  int r, err;
  double took;
} pipe_job_t;

static void *read_pipe(void *arg) {
  pipe_job_t *j = arg;
  char c;
  ssize_t n = read(j->fd, &c, 1);
  atomic_store(&j->done, 1);
  return (void *)(intptr_t)n;
}

static void *run_pipe_job(void *arg) {
  pipe_job_t *j = arg;
  double t0 = test_now();
  j->r = green_threadpool_run(read_pipe, j, NULL);
  j->err = errno;
  j->took = test_now() - t0;
  return NULL;
}

static void *noop(void *arg) { return arg; }

/* With one worker, jobs come back in order: once a later job is back, every earlier one has
 * been handled by the hub (and freed). */
static void drain_pool(void) { ASSERT_OK(green_threadpool_run(noop, NULL, NULL)); }

TEST_CASE(kill_while_job_runs) {
  pipe_job_t j = {0, 0, 1, 0, 0};
  int p[2];
  green_t *t;
  ASSERT_OK(green_threadpool_set_size(1));
  ASSERT_OK(pipe(p));
  j.fd = p[0];
  ASSERT_TRUE((t = green_spawn(run_pipe_job, &j)));
  ASSERT_OK(green_sleep(0.02)); /* the job blocks in read */
  ASSERT_OK(green_kill(t));
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(j.r, -1);
  ASSERT_EQ(j.err, ECANCELED);
  ASSERT_EQ(atomic_load(&j.done), 0); /* it returned at once, the job still blocks */
  ASSERT_EQ(write(p[1], "x", 1), 1);
  drain_pool(); /* the dropped job came back and was freed (LeakSanitizer checks) */
  ASSERT_EQ(atomic_load(&j.done), 1);
  close(p[0]);
  close(p[1]);
}

TEST_CASE(deadline_while_job_runs) {
  pipe_job_t j = {0, 0, 1, 0, 0};
  green_deadline_t d;
  int p[2];
  ASSERT_OK(green_threadpool_set_size(1));
  ASSERT_OK(pipe(p));
  j.fd = p[0];
  ASSERT_OK(green_deadline_enter(&d, 0.05));
  run_pipe_job(&j);
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_EQ(j.r, -1);
  ASSERT_EQ(j.err, ETIMEDOUT);
  ASSERT_RANGE(j.took, 0.049, 2.0);
  ASSERT_EQ(atomic_load(&j.done), 0);
  ASSERT_EQ(write(p[1], "x", 1), 1);
  drain_pool();
  close(p[0]);
  close(p[1]);
}

static atomic_int never_ran_job;

static void *mark_ran(void *arg) {
  atomic_store(&never_ran_job, 1);
  return arg;
}

static void *killed_first(void *arg) {
  int *r = arg;
  green_kill(green_current());
  r[0] = green_threadpool_run(mark_ran, NULL, NULL);
  r[1] = errno;
  return NULL;
}

TEST_CASE(killed_before_submitting) {
  int r[2] = {1, 0};
  green_t *t;
  ASSERT_TRUE((t = green_spawn(killed_first, r)));
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(r[0], -1);
  ASSERT_EQ(r[1], ECANCELED);
  ASSERT_EQ(atomic_load(&never_ran_job), 0);
  ASSERT_EQ(thread_count(), 1); /* nothing was started for it */
}

static int cb_r = 1, cb_err;

static void run_from_callback(void *arg) {
  (void)arg;
  cb_r = green_threadpool_run(mark_ran, NULL, NULL);
  cb_err = errno;
}

TEST_CASE(from_callback) {
  ASSERT_NE(green_call_soon(run_from_callback, NULL), 0);
  green_yield();
  ASSERT_EQ(cb_r, -1);
  ASSERT_EQ(cb_err, EPERM);
  ASSERT_EQ(atomic_load(&never_ran_job), 0);
  ASSERT_ERRNO(green_threadpool_run(NULL, NULL, NULL), EINVAL);
}

/* ---- a hub that goes away with a job out -------------------------------------------------------- */

static void *hub_with_job(void *arg) {
  pipe_job_t *j = arg;
  green_t *t;
  ASSERT_TRUE((t = green_spawn(run_pipe_job, j)));
  green_yield(); /* it submits and parks */
  return NULL;   /* the thread exits: its hub goes with the greenlet still parked */
}

TEST_CASE(hub_exits_with_job_out) {
  pipe_job_t j = {0, 0, 1, 0, 0};
  pthread_t t;
  int p[2];
  ASSERT_OK(green_threadpool_set_size(1));
  ASSERT_OK(pipe(p));
  j.fd = p[0];
  ASSERT_EQ(pthread_create(&t, NULL, hub_with_job, &j), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(j.r, 1); /* the greenlet never returned */
  ASSERT_EQ(write(p[1], "x", 1), 1);
  drain_pool(); /* the worker found the hub gone and freed the job itself */
  ASSERT_EQ(atomic_load(&j.done), 1);
  close(p[0]);
  close(p[1]);
}

/* ---- process exit ------------------------------------------------------------------------------- */

static void exit_child(int fd) {
  pipe_job_t j = {fd, 0, 1, 0, 0};
  green_t *t = green_spawn(run_pipe_job, &j);
  if (!t) _exit(2);
  green_sleep(0.01);   /* the job blocks in read for good */
  green_kill(t);
  green_join(t, NULL, -1);
  exit(j.err == ECANCELED ? 0 : 3); /* must not wait for the worker */
}

TEST_CASE(process_exits_with_job_blocked) {
  int p[2], status = 0;
  pid_t pid;
  double end;
  ASSERT_OK(pipe(p));
  fflush(stdout);
  fflush(stderr);
  ASSERT_OK(pid = fork());
  if (pid == 0) exit_child(p[0]);
  end = test_now() + 20;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (test_now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      TEST_FAIL("the child did not exit: it waited for its worker");
    }
    sleep_s(0.005);
  }
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  close(p[0]);
  close(p[1]);
}
