/* SPDX-License-Identifier: MIT */
/*
 * Sync objects used by greenlets of several hubs (src/share.c). Each OS thread here has a
 * hub of its own. A waiter of one hub is handed the object by a greenlet of another, times
 * out or is killed while the object is shared, and nothing is lost. While another thread
 * works, the main hub keeps running: it waits for that thread with a green wait.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "test.h"

#include "share_test.h"

/* ---- mutex: a hand-off from one hub to a waiter of another ------------------------------ */

static green_mutex_t mu = GREEN_MUTEX_INITIALIZER;
static green_event_t tried = GREEN_EVENT_INITIALIZER; /* the other hub has found mu held */
static int in_section; /* written only under mu */
static atomic_int mutex_done;

static void *hold_mutex(void *arg) {
  (void)arg;
  ASSERT_OK(green_mutex_lock(&mu, -1));
  in_section = 1;
  ASSERT_OK(green_event_wait(&tried, 5));
  ASSERT_OK(green_sleep(0.02)); /* the other hub queues behind us meanwhile */
  in_section = 0;
  ASSERT_OK(green_mutex_unlock(&mu));
  return NULL;
}

static void *lock_from_other(void *arg) {
  (void)arg;
  ASSERT_ERRNO(green_mutex_trylock(&mu), EBUSY);
  ASSERT_ERRNO(green_mutex_unlock(&mu), EPERM);
  ASSERT_OK(green_event_set(&tried));
  ASSERT_OK(green_mutex_lock(&mu, 5)); /* handed over by the main hub's greenlet */
  ASSERT_EQ(in_section, 0);
  ASSERT_OK(green_mutex_unlock(&mu));
  atomic_store(&mutex_done, 1);
  return NULL;
}

TEST_CASE(mutex_hand_off) {
  green_t *g = green_spawn(hold_mutex, NULL);
  ASSERT_PTR_NE(g, NULL);
  green_yield(); /* g holds mu and waits for the other hub to find it held */
  pthread_t t = share_start(lock_from_other, NULL);
  share_finish(&t, 1, &mutex_done);
  ASSERT_OK(green_join(g, NULL, 2));
  ASSERT_OK(green_mutex_lock(&mu, 0));
  ASSERT_OK(green_mutex_unlock(&mu));
  ASSERT_OK(green_mutex_destroy(&mu));
}

/* ---- mutex: a waiter of another hub times out, then the owner unlocks -------------------- */

static green_mutex_t held = GREEN_MUTEX_INITIALIZER;
static atomic_int timeout_done;

static void *time_out_on_held(void *arg) {
  double t0 = green_now();
  (void)arg;
  ASSERT_ERRNO(green_mutex_lock(&held, 0.05), ETIMEDOUT);
  ASSERT_GE(green_now() - t0, 0.04);
  atomic_store(&timeout_done, 1);
  return NULL;
}

TEST_CASE(mutex_timeout_elsewhere) {
  ASSERT_OK(green_mutex_lock(&held, -1));
  pthread_t t = share_start(time_out_on_held, NULL);
  share_finish(&t, 1, &timeout_done);
  ASSERT_OK(green_mutex_unlock(&held)); /* nobody waits: no hand-off to a gone waiter */
  ASSERT_OK(green_mutex_destroy(&held));
}

/* ---- condition: signals both ways -------------------------------------------------------- */

static green_mutex_t cmu = GREEN_MUTEX_INITIALIZER;
static green_cond_t cv = GREEN_COND_INITIALIZER;
static int turn; /* under cmu: 0 main's, 1 the other thread's; counts rounds in `rounds` */
static int rounds;
static atomic_int cond_done;

enum { ROUNDS = 200 };

/* Take turns with the other hub: wait for `mine`, pass the turn on, signal. */
static void take_turns(int mine) {
  ASSERT_OK(green_mutex_lock(&cmu, -1));
  while (rounds < ROUNDS) {
    while (turn != mine && rounds < ROUNDS) ASSERT_OK(green_cond_wait(&cv, &cmu, 5));
    if (rounds < ROUNDS) {
      rounds++;
      turn = !mine;
      ASSERT_OK(green_cond_signal(&cv));
    }
  }
  ASSERT_OK(green_cond_broadcast(&cv));
  ASSERT_OK(green_mutex_unlock(&cmu));
}

static void *other_turns(void *arg) {
  (void)arg;
  take_turns(1);
  atomic_store(&cond_done, 1);
  return NULL;
}

TEST_CASE(cond_ping_pong) {
  pthread_t t = share_start(other_turns, NULL);
  take_turns(0);
  share_finish(&t, 1, &cond_done);
  ASSERT_EQ(rounds, ROUNDS);
  ASSERT_OK(green_cond_destroy(&cv));
  ASSERT_OK(green_mutex_destroy(&cmu));
}

/* ---- semaphore and event ------------------------------------------------------------------- */

static green_sem_t sem = GREEN_SEM_INITIALIZER;
static green_event_t ev = GREEN_EVENT_INITIALIZER;
static atomic_int sem_event_done;

static void *sem_waiter(void *arg) {
  (void)arg;
  ASSERT_OK(green_sem_wait(&sem, 5));
  return NULL;
}

static void *post_and_wait(void *arg) {
  int value = -1;
  (void)arg;
  ASSERT_OK(green_sem_post(&sem)); /* to the main hub's waiter */
  ASSERT_OK(green_sem_post(&sem));
  ASSERT_OK(green_sem_getvalue(&sem, &value));
  ASSERT_RANGE(value, 0, 2); /* one unit went to the waiter; main may have taken the other */
  ASSERT_OK(green_event_wait(&ev, 5)); /* set by the main hub */
  ASSERT_ERRNO(green_sem_wait(&sem, 0.02), ETIMEDOUT); /* main took the unit left */
  atomic_store(&sem_event_done, 1);
  return NULL;
}

TEST_CASE(sem_event) {
  green_t *g = green_spawn(sem_waiter, NULL);
  pthread_t t;
  ASSERT_PTR_NE(g, NULL);
  green_yield(); /* g waits on sem */
  t = share_start(post_and_wait, NULL);
  ASSERT_OK(green_join(g, NULL, 5));
  ASSERT_OK(green_sem_wait(&sem, 5));
  ASSERT_OK(green_event_set(&ev));
  share_finish(&t, 1, &sem_event_done);
  ASSERT_EQ(green_event_is_set(&ev), 1);
}

/* ---- kill: a waiter killed while another hub may hand it the object ---------------------- */

static green_sem_t ksem = GREEN_SEM_INITIALIZER;
static atomic_int kill_done;

static void *killed_waiter(void *arg) {
  (void)arg;
  ASSERT_ERRNO(green_sem_wait(&ksem, -1), ECANCELED);
  return NULL;
}

static void *post_later(void *arg) {
  (void)arg;
  ASSERT_OK(green_sleep(0.05)); /* after the kill */
  ASSERT_OK(green_sem_post(&ksem));
  atomic_store(&kill_done, 1);
  return NULL;
}

TEST_CASE(kill_shared_waiter) {
  green_t *g = green_spawn(killed_waiter, NULL);
  pthread_t t;
  int value = -1;
  ASSERT_PTR_NE(g, NULL);
  green_yield();
  t = share_start(post_later, NULL);
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, 2));
  share_finish(&t, 1, &kill_done);
  ASSERT_OK(green_sem_getvalue(&ksem, &value));
  ASSERT_EQ(value, 1); /* the post found no waiter: the unit is kept, not lost */
}

/* ---- many hubs, one mutex: no lost wake-up, no lost update ------------------------------- */

enum { THREADS = 4, GREENLETS = 8, LOCKS = 2000 };

static green_mutex_t counter_mu = GREEN_MUTEX_INITIALIZER;
static long counter; /* under counter_mu */
static atomic_int threads_done;

static void *add(void *arg) {
  (void)arg;
  for (int i = 0; i < LOCKS; i++) {
    ASSERT_OK(green_mutex_lock(&counter_mu, 10));
    counter++;
    if (i % 16 == 0) green_yield(); /* others queue behind us, here and on other hubs */
    ASSERT_OK(green_mutex_unlock(&counter_mu));
  }
  return NULL;
}

/* One thread: GREENLETS greenlets adding, joined on this thread's hub. */
static void *adders(void *arg) {
  green_t *g[GREENLETS];
  (void)arg;
  for (int i = 0; i < GREENLETS; i++) ASSERT_PTR_NE(g[i] = green_spawn(add, NULL), NULL);
  for (int i = 0; i < GREENLETS; i++) ASSERT_OK(green_join(g[i], NULL, 60));
  atomic_fetch_add(&threads_done, 1);
  return NULL;
}

TEST_CASE(counter_many_hubs) {
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) t[i] = share_start(adders, NULL);
  share_finish(t, THREADS, &threads_done);
  ASSERT_EQ(counter, (long)THREADS * GREENLETS * LOCKS);
}

/* ---- stress: 4 hubs, 1,000 greenlets, a handful of mutexes, kills and deadlines ----------
 * Each greenlet locks random mutexes with random timeouts and scoped deadlines; the main hub
 * kills greenlets at random meanwhile. Mutual exclusion holds (a flag inside each section),
 * no update is lost (each mutex's counter equals the sections counted by the greenlets), and
 * no greenlet waits forever: every join ends within its limit, so no wake-up was lost. */

enum { STRESS_HUBS = 4, STRESS_GREENLETS = 1000, STRESS_MUTEXES = 5, STRESS_ITERS = 100,
       STRESS_KILLS = 150 };

typedef struct guarded {
  green_mutex_t mu;
  long count;  /* under mu */
  int inside;  /* under mu: a greenlet is in the section */
} guarded_t;

static guarded_t guarded[STRESS_MUTEXES];
static atomic_long sections[STRESS_MUTEXES]; /* counted by the greenlets, at their end */
static atomic_long gave_up;                   /* ETIMEDOUT and ECANCELED locks */

/* One section on m: 0, or the lock's errno. */
static int section(guarded_t *m, unsigned *seed) {
  double timeout = rand_r(seed) % 4 == 0 ? -1 : (rand_r(seed) % 50) * 1e-4;
  if (green_mutex_lock(&m->mu, timeout) < 0) return errno;
  ASSERT_EQ(m->inside, 0);
  m->inside = 1;
  m->count++;
  if (rand_r(seed) % 8 == 0) green_yield(); /* others queue, on this hub and elsewhere */
  if (rand_r(seed) % 16 == 0) green_sleep(1e-4 * (1 + rand_r(seed) % 4)); /* killed: ends early */
  m->inside = 0;
  ASSERT_OK(green_mutex_unlock(&m->mu));
  return 0;
}

static void *stress_worker(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  long done[STRESS_MUTEXES] = {0};
  for (int i = 0; i < STRESS_ITERS; i++) {
    int k = (int)(rand_r(&seed) % STRESS_MUTEXES), err;
    green_deadline_t d;
    int scoped = rand_r(&seed) % 5 == 0;
    if (scoped) ASSERT_OK(green_deadline_enter(&d, (rand_r(&seed) % 30) * 1e-4));
    err = section(&guarded[k], &seed);
    if (scoped) ASSERT_OK(green_deadline_leave(&d));
    if (err == 0) done[k]++;
    else if (err == ETIMEDOUT) atomic_fetch_add(&gave_up, 1);
    else if (err == ECANCELED) break; /* killed: end here */
    else ASSERT_EQ(err, 0);
  }
  for (int k = 0; k < STRESS_MUTEXES; k++) atomic_fetch_add(&sections[k], done[k]);
  return NULL;
}

TEST_CASE(stress_kills_deadlines) {
  green_hub_t *hubs[STRESS_HUBS];
  static green_t *gs[STRESS_GREENLETS];
  unsigned seed = 12345;
  long total = 0;
  ASSERT_OK(green_hubs_start(STRESS_HUBS, hubs));
  for (int i = 0; i < STRESS_GREENLETS; i++)
    ASSERT_PTR_NE(gs[i] = green_spawn_on(hubs[i % STRESS_HUBS], stress_worker,
                                         (void *)(uintptr_t)(i + 1)), NULL);
  for (int i = 0; i < STRESS_KILLS; i++) {
    ASSERT_OK(green_kill(gs[rand_r(&seed) % STRESS_GREENLETS]));
    if (i % 5 == 0) ASSERT_OK(green_sleep(0.002));
  }
  for (int i = 0; i < STRESS_GREENLETS; i++) ASSERT_OK(green_join(gs[i], NULL, 60));
  for (int k = 0; k < STRESS_MUTEXES; k++) {
    ASSERT_EQ(guarded[k].count, atomic_load(&sections[k]));
    ASSERT_OK(green_mutex_trylock(&guarded[k].mu)); /* nobody kept it */
    ASSERT_OK(green_mutex_unlock(&guarded[k].mu));
    total += guarded[k].count;
  }
  ASSERT_GT(total, 0);
  for (int i = STRESS_HUBS - 1; i >= 0; i--) ASSERT_OK(green_hub_stop(hubs[i]));
}

/* ---- a broadcast racing the waiters' own timeouts on another hub ------------------------- */

enum { RACE_WAITERS = 200, RACE_WAITS = 50, RACE_SETS = 2000 };

static green_event_t race_ev = GREEN_EVENT_INITIALIZER;

static void *wait_briefly(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  for (int i = 0; i < RACE_WAITS; i++) {
    int r = green_event_wait(&race_ev, (rand_r(&seed) % 20) * 1e-4);
    ASSERT_TRUE(r == 0 || errno == ETIMEDOUT);
  }
  return NULL;
}

TEST_CASE(set_races_timeouts) {
  green_hub_t *hubs[2];
  static green_t *gs[RACE_WAITERS];
  ASSERT_OK(green_hubs_start(2, hubs));
  for (int i = 0; i < RACE_WAITERS; i++)
    ASSERT_PTR_NE(gs[i] = green_spawn_on(hubs[1], wait_briefly, (void *)(uintptr_t)(i + 1)), NULL);
  for (int i = 0; i < RACE_SETS; i++) {
    ASSERT_OK(green_event_set(&race_ev));
    ASSERT_OK(green_event_clear(&race_ev));
    if (i % 20 == 0) ASSERT_OK(green_sleep(1e-4));
  }
  ASSERT_OK(green_event_set(&race_ev)); /* the last waits end at once */
  for (int i = 0; i < RACE_WAITERS; i++) ASSERT_OK(green_join(gs[i], NULL, 30));
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
}
