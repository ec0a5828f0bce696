/* SPDX-License-Identifier: MIT */
/*
 * The thread pool (gevent's threadpool, libuv's work queue). green_threadpool_run runs a
 * blocking function on a worker thread and parks only the calling greenlet.
 *
 * One pool per process. Workers start on demand, up to the size: GREEN_THREADPOOL_SIZE, else
 * 4 per core, at least 4. They run with every signal blocked. They live until the process ends:
 * they are detached, and exit does not wait for a job still running. A finished job goes back
 * to its hub through the hub's handle (threadsafe.c). The job holds a reference to that handle.
 * The hub's thread may have exited meanwhile; then the worker frees the job itself.
 *
 * The job record is shared by the worker and the hub, never on a greenlet's stack. A caller
 * that gives up (killed, deadline) returns at once. It leaves the record to be freed when the
 * job comes back. Only the hub's thread reads or writes `waiter` and `done`.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "hibernate.h"
#include "threadsafe.h"
#include "wait.h"

enum { MAX_SIZE = 1024 };

typedef struct job {
  green__list_t link;       /* in the pool's queue until a worker takes it */
  green__remote_t remote;   /* its way back to the hub */
  void *(*fn)(void *);
  void *arg;
  void *result;
  green_hub_t *hub;         /* a reference, given back when the job is freed */
  green_t *waiter;          /* the parked caller; NULL once it has given up */
  int done;                 /* it has come back to the hub */
} job_t;

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  green__list_t queue;      /* jobs no worker has taken, FIFO */
  size_t queued, size, workers, busy;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {&pool.queue, &pool.queue},
          0, 0, 0, 0};

static size_t default_size(void) {
  const char *env = getenv("GREEN_THREADPOOL_SIZE");
  long cores;
  if (env && *env) {
    char *end;
    unsigned long n = strtoul(env, &end, 10);
    if (!*end && n >= 1 && n <= MAX_SIZE) return n;
  }
  cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 1 ? (size_t)(cores < MAX_SIZE / 4 ? 4 * cores : MAX_SIZE) : 4;
}

static void job_free(job_t *j) {
  green__hub_unref(j->hub);
  free(j);
}

/* On the hub's stack: the job is back. Wake its caller, or free it if the caller gave up. */
static void job_back(green__remote_t *r) {
  job_t *j = green__container_of(r, job_t, remote);
  j->done = 1;
  if (j->waiter) green__wake(green__hub_get(), j->waiter, 0);
  else job_free(j);
}

/* The job's hub went away with its thread before the job came back. */
static void job_orphaned(green__remote_t *r) { job_free(green__container_of(r, job_t, remote)); }

static void *worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&pool.mu);
  for (;;) {
    job_t *j;
    while (!pool.queued && pool.workers <= pool.size) pthread_cond_wait(&pool.cv, &pool.mu);
    if (pool.workers > pool.size) break; /* the pool was made smaller */
    j = green__container_of(green__list_pop_front(&pool.queue), job_t, link);
    pool.queued--;
    pool.busy++;
    pthread_mutex_unlock(&pool.mu);
    j->result = j->fn(j->arg);
    pthread_mutex_lock(&pool.mu);
    pool.busy--; /* before the hub hears of it: a job it submits next finds this worker free */
    if (green__hub_post(j->hub, &j->remote) < 0) job_free(j);
  }
  pool.workers--;
  pthread_mutex_unlock(&pool.mu);
  return NULL;
}

/* Under pool.mu. */
static int start_worker(void) {
  pthread_attr_t attr;
  pthread_t t;
  sigset_t all, old;
  int err;
  if (pthread_attr_init(&attr)) return -ENOMEM;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  green__hibernate_restore_all(green__hub_tls); /* hibernate.c: one thread only */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* the worker inherits it: signals stay ours */
  err = pthread_create(&t, &attr, worker, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (err) return -err;
  pool.workers++;
  return 0;
}

/* Queue j; start a worker if the jobs queued outnumber the workers not running one and the
 * pool may grow. Fails only when no worker exists and none can be started. */
static int submit(job_t *j) {
  int r = 0;
  pthread_mutex_lock(&pool.mu);
  if (!pool.size) pool.size = default_size();
  green__list_push_back(&pool.queue, &j->link);
  pool.queued++;
  if (pool.queued > pool.workers - pool.busy && pool.workers < pool.size) r = start_worker();
  pthread_cond_signal(&pool.cv);
  if (r < 0 && pool.workers) r = 0; /* a running worker will take it */
  if (r < 0) {
    green__list_remove(&j->link);
    pool.queued--;
  }
  pthread_mutex_unlock(&pool.mu);
  return r;
}

/* What parking would fail with at once; checked before a job is started for nothing. */
static int park_verdict(struct green__hub *h) {
  green_t *g = h->current;
  if (g == &h->hub) return -EPERM;
  return green__may_block(g);
}

int green_threadpool_run(void *(*fn)(void *), void *arg, void **result) {
  struct green__hub *h = green__hub_get();
  job_t *j;
  int r;
  if (!h) return -1;
  if (!fn) return green__fail(-EINVAL);
  if ((r = park_verdict(h))) return green__fail(r);
  if (!(j = calloc(1, sizeof *j))) return green__fail(-ENOMEM);
  if (!(j->hub = green__hub_ref(h, &r))) {
    free(j);
    return green__fail(r);
  }
  j->fn = fn;
  j->arg = arg;
  j->remote.run = job_back;
  j->remote.drop = job_orphaned;
  j->waiter = h->current;
  if ((r = submit(j)) < 0) {
    job_free(j);
    return green__fail(r);
  }
  r = green__park(h, GREEN_WAIT_THREADPOOL, j, INFINITY, 0); /* woken with 0 only by job_back */
  if (!j->done) { /* gave up: the job frees itself when it comes back */
    j->waiter = NULL;
    return green__fail(r);
  }
  if (!r && result) *result = j->result;
  job_free(j);
  return r ? green__fail(r) : 0;
}

int green_threadpool_set_size(size_t n) {
  if (n < 1 || n > MAX_SIZE) return green__fail(-EINVAL);
  pthread_mutex_lock(&pool.mu);
  pool.size = n;
  pthread_cond_broadcast(&pool.cv); /* idle workers beyond the new size leave */
  pthread_mutex_unlock(&pool.mu);
  return 0;
}
