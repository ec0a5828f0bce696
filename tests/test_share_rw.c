/* SPDX-License-Identifier: MIT */
/*
 * Read-write locks and the shim's shared mutexes used by greenlets of several hubs. Each OS
 * thread here has a hub of its own. A waiter of one hub is admitted (or handed the mutex) by
 * a greenlet of another, in phase-fair (or FIFO) order; one that times out or is killed
 * leaves nothing behind. The shared mutexes are called directly (green__mutex_lock_shared and
 * friends, as preload/sync.c calls them), with the owner tokens the shim uses: the running
 * greenlet, marked FOREIGN on a thread that never has a hub.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "test.h"

#include "share_test.h"

#include "../src/sync.h"

/* ---- rwlock: readers of one hub, a writer of another, a reader behind it ---------------- */

static green_rwlock_t rw = GREEN_RWLOCK_INITIALIZER;
static atomic_int step;      /* what has happened, in order */
static atomic_int readers_in; /* readers inside now */
static int order[8], norder; /* under rw's write lock or on the main hub only */
static atomic_int writer_done;

static void *first_reader(void *arg) {
  ASSERT_OK(green_rwlock_rdlock(&rw, -1));
  atomic_fetch_add(&readers_in, 1);
  atomic_fetch_add(&step, 1);
  share_await(&step, 3, 10); /* the writer of the other hub waits now */
  ASSERT_OK(green_sleep(0.03));
  atomic_fetch_sub(&readers_in, 1);
  order[norder++] = (int)(intptr_t)arg;
  ASSERT_OK(green_rwlock_unlock(&rw));
  return NULL;
}

static void *late_reader(void *arg) {
  (void)arg;
  ASSERT_OK(green_rwlock_rdlock(&rw, 5)); /* queued behind the writer: phase-fair */
  ASSERT_EQ(atomic_load(&writer_done), 1);
  ASSERT_OK(green_rwlock_unlock(&rw));
  return NULL;
}

static void *other_writer(void *arg) {
  (void)arg;
  share_await(&step, 2, 10);
  ASSERT_ERRNO(green_rwlock_trywrlock(&rw), EBUSY);
  atomic_store(&step, 3);
  ASSERT_OK(green_rwlock_wrlock(&rw, 5)); /* admitted by the last reader, on the main hub */
  ASSERT_EQ(atomic_load(&readers_in), 0);
  order[norder++] = 9;
  ASSERT_OK(green_sleep(0.02)); /* the late reader stays out meanwhile */
  atomic_store(&writer_done, 1);
  ASSERT_OK(green_rwlock_unlock(&rw)); /* admits the late reader of the main hub */
  atomic_store(&step, 4);
  return NULL;
}

TEST_CASE(rwlock_phases_two_hubs) {
  static atomic_int done;
  green_t *r1 = green_spawn(first_reader, (void *)1), *r2 = green_spawn(first_reader, (void *)2);
  pthread_t t = share_start(other_writer, NULL);
  green_t *late;
  ASSERT_PTR_NE(r1, NULL);
  ASSERT_PTR_NE(r2, NULL);
  share_await(&step, 3, 10);
  ASSERT_OK(green_sleep(0.01)); /* the writer is queued */
  ASSERT_PTR_NE(late = green_spawn(late_reader, NULL), NULL);
  ASSERT_OK(green_join(r1, NULL, 5));
  ASSERT_OK(green_join(r2, NULL, 5));
  ASSERT_OK(green_join(late, NULL, 5));
  share_await(&step, 4, 10);
  atomic_store(&done, 1);
  share_finish(&t, 1, &done);
  ASSERT_EQ(norder, 3);
  ASSERT_EQ(order[2], 9); /* the writer came after both readers */
  ASSERT_OK(green_rwlock_destroy(&rw));
}

/* ---- rwlock: a writer of another hub times out; the reader it held back goes in -------- */

static green_rwlock_t trw = GREEN_RWLOCK_INITIALIZER;
static atomic_int tstep;

static double writer_t0; /* written before tstep is 1 */

static void *timed_writer(void *arg) {
  double t0 = green_now();
  (void)arg;
  writer_t0 = t0;
  atomic_store(&tstep, 1);
  ASSERT_ERRNO(green_rwlock_wrlock(&trw, 0.1), ETIMEDOUT);
  ASSERT_GE(green_now() - t0, 0.09);
  atomic_store(&tstep, 2);
  return NULL;
}

static void *held_back_reader(void *arg) {
  (void)arg;
  ASSERT_OK(green_rwlock_rdlock(&trw, 5)); /* waits for the writer, goes in once it left */
  ASSERT_GE(green_now() - writer_t0, 0.09); /* not before its 0.1 s timeout; its thread may
                                               not have said so (tstep 2) yet */
  ASSERT_OK(green_rwlock_unlock(&trw));
  return NULL;
}

/* Whether a writer waits for trw: a greenlet holding no read lock is then refused one. */
static void *probe_writer_waits(void *arg) {
  (void)arg;
  if (green_rwlock_tryrdlock(&trw) < 0) return (void *)1;
  ASSERT_OK(green_rwlock_unlock(&trw));
  return NULL;
}

static void await_waiting_writer(void) {
  double limit = green_now() + 5;
  void *waits = NULL;
  while (!waits) {
    green_t *p = green_spawn(probe_writer_waits, NULL);
    ASSERT_PTR_NE(p, NULL);
    ASSERT_OK(green_join(p, &waits, 1));
    ASSERT_LT(green_now(), limit);
    if (!waits) ASSERT_OK(green_sleep(0.001));
  }
}

TEST_CASE(rwlock_writer_timeout_elsewhere) {
  green_t *r;
  pthread_t t;
  ASSERT_OK(green_rwlock_rdlock(&trw, -1));
  t = share_start(timed_writer, NULL);
  share_await(&tstep, 1, 10);
  await_waiting_writer();
  ASSERT_PTR_NE(r = green_spawn(held_back_reader, NULL), NULL);
  ASSERT_OK(green_join(r, NULL, 5)); /* admitted when the writer gave up */
  ASSERT_OK(green_rwlock_unlock(&trw));
  share_finish(&t, 1, &tstep); /* tstep is 2 by now */
  ASSERT_OK(green_rwlock_wrlock(&trw, 0)); /* nothing left behind */
  ASSERT_OK(green_rwlock_unlock(&trw));
  ASSERT_OK(green_rwlock_destroy(&trw));
}

/* ---- rwlock: a waiter killed while another hub holds the write lock -------------------- */

static green_rwlock_t krw = GREEN_RWLOCK_INITIALIZER;
static atomic_int kstep;

static void *killed_reader(void *arg) {
  (void)arg;
  ASSERT_ERRNO(green_rwlock_rdlock(&krw, -1), ECANCELED);
  return NULL;
}

static void *hold_write(void *arg) {
  (void)arg;
  ASSERT_OK(green_rwlock_wrlock(&krw, -1));
  atomic_store(&kstep, 1);
  share_await(&kstep, 2, 10); /* the main hub's reader queued and was killed */
  ASSERT_OK(green_rwlock_unlock(&krw)); /* no reader to admit */
  atomic_store(&kstep, 3);
  return NULL;
}

TEST_CASE(rwlock_kill_waiter_elsewhere) {
  pthread_t t = share_start(hold_write, NULL);
  green_t *g;
  share_await(&kstep, 1, 10);
  ASSERT_PTR_NE(g = green_spawn(killed_reader, NULL), NULL);
  green_yield();
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, NULL, 2));
  atomic_store(&kstep, 2);
  share_finish(&t, 1, &kstep);
  ASSERT_OK(green_rwlock_trywrlock(&krw));
  ASSERT_OK(green_rwlock_unlock(&krw));
  ASSERT_OK(green_rwlock_destroy(&krw));
}

/* ---- rwlock: four hubs, readers and writers: writers exclusive, readers see no tear ---- */

enum { HUBS = 4, GREENLETS = 6, ROUNDS = 400 };

static green_rwlock_t mrw = GREEN_RWLOCK_INITIALIZER;
static long pair_a, pair_b; /* written under mrw's write lock */
static atomic_int writers_in, mixed_done;

static void *mix(void *arg) {
  int id = (int)(intptr_t)arg;
  for (int i = 0; i < ROUNDS; i++) {
    if ((i + id) % 4 == 0) {
      ASSERT_OK(green_rwlock_wrlock(&mrw, 20));
      ASSERT_EQ(atomic_fetch_add(&writers_in, 1), 0);
      pair_a++;
      if (i % 8 == 0) green_yield();
      pair_b++;
      atomic_fetch_sub(&writers_in, 1);
    } else {
      ASSERT_OK(green_rwlock_rdlock(&mrw, 20));
      ASSERT_OK(green_rwlock_rdlock(&mrw, 20)); /* recursive: past waiting writers */
      ASSERT_EQ(atomic_load(&writers_in), 0);
      ASSERT_EQ(pair_a, pair_b);
      if (i % 8 == 1) green_yield();
      ASSERT_OK(green_rwlock_unlock(&mrw));
    }
    ASSERT_OK(green_rwlock_unlock(&mrw));
  }
  return NULL;
}

static void *mixers(void *arg) {
  green_t *g[GREENLETS];
  (void)arg;
  for (int i = 0; i < GREENLETS; i++) ASSERT_PTR_NE(g[i] = green_spawn(mix, (void *)(intptr_t)i), NULL);
  for (int i = 0; i < GREENLETS; i++) ASSERT_OK(green_join(g[i], NULL, 60));
  atomic_fetch_add(&mixed_done, 1);
  return NULL;
}

TEST_CASE(rwlock_many_hubs) {
  pthread_t t[HUBS];
  for (int i = 0; i < HUBS; i++) t[i] = share_start(mixers, NULL);
  share_finish(t, HUBS, &mixed_done);
  ASSERT_EQ(pair_a, pair_b);
  ASSERT_EQ(pair_a, (long)HUBS * GREENLETS * ROUNDS / 4);
  ASSERT_OK(green_rwlock_destroy(&mrw));
}

/* ---- shared mutexes -------------------------------------------------------------------- */

static green_t *token(void) { return green__hub_running(); }

static uintptr_t owner_word(green_mutex_t *m) {
  return (uintptr_t)__atomic_load_n(&m->owner, __ATOMIC_ACQUIRE);
}

static int lock_shared(green_mutex_t *m, double timeout) {
  return green__mutex_lock_shared(green__hub_get(), m, token(), green__until_timeout(timeout));
}

static int unlock_shared(green_mutex_t *m) { return green__mutex_unlock_shared(m, token()); }

static green_mutex_t smu; /* all-zero: as PTHREAD_MUTEX_INITIALIZER */
static atomic_int sstep;
static int s_in_section; /* under smu */

static void *queue_from_other(void *arg) {
  (void)arg;
  ASSERT_EQ(green__mutex_trylock_shared(&smu, token()), -EBUSY);
  ASSERT_EQ(unlock_shared(&smu), -EPERM);
  atomic_store(&sstep, 1);
  ASSERT_EQ(lock_shared(&smu, 5), 0); /* handed over by the main hub's greenlet */
  ASSERT_EQ(s_in_section, 0);
  ASSERT_EQ(unlock_shared(&smu), 0);
  atomic_store(&sstep, 2);
  return NULL;
}

TEST_CASE(shared_mutex_hand_off) {
  pthread_t t;
  ASSERT_EQ(lock_shared(&smu, -1), 0);
  s_in_section = 1;
  t = share_start(queue_from_other, NULL);
  share_await(&sstep, 1, 10);
  while (!(owner_word(&smu) & GREEN__MUTEX_QUEUED)) ASSERT_OK(green_sleep(0.001)); /* it queues */
  ASSERT_OK(green_sleep(0.01));
  s_in_section = 0;
  ASSERT_EQ(unlock_shared(&smu), 0);
  share_finish(&t, 1, &sstep);
  ASSERT_EQ(owner_word(&smu), 0);
  ASSERT_EQ(lock_shared(&smu, 0), 0);
  ASSERT_EQ(unlock_shared(&smu), 0);
}

static green_mutex_t tmu;
static atomic_int tmu_done;

static void *time_out_shared(void *arg) {
  double t0 = green_now();
  (void)arg;
  ASSERT_EQ(lock_shared(&tmu, 0.05), -ETIMEDOUT);
  ASSERT_GE(green_now() - t0, 0.04);
  atomic_store(&tmu_done, 1);
  return NULL;
}

TEST_CASE(shared_mutex_timeout_elsewhere) {
  ASSERT_EQ(lock_shared(&tmu, -1), 0);
  share_finish((pthread_t[]){share_start(time_out_shared, NULL)}, 1, &tmu_done);
  ASSERT_EQ(unlock_shared(&tmu), 0); /* the queue is empty: nobody to hand it to */
  ASSERT_EQ(owner_word(&tmu), 0);
  ASSERT_EQ(lock_shared(&tmu, 0), 0);
  ASSERT_EQ(unlock_shared(&tmu), 0);
}

/* Greenlets of four hubs, and an OS thread without a hub (a FOREIGN owner that sleeps in the
 * kernel), add to one counter. */
static green_mutex_t cmu;
static long counter; /* under cmu */
static atomic_int adders_done;

enum { LOCKS = 1500, FOREIGN_LOCKS = 3000 };

static void *add(void *arg) {
  (void)arg;
  for (int i = 0; i < LOCKS; i++) {
    ASSERT_EQ(lock_shared(&cmu, 10), 0);
    counter++;
    if (i % 16 == 0) green_yield(); /* others queue behind us, here and on other hubs */
    ASSERT_EQ(unlock_shared(&cmu), 0);
  }
  return NULL;
}

static void *adders(void *arg) {
  green_t *g[GREENLETS];
  (void)arg;
  for (int i = 0; i < GREENLETS; i++) ASSERT_PTR_NE(g[i] = green_spawn(add, NULL), NULL);
  for (int i = 0; i < GREENLETS; i++) ASSERT_OK(green_join(g[i], NULL, 60));
  atomic_fetch_add(&adders_done, 1);
  return NULL;
}

static void *foreign_adder(void *arg) {
  green_t *self = (green_t *)((uintptr_t)green__hub_running() | GREEN__MUTEX_FOREIGN);
  (void)arg;
  for (int i = 0; i < FOREIGN_LOCKS; i++) {
    ASSERT_EQ(green__mutex_lock_shared(NULL, &cmu, self, green__until_timeout(10)), 0);
    counter++;
    ASSERT_EQ(green__mutex_unlock_shared(&cmu, self), 0);
  }
  atomic_fetch_add(&adders_done, 1);
  return NULL;
}

TEST_CASE(shared_mutex_many_hubs) {
  pthread_t t[HUBS + 1];
  for (int i = 0; i < HUBS; i++) t[i] = share_start(adders, NULL);
  t[HUBS] = share_start(foreign_adder, NULL);
  share_finish(t, HUBS + 1, &adders_done);
  ASSERT_EQ(counter, (long)HUBS * GREENLETS * LOCKS + FOREIGN_LOCKS);
  ASSERT_EQ(owner_word(&cmu), 0);
}
