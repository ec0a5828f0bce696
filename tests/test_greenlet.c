/* SPDX-License-Identifier: MIT */
/* Greenlet lifecycle: spawn, states, yield, join, joinall, detach, kill, stacks. */
#include <fcntl.h>
#include <fenv.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

/* What one blocking call of a greenlet gave: its result, errno and duration. */
typedef struct call {
  double seconds; /* input of sleeper */
  int r;
  int err;
  double took;
} call_t;

static void *ret_arg(void *arg) { return arg; }

static void *sleeper(void *arg) {
  call_t *c = arg;
  double t0 = test_now();
  c->r = green_sleep(c->seconds);
  c->err = errno;
  c->took = test_now() - t0;
  return NULL;
}

static green_t *spawn_sleeper(call_t *c, double seconds) {
  green_t *g;
  c->seconds = seconds;
  c->r = 1;
  ASSERT_TRUE((g = spread_spawn_parked(sleeper, c)) != NULL);
  return g;
}

/* ---- spawn, current, states ---------------------------------------------------------- */

TEST_CASE(spawn_join_result) {
  green_t *g = spread_spawn(ret_arg, (void *)(intptr_t)42);
  void *res = NULL;
  ASSERT_PTR_NE(g, NULL);
  ASSERT_OK(green_join(g, &res, -1));
  ASSERT_EQ((intptr_t)res, 42);
  /* result may be NULL */
  ASSERT_TRUE((g = spread_spawn(ret_arg, NULL)) != NULL);
  ASSERT_OK(green_join(g, NULL, -1));
}

static green_t *seen_current;

static void *record_current(void *arg) {
  (void)arg;
  seen_current = green_current();
  return NULL;
}

TEST_CASE(current) {
  green_t *main_g = green_current();
  green_t *g;
  ASSERT_PTR_NE(main_g, NULL);
  ASSERT_EQ(green_state(main_g), GREEN_RUNNING);
  ASSERT_TRUE((g = green_spawn(record_current, NULL)) != NULL);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_PTR_EQ(seen_current, g);
  ASSERT_PTR_NE(seen_current, main_g);
  ASSERT_PTR_EQ(green_current(), main_g);
}

static green_t *state_g[2];
static int state_running[2];
static int state_other_after_wake = -1;

/* Greenlet i sleeps 10*(i+1) ms; the first to wake records the other's state. */
static void *state_fn(void *arg) {
  int i = (int)(intptr_t)arg;
  state_running[i] = green_state(green_current());
  ASSERT_OK(green_sleep(0.01 * (i + 1)));
  if (state_other_after_wake == -1) state_other_after_wake = green_state(state_g[1 - i]);
  return NULL;
}

TEST_CASE(states) {
  int i;
  for (i = 0; i < 2; i++) {
    ASSERT_TRUE((state_g[i] = green_spawn(state_fn, (void *)(intptr_t)i)) != NULL);
    ASSERT_EQ(green_state(state_g[i]), GREEN_NEW);
  }
  green_yield(); /* both run and park; the hub has not polled yet */
  for (i = 0; i < 2; i++) {
    ASSERT_EQ(state_running[i], GREEN_RUNNING);
    ASSERT_EQ(green_state(state_g[i]), GREEN_BLOCKED);
  }
  /* Both timers expire while main spins, so one poll wakes both: the first to run sees
   * the other woken but not yet running. */
  test_busy_wait(0.05);
  ASSERT_OK(green_join(state_g[0], NULL, -1));
  ASSERT_OK(green_join(state_g[1], NULL, -1));
  ASSERT_EQ(state_other_after_wake, GREEN_READY);
}

TEST_CASE(state_dead_before_join) {
  green_t *g = spread_spawn_parked(ret_arg, (void *)(intptr_t)7);
  void *res = NULL;
  ASSERT_PTR_NE(g, NULL);
  green_yield(); /* g was queued first: it runs to its end before main is back */
  ASSERT_EQ(green_state(g), GREEN_DEAD);
  ASSERT_OK(green_join(g, &res, -1));
  ASSERT_EQ((intptr_t)res, 7);
}

/* ---- yield and the ready queue -------------------------------------------------------- */

enum { RR_ROUNDS = 1000 };
static int rr_log[3 * RR_ROUNDS];
static int rr_n;

static void *round_robin(void *arg) {
  int i;
  for (i = 0; i < RR_ROUNDS; i++) {
    rr_log[rr_n++] = (int)(intptr_t)arg;
    green_yield();
  }
  return NULL;
}

TEST_CASE(yield_round_robin) {
  green_t *gs[3];
  int i;
  for (i = 0; i < 3; i++) ASSERT_TRUE((gs[i] = green_spawn(round_robin, (void *)(intptr_t)i)));
  ASSERT_OK(green_joinall(gs, 3, -1));
  ASSERT_EQ(rr_n, 3 * RR_ROUNDS);
  for (i = 0; i < rr_n; i++) {
    if (rr_log[i] != i % 3) TEST_FAIL("log[%d] = %d, expected %d", i, rr_log[i], i % 3);
  }
}

static int fifo_log[16];
static int fifo_n;

static void *log_id(void *arg) {
  fifo_log[fifo_n++] = (int)(intptr_t)arg;
  return NULL;
}

TEST_CASE(ready_queue_fifo) {
  green_t *gs[16];
  int i;
  for (i = 0; i < 16; i++) ASSERT_TRUE((gs[i] = green_spawn(log_id, (void *)(intptr_t)i)));
  ASSERT_EQ(fifo_n, 0); /* spawning does not run them */
  ASSERT_OK(green_joinall(gs, 16, -1));
  ASSERT_EQ(fifo_n, 16);
  for (i = 0; i < 16; i++) ASSERT_EQ(fifo_log[i], i);
}

/* ---- join ---------------------------------------------------------------------------- */

TEST_CASE(join_timeout) {
  call_t c;
  green_t *g = spawn_sleeper(&c, 1.0);
  double t0 = test_now();
  ASSERT_ERRNO(green_join(g, NULL, 0.05), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.049, 0.9);
  ASSERT_EQ(green_state(g), GREEN_BLOCKED); /* the handle is still valid */
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(c.r, 0);
}

TEST_CASE(join_null) { ASSERT_ERRNO(green_join(NULL, NULL, -1), EINVAL); }

static int self_join_r, self_join_err;

static void *join_self(void *arg) {
  (void)arg;
  self_join_r = green_join(green_current(), NULL, 0.5);
  self_join_err = errno;
  return NULL;
}

TEST_CASE(join_self) {
  green_t *g = spread_spawn(join_self, NULL);
  ASSERT_PTR_NE(g, NULL);
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(self_join_r, -1);
  ASSERT_EQ(self_join_err, EDEADLK);
  ASSERT_ERRNO(green_join(green_current(), NULL, 0.5), EDEADLK); /* the main greenlet */
}

static call_t detached_sleep;

TEST_CASE(join_detached) {
  /* On another hub a greenlet may end before the detach, which then releases it (ESRCH):
   * there it sleeps, so that it is alive when detached. */
  green_t *g = test_spread() ? spawn_sleeper(&detached_sleep, 0.2) : green_spawn(ret_arg, NULL);
  ASSERT_PTR_NE(g, NULL);
  ASSERT_OK(green_detach(g));
  ASSERT_ERRNO(green_join(g, NULL, -1), EINVAL);
  ASSERT_OK(green_sleep(0.01)); /* let it run and be reaped */
}

typedef struct joiner {
  green_t *target;
  int r, err;
} joiner_t;

static void *join_target(void *arg) {
  joiner_t *j = arg;
  j->r = green_join(j->target, NULL, -1);
  j->err = errno;
  return NULL;
}

TEST_CASE(join_two_joiners) {
  call_t c;
  joiner_t j1 = {NULL, 1, 0}, j2 = {NULL, 1, 0};
  /* t lives until both joiners have tried; on another hub they take longer to start */
  green_t *t = spawn_sleeper(&c, test_spread() ? 0.5 : 0.05), *g1, *g2;
  j1.target = j2.target = t;
  ASSERT_TRUE((g1 = spread_spawn_parked(join_target, &j1)) != NULL);
  ASSERT_TRUE((g2 = spread_spawn(join_target, &j2)) != NULL);
  ASSERT_OK(green_join(g2, NULL, -1)); /* g1 runs first and claims t */
  ASSERT_EQ(j2.r, -1);
  ASSERT_EQ(j2.err, EINVAL);
  ASSERT_OK(green_join(g1, NULL, -1));
  ASSERT_EQ(j1.r, 0);
  ASSERT_EQ(c.r, 0);
}

TEST_CASE(join_released) {
  green_t *g = spread_spawn(ret_arg, NULL);
  ASSERT_PTR_NE(g, NULL);
  ASSERT_OK(green_join(g, NULL, -1));
  /* nothing spawned since: the handle's memory is not reused */
  ASSERT_ERRNO(green_join(g, NULL, -1), ESRCH);
  ASSERT_EQ(green_state(g), -1);
}

/* Every call on a handle whose greenlet is gone fails with ESRCH and touches nothing. */
static void assert_stale(green_t *g) {
  ASSERT_ERRNO(green_join(g, NULL, 0), ESRCH);
  ASSERT_ERRNO(green_kill(g), ESRCH);
  ASSERT_ERRNO(green_detach(g), ESRCH);
  ASSERT_ERRNO(green_state(g), ESRCH);
  ASSERT_ERRNO(green_set_name(g, "stale"), ESRCH);
  ASSERT_EQ(green_id(g), 0);
  ASSERT_EQ(errno, ESRCH);
}

/* A released handle's record goes to the next spawn; the old handle must not reach it. */
TEST_CASE(stale_handle_reused) {
  call_t c;
  void *res = NULL;
  green_t *old = green_spawn(ret_arg, NULL), *g;
  ASSERT_PTR_NE(old, NULL);
  ASSERT_OK(green_join(old, NULL, -1));
  g = spawn_sleeper(&c, 0.01);
  ASSERT_PTR_NE(g, old);
  assert_stale(old);
  ASSERT_EQ(green_state(g), GREEN_NEW);
  ASSERT_OK(green_join(g, &res, -1)); /* the kill did not reach it */
  ASSERT_EQ(c.r, 0);
}

/* Handles kept across many spawns and joins (each record reused many times) stay stale. */
TEST_CASE(stale_handles_many) {
  green_t *stale[200], *live[8];
  int i, j;
  for (i = 0; i < 200; i++) {
    for (j = 0; j < 8; j++) ASSERT_PTR_NE(live[j] = green_spawn(ret_arg, NULL), NULL);
    for (j = 0; j < i; j += 7) assert_stale(stale[j]); /* their records are live again */
    stale[i] = live[i % 8];
    for (j = 0; j < 8; j++) ASSERT_OK(green_join(live[j], NULL, -1));
  }
}

/* The handles of a thread whose hub went away with it: its greenlets, its main greenlet. */
static void *leave_handles(void *arg) {
  green_t **gs = arg;
  call_t c;
  gs[0] = spawn_sleeper(&c, 60); /* still parked when the thread exits */
  gs[1] = green_spawn(ret_arg, NULL);
  gs[2] = green_current();
  green_yield(); /* gs[1] ends, never joined */
  return NULL;
}

TEST_CASE(exited_thread_handles) {
  green_t *gone[3] = {NULL, NULL, NULL}, *mine[8];
  pthread_t t;
  int i;
  ASSERT_EQ(pthread_create(&t, NULL, leave_handles, gone), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  for (i = 0; i < 8; i++) ASSERT_PTR_NE(mine[i] = green_spawn(ret_arg, NULL), NULL);
  for (i = 0; i < 3; i++) assert_stale(gone[i]); /* ASan: no read of the freed records */
  for (i = 0; i < 8; i++) ASSERT_OK(green_join(mine[i], NULL, -1));
}

/* ---- fork: the child starts with a fresh hub -------------------------------------------- */

typedef struct forked {
  int data[2];     /* the parent's reader waits on data[0] */
  int marks[2];    /* each run of `marker` writes 'P' in the parent, 'C' in a child */
  pid_t parent;
  green_t *reader; /* the parent's: a stale handle in the child */
  char got[8];
  ssize_t n;
} forked_t;

static void *read_data(void *arg) {
  forked_t *f = arg;
  f->n = green_read(f->data[0], f->got, sizeof f->got);
  return NULL;
}

static void *marker(void *arg) {
  forked_t *f = arg;
  char mark = getpid() == f->parent ? 'P' : 'C';
  green_sleep(0.05);
  if (write(f->marks[1], &mark, 1) != 1) abort();
  return NULL;
}

static void forked_setup(forked_t *f) {
  memset(f, 0, sizeof *f);
  ASSERT_OK(pipe(f->data));
  ASSERT_OK(pipe(f->marks));
  ASSERT_OK(fcntl(f->marks[0], F_SETFL, O_NONBLOCK));
  f->parent = getpid();
  fflush(stdout);
  fflush(stderr);
}

/* The child runs its own hub a while: only greenlets it spawns may run there. */
static int child_checks(forked_t *f) {
  green_t *g;
  if (green_sleep(0.2) != 0) return 11;
  if (!(g = green_spawn(ret_arg, f)) || green_join(g, NULL, 1) != 0) return 12;
  if (green_state(f->reader) != -1 || errno != ESRCH) return 10; /* the parent's handle */
  return 0;
}

/* After the child has exited: the parent's reader gets the data, only the parent marked. */
static void forked_verify(forked_t *f, green_t *reader, green_t *mark, pid_t pid) {
  int status;
  char marks[8];
  ASSERT_EQ(write(f->data[1], "hello", 5), 5);
  ASSERT_EQ(waitpid(pid, &status, 0), pid); /* the parent's hub does not run meanwhile */
  ASSERT_OK(green_join(reader, NULL, 2));
  ASSERT_EQ(f->n, 5);
  ASSERT_TRUE(memcmp(f->got, "hello", 5) == 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_OK(green_join(mark, NULL, 2));
  ASSERT_EQ(read(f->marks[0], marks, sizeof marks), 1);
  ASSERT_EQ(marks[0], 'P');
  green_close(f->data[0]);
  close(f->data[1]);
  close(f->marks[0]);
  close(f->marks[1]);
}

TEST_CASE(fork_child_fresh_hub) {
  forked_t f;
  green_t *reader, *mark;
  pid_t pid;
  forked_setup(&f);
  ASSERT_PTR_NE(f.reader = reader = green_spawn(read_data, &f), NULL);
  ASSERT_PTR_NE(mark = green_spawn(marker, &f), NULL);
  green_yield(); /* both parked */
  ASSERT_EQ(green_state(reader), GREEN_BLOCKED);
  ASSERT_OK(pid = fork());
  if (pid == 0) _exit(child_checks(&f));
  forked_verify(&f, reader, mark, pid);
}

/* A greenlet forks; in the child it returns, which ends the child (exit 0). */
static void *fork_and_return(void *arg) {
  forked_t *f = arg;
  pid_t pid = fork();
  int r;
  if (pid != 0) return (void *)(intptr_t)pid;
  if ((r = child_checks(f)) != 0) _exit(r);
  return NULL;
}

TEST_CASE(fork_from_greenlet) {
  forked_t f;
  green_t *reader, *mark, *forker;
  void *pid = NULL;
  forked_setup(&f);
  ASSERT_PTR_NE(f.reader = reader = green_spawn(read_data, &f), NULL);
  ASSERT_PTR_NE(mark = green_spawn(marker, &f), NULL);
  ASSERT_PTR_NE(forker = green_spawn(fork_and_return, &f), NULL);
  ASSERT_OK(green_join(forker, &pid, 2));
  ASSERT_TRUE((intptr_t)pid > 0);
  forked_verify(&f, reader, mark, (pid_t)(intptr_t)pid);
}

/* A greenlet of another thread's hub, never joined there: once that thread has exited, its
 * handle gives ESRCH here (its record is gone with the hub, and is never touched). Joins
 * across live hubs: tests/test_hubs.c. */
typedef struct other_hub {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  green_t *g;
  int done;
  int join_r;
} other_hub_t;

static void *other_thread(void *arg) {
  other_hub_t *o = arg;
  green_t *g = green_spawn(ret_arg, NULL);
  pthread_mutex_lock(&o->mu);
  o->g = g;
  pthread_cond_broadcast(&o->cv);
  while (!o->done) pthread_cond_wait(&o->cv, &o->mu);
  pthread_mutex_unlock(&o->mu);
  o->join_r = g ? green_state(g) : -2;
  green_yield(); /* g ends, unjoined */
  return NULL;
}

TEST_CASE(join_other_thread) {
  other_hub_t o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 1};
  pthread_t t;
  green_t *g;
  ASSERT_EQ(pthread_create(&t, NULL, other_thread, &o), 0);
  pthread_mutex_lock(&o.mu);
  while (!o.g) pthread_cond_wait(&o.cv, &o.mu);
  g = o.g;
  o.done = 1;
  pthread_cond_broadcast(&o.cv);
  pthread_mutex_unlock(&o.mu);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(o.join_r, GREEN_NEW); /* valid on its own hub */
  ASSERT_ERRNO(green_join(g, NULL, -1), ESRCH);
  ASSERT_ERRNO(green_state(g), ESRCH);
  ASSERT_ERRNO(green_kill(g), ESRCH);
}

/* ---- detach -------------------------------------------------------------------------- */

static int detached_ran;

static void *detached_fn(void *arg) {
  (void)arg;
  ASSERT_OK(green_sleep(0.01));
  detached_ran = 1;
  return NULL;
}

TEST_CASE(detach_reaped) {
  green_stats_t st;
  green_t *g = green_spawn(detached_fn, NULL);
  ASSERT_PTR_NE(g, NULL);
  ASSERT_OK(green_detach(g));
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.greenlets, 1);
  ASSERT_OK(green_sleep(0.1));
  ASSERT_EQ(detached_ran, 1);
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.greenlets, 0);
}

TEST_CASE(detach_dead) {
  green_stats_t st;
  green_t *g = green_spawn(ret_arg, NULL);
  ASSERT_PTR_NE(g, NULL);
  green_yield();
  ASSERT_EQ(green_state(g), GREEN_DEAD);
  ASSERT_OK(green_detach(g)); /* released at once */
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.greenlets, 0);
}

/* ---- kill ---------------------------------------------------------------------------- */

TEST_CASE(kill_sleep) {
  call_t c;
  green_t *g = spawn_sleeper(&c, 5.0);
  green_yield(); /* g parks in its sleep */
  ASSERT_EQ(green_state(g), GREEN_BLOCKED);
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(c.r, -1);
  ASSERT_EQ(c.err, ECANCELED);
  ASSERT_RANGE(c.took, 0, 1.0);
}

TEST_CASE(kill_join) {
  call_t c;
  green_t *t = spawn_sleeper(&c, 5.0), *g;
  joiner_t j = {t, 1, 0};
  ASSERT_TRUE((g = spread_spawn_parked(join_target, &j)) != NULL);
  green_yield(); /* t parks in its sleep, g in its join */
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_EQ(j.r, -1);
  ASSERT_EQ(j.err, ECANCELED);
  ASSERT_EQ(green_state(t), GREEN_BLOCKED); /* the target lives on, joinable */
  ASSERT_OK(green_kill(t));
  ASSERT_OK(green_join(t, NULL, -1));
  ASSERT_EQ(c.err, ECANCELED);
}

static int never_ran = 1;

static void *set_ran(void *arg) {
  (void)arg;
  never_ran = 0;
  return (void *)(intptr_t)1;
}

TEST_CASE(kill_before_run) {
  green_t *g = green_spawn(set_ran, NULL);
  void *res = NULL;
  ASSERT_PTR_NE(g, NULL);
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, &res, -1));
  ASSERT_PTR_EQ(res, GREEN_CANCELED);
  ASSERT_EQ(never_ran, 1);
}

typedef struct sticky {
  int fd;
  int r[4], err[4];
} sticky_t;

static void *sticky_fn(void *arg) {
  sticky_t *s = arg;
  char buf[8];
  s->r[0] = green_sleep(5.0); /* killed here */
  s->err[0] = errno;
  s->r[1] = green_sleep(0.01);
  s->err[1] = errno;
  s->r[2] = (int)green_read(s->fd, buf, sizeof buf); /* an empty pipe: it would block */
  s->err[2] = errno;
  s->r[3] = green_wait_fd(s->fd, GREEN_READ, 0.5);
  s->err[3] = errno;
  return NULL;
}

TEST_CASE(kill_sticky) {
  sticky_t s;
  int p[2], i;
  green_t *g;
  ASSERT_OK(pipe(p));
  s.fd = p[0];
  ASSERT_TRUE((g = green_spawn(sticky_fn, &s)) != NULL);
  green_yield();
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, -1));
  for (i = 0; i < 4; i++) {
    if (s.r[i] != -1 || s.err[i] != ECANCELED)
      TEST_FAIL("call %d after the kill: %d (%s), expected -1 ECANCELED", i, s.r[i],
                strerror(s.err[i]));
  }
  ASSERT_OK(green_close(p[0]));
  ASSERT_OK(green_close(p[1]));
}

TEST_CASE(kill_dead) {
  green_t *g = green_spawn(ret_arg, (void *)(intptr_t)5);
  void *res = NULL;
  ASSERT_PTR_NE(g, NULL);
  green_yield();
  ASSERT_EQ(green_state(g), GREEN_DEAD);
  ASSERT_EQ(green_kill(g), 0);
  ASSERT_OK(green_join(g, &res, -1));
  ASSERT_EQ((intptr_t)res, 5);
}

TEST_CASE(kill_null) { ASSERT_ERRNO(green_kill(NULL), EINVAL); }

/* ---- joinall ------------------------------------------------------------------------- */

static int squares[8];

static void *square(void *arg) {
  int i = (int)(intptr_t)arg;
  ASSERT_OK(green_sleep(0.001 * (8 - i)));
  squares[i] = i * i;
  return NULL;
}

TEST_CASE(joinall) {
  TEST_ONE_HUB("green_joinall takes greenlets of the caller's hub only");
  green_t *gs[8];
  green_stats_t st;
  int i;
  for (i = 0; i < 8; i++) ASSERT_TRUE((gs[i] = green_spawn(square, (void *)(intptr_t)i)));
  ASSERT_OK(green_joinall(gs, 8, -1));
  for (i = 0; i < 8; i++) ASSERT_EQ(squares[i], i * i);
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.greenlets, 0);
}

TEST_CASE(joinall_timeout) {
  TEST_ONE_HUB("green_joinall takes greenlets of the caller's hub only");
  call_t c[3];
  green_t *gs[3];
  green_stats_t st;
  double t0;
  gs[0] = spawn_sleeper(&c[0], 0.0);
  gs[1] = spawn_sleeper(&c[1], 5.0);
  gs[2] = spawn_sleeper(&c[2], 0.01);
  t0 = test_now();
  ASSERT_ERRNO(green_joinall(gs, 3, 0.1), ETIMEDOUT);
  ASSERT_RANGE(test_now() - t0, 0.099, 2.0);
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.greenlets, 3); /* none released */
  ASSERT_EQ(green_state(gs[0]), GREEN_DEAD);
  ASSERT_EQ(green_state(gs[1]), GREEN_BLOCKED);
  ASSERT_EQ(green_state(gs[2]), GREEN_DEAD);
  ASSERT_OK(green_kill(gs[1]));
  ASSERT_OK(green_joinall(gs, 3, -1));
  ASSERT_EQ(c[0].r, 0);
  ASSERT_EQ(c[1].err, ECANCELED);
  ASSERT_EQ(c[2].r, 0);
}

/* ---- many greenlets ------------------------------------------------------------------ */

static void *plus_one(void *arg) { return (void *)((intptr_t)arg + 1); }

TEST_CASE(spawn_100k) {
  enum { TOTAL = 100000, BATCH = 1000 };
  static green_t *gs[BATCH];
  long long sum = 0;
  int b, i;
  for (b = 0; b < TOTAL / BATCH; b++) {
    for (i = 0; i < BATCH; i++) {
      gs[i] = green_spawn(plus_one, (void *)(intptr_t)(b * BATCH + i));
      if (!gs[i]) TEST_FAIL("spawn %d: %s", b * BATCH + i, strerror(errno));
    }
    for (i = 0; i < BATCH; i++) {
      void *res;
      ASSERT_OK(green_join(gs[i], &res, -1));
      sum += (intptr_t)res;
    }
  }
  ASSERT_EQ(sum, (long long)TOTAL * (TOTAL + 1) / 2);
}

enum { IDLE = 100000 };
static green_t *idle_g[IDLE];
static int idle_r[IDLE];
static int idle_fd;

static void *idle_fn(void *arg) {
  idle_r[(intptr_t)arg] = green_wait_fd(idle_fd, GREEN_READ, 60.0);
  return NULL;
}

/* 100,000 parked at once: more stacks than vm.max_map_count could give guard pages to. */
TEST_CASE(idle_100k) {
  green_stats_t st;
  int p[2], i;
  ASSERT_OK(pipe(p));
  idle_fd = p[0];
  for (i = 0; i < IDLE; i++) {
    idle_g[i] = green_spawn(idle_fn, (void *)(intptr_t)i);
    if (!idle_g[i]) TEST_FAIL("spawn %d: %s", i, strerror(errno));
  }
  green_yield(); /* all of them run and park */
  ASSERT_OK(green_stats(&st));
  ASSERT_EQ(st.greenlets, IDLE);
  ASSERT_EQ(st.blocked, IDLE);
  ASSERT_GE(st.stacks_in_use, IDLE);
  ASSERT_GE(st.stacks_guarded + st.stacks_unguarded, IDLE);
  ASSERT_GT(st.stacks_guarded, 0);
  ASSERT_EQ(write(p[1], "x", 1), 1);
  ASSERT_OK(green_joinall(idle_g, IDLE, -1));
  for (i = 0; i < IDLE; i++) {
    if (idle_r[i] != GREEN_READ) TEST_FAIL("greenlet %d: wait_fd gave %d", i, idle_r[i]);
  }
  ASSERT_OK(green_close(p[0]));
  ASSERT_OK(close(p[1]));
}

/* ---- stacks -------------------------------------------------------------------------- */

/* Uses about `bytes` of stack, 4 KiB a frame, touching all of it; returns the frame count. */
static int touch_stack(size_t bytes) {
  volatile char buf[4096];
  size_t i;
  for (i = 0; i < sizeof buf; i += 256) buf[i] = 1;
  return buf[0] + (bytes > sizeof buf ? touch_stack(bytes - sizeof buf) : 0);
}

static void *use_stack(void *arg) {
  return (void *)(intptr_t)touch_stack((size_t)(uintptr_t)arg);
}

static void run_with_stack(size_t stack, size_t used) {
  void *res = NULL;
  green_t *g = green_spawn_stack(use_stack, (void *)(uintptr_t)used, stack);
  if (!g) TEST_FAIL("spawn with a %zu-byte stack: %s", stack, strerror(errno));
  ASSERT_OK(green_join(g, &res, -1));
  ASSERT_EQ((intptr_t)res, (used + 4095) / 4096);
}

TEST_CASE(stack_size) {
  run_with_stack(64 * 1024, 16 * 1024);
  run_with_stack(1024 * 1024, 16 * 1024);
  run_with_stack(1024 * 1024, 200 * 1024);
  run_with_stack(0, 16 * 1024); /* the default */
  run_with_stack(100 * 1000, 16 * 1024); /* not a page multiple: rounded up */
}

static volatile int overflow_stop = INT_MAX;

static int recurse(int depth) {
  volatile char buf[1024];
  buf[depth % 1024] = (char)depth;
  if (depth == overflow_stop) return 0;
  return recurse(depth + 1) + buf[depth % 1024];
}

static void *overflow(void *arg) {
  (void)arg;
  return (void *)(intptr_t)recurse(0);
}

static void overflow_child(void) {
  struct rlimit no_core = {0, 0};
  green_t *g;
  setrlimit(RLIMIT_CORE, &no_core);
  g = green_spawn_stack(overflow, NULL, 64 * 1024);
  if (g) green_join(g, NULL, -1);
  _exit(0); /* survived: the guard page did not stop it */
}

TEST_CASE(stack_overflow_guard) {
  int status;
  pid_t pid;
  fflush(stdout);
  fflush(stderr);
  ASSERT_OK(pid = fork());
  if (pid == 0) overflow_child();
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
#ifdef TEST_ASAN
  /* AddressSanitizer catches the fault itself, reports a stack overflow and exits 1. */
  printf("ASan build: expecting the child to die of a signal or fail\n");
  ASSERT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0));
#else
  /* The guard page's fault is reported and aborts (test_overflow.c checks the report). */
  if (!WIFSIGNALED(status)) TEST_FAIL("child was not killed by a signal (status %#x)", status);
  ASSERT_EQ(WTERMSIG(status), SIGABRT);
#endif
}

/* ---- floating-point control state ------------------------------------------------------ */

static int rounding_seen[4];

static void *rounding_fn(void *arg) {
  int mode = (int)(intptr_t)arg, i = mode == FE_UPWARD ? 0 : 2;
  rounding_seen[i] = fegetround(); /* inherited from the spawner */
  ASSERT_EQ(fesetround(mode), 0);
  green_yield();
  green_yield();
  rounding_seen[i + 1] = fegetround(); /* its own, whatever the other one set meanwhile */
  return NULL;
}

/* The rounding mode (MXCSR and the x87 control word) is callee-saved state: each greenlet
 * keeps its own across switches, and the main greenlet's survives theirs. */
TEST_CASE(fp_control_per_greenlet) {
  green_t *g[2];
  ASSERT_EQ(fegetround(), FE_TONEAREST);
  ASSERT_PTR_NE(g[0] = green_spawn(rounding_fn, (void *)(intptr_t)FE_UPWARD), NULL);
  ASSERT_PTR_NE(g[1] = green_spawn(rounding_fn, (void *)(intptr_t)FE_DOWNWARD), NULL);
  ASSERT_OK(green_joinall(g, 2, -1));
  ASSERT_EQ(rounding_seen[0], FE_TONEAREST);
  ASSERT_EQ(rounding_seen[1], FE_UPWARD);
  ASSERT_EQ(rounding_seen[2], FE_TONEAREST);
  ASSERT_EQ(rounding_seen[3], FE_DOWNWARD);
  ASSERT_EQ(fegetround(), FE_TONEAREST);
  ASSERT_EQ(lrint(2.5), 2); /* the SSE/FPCR rounding in use is the default again */
}

/* ---- deadlock and teardown ------------------------------------------------------------- */

static void *sleep_forever_fn(void *arg) {
  (void)arg;
  return green_sleep(INFINITY) == 0 ? NULL : (void *)(intptr_t)errno;
}

/* Nothing can ever wake the greenlet main joins: main's join fails with EDEADLK instead of
 * hanging (Go panics, gevent raises LoopExit), and the greenlets stay usable. */
TEST_CASE(deadlock_edeadlk) {
  void *r;
  green_t *g = green_spawn(sleep_forever_fn, NULL);
  ASSERT_PTR_NE(g, NULL);
  ASSERT_ERRNO(green_join(g, NULL, -1), EDEADLK);
  ASSERT_EQ(green_state(g), GREEN_BLOCKED);
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, &r, -1));
  ASSERT_EQ((intptr_t)r, ECANCELED);
}

static void *teardown_thread(void *arg) {
  int *fds = arg;
  green_t *g;
  ASSERT_PTR_NE(g = green_spawn(sleep_forever_fn, NULL), NULL);           /* parked */
  ASSERT_PTR_NE(green_spawn(detached_fn, NULL), NULL);                   /* never run */
  green_yield();
  ASSERT_EQ(green_state(g), GREEN_BLOCKED);
  ASSERT_ERRNO(green_wait_fd(fds[0], GREEN_READ, 0.001), ETIMEDOUT);     /* a watcher */
  return NULL;
}

/* A thread may end while its greenlets are parked or never ran: its hub frees their stacks,
 * handles, watchers and loop (LeakSanitizer checks it in the ASan build). */
TEST_CASE(hub_teardown_live_greenlets) {
  pthread_t t;
  int fds[2];
  green_stats_t st;
  ASSERT_OK(pipe(fds));
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ(pthread_create(&t, NULL, teardown_thread, fds), 0);
    ASSERT_EQ(pthread_join(t, NULL), 0);
  }
  ASSERT_OK(green_stats(&st)); /* this thread's hub is untouched */
  ASSERT_EQ(st.greenlets, 0);
  close(fds[0]);
  close(fds[1]);
}

/* ---- running out of memory ------------------------------------------------------------- */
#ifndef TEST_ASAN /* ASan's shadow memory needs more address space than the cap allows */

static void *wait_kill_fn(void *arg) {
  (void)arg;
  green_sleep(INFINITY);
  return NULL;
}

/* Current address-space size in bytes. */
static size_t vm_size(void) {
  unsigned long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  ASSERT_PTR_NE(f, NULL);
  ASSERT_EQ(fscanf(f, "%lu", &pages), 1);
  fclose(f);
  return pages * (size_t)sysconf(_SC_PAGESIZE);
}

enum { OOM_MAX = 4096 };

/* Child: with the address space capped 64 MiB above what it uses, spawns until mmap fails.
 * The failure is NULL + ENOMEM, the greenlets already spawned all run and end, and spawning
 * works again once their stacks are back in the pool. */
static void oom_child(void) {
  static green_t *gs[OOM_MAX];
  struct rlimit rl;
  int n = 0;
  green_yield(); /* the hub and its first slab exist before the cap */
  rl.rlim_cur = rl.rlim_max = vm_size() + (64u << 20);
  ASSERT_OK(setrlimit(RLIMIT_AS, &rl));
  for (; n < OOM_MAX; n++)
    if (!(gs[n] = green_spawn(wait_kill_fn, NULL))) break;
  if (n == OOM_MAX) TEST_FAIL("%d greenlets fit under the cap: no failure to test", n);
  ASSERT_EQ(errno, ENOMEM);
  ASSERT_GT(n, 0);
  green_yield(); /* they all start and park */
  for (int i = 0; i < n; i++) ASSERT_OK(green_kill(gs[i]));
  ASSERT_OK(green_joinall(gs, (size_t)n, -1));
  for (int i = 0; i < n; i++) ASSERT_PTR_NE(gs[i] = green_spawn(wait_kill_fn, NULL), NULL);
  for (int i = 0; i < n; i++) ASSERT_OK(green_kill(gs[i]));
  ASSERT_OK(green_joinall(gs, (size_t)n, -1));
  printf("spawn failed with ENOMEM after %d greenlets; all %d spawned again\n", n, n);
  fflush(stdout);
  _exit(0);
}
#endif

TEST_CASE(spawn_enomem) {
#ifdef TEST_ASAN
  printf("ASan build: its shadow memory needs more address space than the cap allows\n");
#else
  int status;
  pid_t pid;
  fflush(stdout);
  ASSERT_OK(pid = fork());
  if (pid == 0) oom_child();
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
#endif
}
