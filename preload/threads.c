/* SPDX-License-Identifier: MIT */
/*
 * pthread_create and the calls on pthread_t, in green mode. A program thread is a greenlet
 * of the main thread's hub. Its pthread_t is a pointer to its record (threads.h). Records
 * come from chunks never given back to malloc. So a stale pthread_t reads as released
 * (ESRCH) rather than as freed memory. In native mode, and on threads the shim does not
 * manage, every call here goes to libc.
 *
 * A green thread gets the stack size its attributes ask for. Else it gets pthread's default,
 * the RLIMIT_STACK soft limit as in glibc, unless GREEN_STACK_SIZE says otherwise. Only the
 * pages it touches cost memory. An address given with pthread_attr_setstack is not used.
 *
 * pthread_exit runs the thread's C cleanup handlers (pthread_cleanup_push, registered
 * through the hooks below). Then it runs its pthread_key destructors and ends the greenlet.
 * It does not unwind C++ frames. When the main thread calls it, it waits for the last green
 * thread to end. Then the process exits with status 0, as with OS threads.
 *
 * pthread_cancel is deferred cancellation. The target ends with PTHREAD_CANCELED at its next
 * cancellation point, or at once if it is parked in one. Cancellation points are every call
 * that parks it, except mutex and rwlock waits, and pthread_testcancel. Asynchronous
 * cancellation is treated as deferred.
 */
#include "threads.h"

#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/hubs.h"
#include "../src/share.h"
#include "../src/stack.h"
#include "../src/threadsafe.h"
#include "../src/wait.h"
#include "check.h"
#include "signal.h"
#include "sigmask.h"

#define RECORD_MAGIC 0x74687264u /* "thrd" */

enum { CHUNK_RECORDS = 64 };

struct chunk {
  struct chunk *next;
  green__shim_thread_t records[CHUNK_RECORDS];
};

static struct chunk *chunks;                      /* linked with a release store, read freely */
static green__list_t free_records = {&free_records, &free_records}; /* under records_lock */
static char records_lock;
static green__shim_thread_t main_record;          /* the process's main thread (green mode) */
static __thread green__shim_thread_t tls_record;  /* a managed thread's own (native mode) */
static __thread green__shim_thread_t *fork_record; /* the forking thread's, in the child */
static size_t live;                               /* atomic: green threads that have not ended */
static green_t *last_waiter; /* atomic: the main greenlet, waiting for `live` 0 */

void green__shim_threads_init(void) {
  pthread_attr_t attr;
  size_t size;
  green__shim_proc_init();
  if (green__shim_config.native) return;
  if (pthread_getattr_default_np(&attr) == 0) {
    if (pthread_attr_getstacksize(&attr, &size) == 0 && size >= (size_t)PTHREAD_STACK_MIN)
      green__stack_set_default(size);
    pthread_attr_destroy(&attr);
  }
}

/* ---- records ---------------------------------------------------------------------------- */

/* Records are made and given back by green threads of every hub: a spin lock, held for a
 * few list operations. */
static void records_take(void) {
  while (__atomic_test_and_set(&records_lock, __ATOMIC_ACQUIRE))
    while (__atomic_load_n(&records_lock, __ATOMIC_RELAXED)) green__cpu_relax();
}

static void records_give(void) { __atomic_clear(&records_lock, __ATOMIC_RELEASE); }

/* A new chunk's records go to the free list; the chunk is linked for record_of to see. */
static int chunk_add_locked(void) {
  struct chunk *c = calloc(1, sizeof *c);
  size_t i;
  if (!c) return 0;
  c->next = chunks;
  for (i = 0; i < CHUNK_RECORDS; i++) green__list_push_back(&free_records, &c->records[i].link);
  __atomic_store_n(&chunks, c, __ATOMIC_RELEASE);
  return 1;
}

static green__shim_thread_t *record_new(void) {
  green__list_t *n;
  green__shim_thread_t *t;
  records_take();
  if (green__list_empty(&free_records) && !chunk_add_locked()) {
    records_give();
    return NULL;
  }
  n = green__list_pop_front(&free_records);
  records_give();
  t = green__container_of(n, green__shim_thread_t, link);
  memset(t, 0, sizeof *t);
  green__list_init(&t->link);
  return t; /* its magic is set once it is filled in (born_on) */
}

static void record_release(green__shim_thread_t *t) {
  free(t->vars); /* a thread that never ran */
  t->vars = NULL;
  __atomic_store_n(&t->magic, 0, __ATOMIC_RELEASE);
  records_take();
  green__list_push_front(&free_records, &t->link);
  records_give();
}

/* A pthread_t of this process's green threads, or NULL. */
static green__shim_thread_t *record_of(pthread_t id) {
  green__shim_thread_t *t = (green__shim_thread_t *)id;
  struct chunk *c;
  if (t == &main_record) return t->magic == RECORD_MAGIC ? t : NULL;
  for (c = __atomic_load_n(&chunks, __ATOMIC_ACQUIRE); c; c = c->next)
    if (t >= c->records && t < c->records + CHUNK_RECORDS)
      return __atomic_load_n(&t->magic, __ATOMIC_ACQUIRE) == RECORD_MAGIC ? t : NULL;
  return NULL;
}

green__shim_thread_t *green__shim_thread_by_tid(pid_t tid) {
  struct chunk *c;
  size_t i;
  for (c = __atomic_load_n(&chunks, __ATOMIC_ACQUIRE); c; c = c->next)
    for (i = 0; i < CHUNK_RECORDS; i++)
      if (__atomic_load_n(&c->records[i].magic, __ATOMIC_ACQUIRE) == RECORD_MAGIC &&
          c->records[i].tid == tid)
        return &c->records[i];
  return NULL;
}

static green__shim_thread_t *main_record_of_thread(void) {
  green__shim_thread_t *t = fork_record ? fork_record : green__shim_config.native ? &tls_record
                                                                                 : &main_record;
  if (t->magic != RECORD_MAGIC) {
    t->magic = RECORD_MAGIC;
    t->is_main = 1;
    green__list_init(&t->link);
  }
  return t;
}

green__shim_thread_t *green__shim_self(struct green__hub *h) {
  green_t *g = h->current;
  green__shim_thread_t *t;
  if (green__likely(g->ext != NULL)) return g->ext;
  if (g != h->main || green__shim_tls.extra_hub) return NULL;
  t = main_record_of_thread();
  t->g = g;
  t->handle = g->handle;
  g->ext = t;
  return t;
}

green_t *green__shim_threads_unblocked(struct green__hub *h, int sig) {
  struct chunk *c;
  size_t i;
  for (c = __atomic_load_n(&chunks, __ATOMIC_ACQUIRE); c; c = c->next)
    for (i = 0; i < CHUNK_RECORDS; i++) {
      green__shim_thread_t *t = &c->records[i];
      if (__atomic_load_n(&t->magic, __ATOMIC_ACQUIRE) == RECORD_MAGIC && t->g && t->g->hub == h &&
          t->intr != GREEN__INTR_NEVER &&
          t->g->state == GREEN_BLOCKED && !green__shim_sigmask_blocks(t->g, sig))
        return t->g;
    }
  return NULL;
}

static void hubs_forget(void);

void green__shim_threads_after_fork(green__shim_thread_t *self) {
  records_lock = 0; /* its holder, if any, is not in the child */
  live = 0;
  last_waiter = NULL;
  hubs_forget();
  if (!self) return;
  self->is_main = 1;
  self->detached = 0;
  self->tid = 0; /* the child's main thread: its id is the kernel's */
  fork_record = self;
}

/* ---- thread ends ------------------------------------------------------------------------- */

static void hub_load_drop(unsigned k);

/* The last thread to end wakes the main greenlet waiting in main_exit, on its own hub. */
static void thread_end(struct green__hub *h, green__shim_thread_t *self) {
  green_t *waiter;
  green__shim_threadvars_end(h, self);
  __atomic_store_n(&self->ended, 1, __ATOMIC_RELEASE);
  green__shim_sigmask_ended(h, self->g);
  hub_load_drop(self->hub_index);
  if (__atomic_sub_fetch(&live, 1, __ATOMIC_ACQ_REL) == 0 &&
      (waiter = __atomic_exchange_n(&last_waiter, NULL, __ATOMIC_ACQ_REL)))
    green__hand(h, waiter, 0);
  if (self->detached) record_release(self);
}

__attribute__((noreturn)) static void main_exit(struct green__hub *h);

static void *entry(void *arg) {
  green__shim_thread_t *self = arg;
  void *r;
  green__shim_threadvars_begin(self->g->hub, self->g);
  r = self->fn(self->arg);
  /* In a fork child the thread that forked is the process's main thread. Once the child's
   * own threads end, its return ends the process as the last thread's does (exit(0)). */
  if (self->is_main) main_exit(green__hub_peek());
  thread_end(self->g->hub, self);
  return r;
}

/* Native mode: the program's threads are OS threads the shim manages (each gets a hub on its
 * first blocking call). */
typedef struct native_start {
  void *(*fn)(void *);
  void *arg;
} native_start_t;

static void *native_entry(void *arg) {
  native_start_t start = *(native_start_t *)arg;
  free(arg);
  green__shim_tls.managed = 1;
  if (green__shim_config.check) green__check_thread();
  return start.fn(start.arg);
}

static int create_native(pthread_t *id, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
  native_start_t *start;
  int r;
  if (!green__shim_tls.managed || !(start = malloc(sizeof *start)))
    return green__real.pthread_create(id, attr, fn, arg);
  start->fn = fn;
  start->arg = arg;
  if ((r = green__real.pthread_create(id, attr, native_entry, start)) != 0) free(start);
  return r;
}

/* ---- hubs (greenrun -j N) and placement ------------------------------------------------ */

enum { HUBS_IDLE, HUBS_STARTING, HUBS_UP, HUBS_FAILED };

static green_hub_t *hubs[GREEN__SHIM_HUBS_MAX]; /* hubs[0] is the main thread's */
static int hubs_state;                          /* atomic; hubs[] is set before UP */
/* atomic: each hub itself, once a green thread was born on it (before, it runs none) */
static struct green__hub *hub_of[GREEN__SHIM_HUBS_MAX];
static unsigned hub_load[GREEN__SHIM_HUBS_MAX]; /* atomic: live green threads placed on each */
static unsigned next_hub;                       /* atomic: the round-robin cursor */

/* The other hubs start at the first pthread_create (from h, which becomes hubs[0]): a program
 * that makes no thread keeps one OS thread. Threads made while they start stay on h. */
static void hubs_start(struct green__hub *h) {
  int idle = HUBS_IDLE, saved = errno;
  if (green__shim_config.hubs <= 1 ||
      !__atomic_compare_exchange_n(&hubs_state, &idle, HUBS_STARTING, 0, __ATOMIC_ACQ_REL,
                                   __ATOMIC_RELAXED))
    return;
  green__hubs_thread_hook = green__shim_hub_thread_begins;
  __atomic_store_n(&hub_of[0], h, __ATOMIC_RELEASE);
  __atomic_store_n(&hubs_state, green_hubs_start(green__shim_config.hubs, hubs) == 0 ? HUBS_UP
                                                                                   : HUBS_FAILED,
                   __ATOMIC_RELEASE);
  errno = saved;
}

/* In a fork child: the other hubs' threads are gone. Its hubs start again on first need. */
static void hubs_forget(void) {
  memset(hubs, 0, sizeof hubs);
  memset(hub_of, 0, sizeof hub_of);
  memset(hub_load, 0, sizeof hub_load);
  hubs_state = HUBS_IDLE;
}

static void hub_load_drop(unsigned k) { __atomic_sub_fetch(&hub_load[k], 1, __ATOMIC_RELAXED); }

/* Hub k's green threads queued or running, as it last published them. On the creator's own
 * hub h they are counted afresh, without the creator. A thread that makes threads mostly goes
 * back to wait (an accept loop, a join), and its hub looks idle to the others meanwhile. */
static size_t hub_runnable(struct green__hub *h, unsigned k) {
  struct green__hub *hk = __atomic_load_n(&hub_of[k], __ATOMIC_ACQUIRE);
  if (hk == h) return green__hub_runnable_now(h) - 1; /* the creator runs: at least 1 */
  return hk ? green__hub_runnable_seen(hk) : 0;
}

/* Whether a new thread made on h is better off on hub a than on hub b. First by fewer runnable
 * green threads, then by fewer live ones. As many again, a wins if it is h itself, where
 * making it costs no message. */
static int lighter(struct green__hub *h, unsigned a, unsigned b) {
  size_t ra = hub_runnable(h, a), rb = hub_runnable(h, b);
  unsigned la = __atomic_load_n(&hub_load[a], __ATOMIC_RELAXED);
  unsigned lb = __atomic_load_n(&hub_load[b], __ATOMIC_RELAXED);
  if (ra != rb) return ra < rb;
  if (la != lb) return la < lb;
  return __atomic_load_n(&hub_of[a], __ATOMIC_RELAXED) == h;
}

/* The index of the hub a thread made on h goes to: the lightest, other ties broken in turn
 * from the round-robin cursor, so equal hubs fill evenly. */
static unsigned place(struct green__hub *h) {
  unsigned n = green__shim_config.hubs, i, best;
  best = __atomic_fetch_add(&next_hub, 1, __ATOMIC_RELAXED) % n;
  if (green__shim_config.placement == GREEN__PLACE_RR) return best;
  for (i = 1; i < n; i++) {
    unsigned k = (best + i) % n;
    if (lighter(h, k, best)) best = k;
  }
  return best;
}

/* ---- create, exit, join ----------------------------------------------------------------- */

/* Make t's greenlet on h, the running hub, and queue it: 0 or EAGAIN. It starts with the
 * creator's signal mask, as pthread_create's threads do. */
static int born_on(struct green__hub *h, green__shim_thread_t *t, size_t size, uint64_t sigmask) {
  if (!(t->g = green__greenlet_new(entry, t, size))) return EAGAIN;
  t->handle = t->g->handle;
  t->g->ext = t;
  t->g->threadvars = t->vars;
  t->g->sigmask = sigmask;
  green__shim_sigmask_born(h, t->g);
  green__hub_push_ready(h, t->g);
  if (t->detached) green_detach(t->handle);
  __atomic_store_n(&t->magic, RECORD_MAGIC, __ATOMIC_RELEASE); /* now others may look it up */
  return 0;
}

/* A call on a green thread's hub from another hub: a message there, run on that hub's own
 * greenlet, and its answer back. The asker parks meanwhile (the call lives on its stack). */
typedef struct on_hub {
  green__remote_t call;   /* to the target hub */
  green__remote_t answer; /* back to the asker's hub */
  int (*fn)(struct green__hub *h, struct on_hub *c); /* on the target hub: an error number */
  green_hub_t *home;
  green_t *asker;
  green__shim_thread_t *t;
  green_t *handle;        /* t's greenlet when the call was made: t may have been reused */
  size_t size;            /* born: the stack size */
  pthread_t os;           /* os_thread_of: the hub's OS thread */
  uint64_t sigmask;       /* born: the creator's signal mask */
  int err;
  int answered;           /* on the asker's hub */
} on_hub_t;

static void on_answer(green__remote_t *r) {
  on_hub_t *c = green__container_of(r, on_hub_t, answer);
  c->answered = 1;
  green__wake(green__hub_tls, c->asker, 0);
}

static void drop_answer(green__remote_t *r) { (void)r; /* the asker's hub cannot go first */ }

static void answer(on_hub_t *c) {
  c->answer.run = on_answer;
  c->answer.drop = drop_answer;
  green__hub_post(c->home, &c->answer);
}

static void on_call(green__remote_t *r) {
  on_hub_t *c = green__container_of(r, on_hub_t, call);
  c->err = c->fn(green__hub_tls, c);
  answer(c);
}

static void drop_call(green__remote_t *r) {
  on_hub_t *c = green__container_of(r, on_hub_t, call);
  c->err = ESRCH; /* the target's thread has exited */
  answer(c);
}

/* Wait for the answer. Neither a kill nor a deadline ends the wait: the answer comes. */
static void wait_answer(struct green__hub *h, on_hub_t *c, const char *what) {
  green_t *self = h->current;
  uint8_t killed = self->flags & GREEN__KILLED;
  double deadline = self->deadline;
  self->deadline = INFINITY;
  while (!c->answered) {
    self->flags &= (uint8_t)~GREEN__KILLED;
    if (green__park(h, GREEN_WAIT_CALL, what, INFINITY, 0) == -ECANCELED) killed = GREEN__KILLED;
  }
  self->flags |= killed;
  self->deadline = deadline;
}

/* c->fn on target, from the running green thread of h: its error number, or ESRCH when the
 * target has exited. */
static int call_on_hub(struct green__hub *h, green_hub_t *target, on_hub_t *c, const char *what) {
  c->home = h->handle;
  c->asker = h->current;
  c->call.run = on_call;
  c->call.drop = drop_call;
  if (green__hub_post(target, &c->call) < 0) return ESRCH;
  wait_answer(h, c, what);
  return c->err;
}

/* The hub t lives on when that is another than h's, else NULL. */
static green_hub_t *other_hub(struct green__hub *h, const green__shim_thread_t *t) {
  green_hub_t *hub;
  if (t->is_main || __atomic_load_n(&hubs_state, __ATOMIC_ACQUIRE) != HUBS_UP) return NULL;
  hub = hubs[t->hub_index];
  return green__hub_is(hub, h) ? NULL : hub;
}

/* t, still the thread the call was made for: not released, nor reused since. */
static int still_there(const on_hub_t *c) {
  return __atomic_load_n(&c->t->magic, __ATOMIC_ACQUIRE) == RECORD_MAGIC &&
         c->t->handle == c->handle;
}

/* The new thread counts in the hub's runnable ones before the creator hears of it. */
static int born_there(struct green__hub *h, on_hub_t *c) {
  int r = born_on(h, c->t, c->size, c->sigmask);
  if (!__atomic_load_n(&hub_of[c->t->hub_index], __ATOMIC_RELAXED))
    __atomic_store_n(&hub_of[c->t->hub_index], h, __ATOMIC_RELEASE);
  green__hub_publish_runnable(h);
  return r;
}

static int born_remote(struct green__hub *h, green_hub_t *target, green__shim_thread_t *t,
                       size_t size) {
  on_hub_t c = {.fn = born_there, .t = t, .size = size, .sigmask = h->current->sigmask};
  int r = call_on_hub(h, target, &c, "pthread_create");
  return r == ESRCH ? EAGAIN : r;
}

/* Make t's greenlet on the hub placement picks. */
static int born(struct green__hub *h, green__shim_thread_t *t, size_t size) {
  int up = __atomic_load_n(&hubs_state, __ATOMIC_ACQUIRE) == HUBS_UP, r;
  unsigned k = up ? place(h) : 0;
  t->hub_index = (uint8_t)k;
  __atomic_add_fetch(&hub_load[k], 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&live, 1, __ATOMIC_ACQ_REL); /* before it can run and end */
  if (!up || green__hub_is(hubs[k], h)) {
    r = born_on(h, t, size, h->current->sigmask);
    green__hub_publish_runnable(h);
  } else {
    r = born_remote(h, hubs[k], t, size);
  }
  if (r) {
    hub_load_drop(k);
    __atomic_sub_fetch(&live, 1, __ATOMIC_ACQ_REL);
  }
  return r;
}

GREEN__SHIM_EXPORT int pthread_create(pthread_t *restrict id, const pthread_attr_t *restrict attr,
                                      void *(*fn)(void *), void *restrict arg) {
  struct green__hub *h;
  green__shim_thread_t *t;
  size_t size = 0;
  int detach = PTHREAD_CREATE_JOINABLE;
  green__real_ready();
  if (green__shim_config.native) return create_native(id, attr, fn, arg);
  if (!green__shim_green_mode()) return green__real.pthread_create(id, attr, fn, arg);
  if (!(h = green__shim_hub_attach())) return EAGAIN;
  if (attr && (pthread_attr_getdetachstate(attr, &detach) != 0 ||
               pthread_attr_getstacksize(attr, &size) != 0))
    return EINVAL;
  hubs_start(h);
  if (!(t = record_new())) return EAGAIN;
  if (green__shim_threadvars_new(&t->vars) != 0) {
    record_release(t);
    return EAGAIN;
  }
  t->fn = fn;
  t->arg = arg;
  t->tid = green__shim_tid_next();
  t->detached = detach == PTHREAD_CREATE_DETACHED;
  if (born(h, t, size) != 0) {
    record_release(t);
    return EAGAIN;
  }
  *id = (pthread_t)t;
  return 0;
}

/* The main greenlet's pthread_exit: wait for the last green thread, then exit(0). */
__attribute__((noreturn)) static void main_exit(struct green__hub *h) {
  for (;;) {
    __atomic_store_n(&last_waiter, h->current, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&live, __ATOMIC_SEQ_CST) == 0) break;
    /* a hand-off from another hub is a message here: it runs only once this greenlet parks */
    if (green__shim_park(h, &(green__shim_wait_t){.kind = GREEN_WAIT_JOIN, .at = INFINITY,
                                                  .quiet = 1, .cancel = GREEN__CANCEL_NONE}) ==
        -EDEADLK)
      green__real.pause(); /* blocked for good, as OS threads would be */
  }
  __atomic_store_n(&last_waiter, NULL, __ATOMIC_RELEASE);
  exit(0);
}

/* After the cleanup handlers: end the thread with its exit value. */
__attribute__((noreturn)) static void finish_exit(struct green__hub *h, green__shim_thread_t *self,
                                                  void *value) {
  if (self->is_main) main_exit(h);
  thread_end(h, self);
  green__greenlet_exit(h, value);
}

/* Run the innermost cleanup handler: jump into its pthread_cleanup_push. That calls the
 * routine and then __pthread_unwind_next, which comes back here for the next. */
__attribute__((noreturn)) static void unwind(struct green__hub *h, green__shim_thread_t *self) {
  __pthread_unwind_buf_t *buf = self->cleanup;
  if (!buf) finish_exit(h, self, self->exit_value);
  self->cleanup = buf->__pad[0];
  /* glibc's own unwinding jumps the same way: the buffer is a jmp_buf without the saved
   * signal mask, which sigsetjmp(buf, 0) never reads back */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
  longjmp((struct __jmp_buf_tag *)(void *)buf->__cancel_jmp_buf, 1);
#pragma GCC diagnostic pop
}

GREEN__SHIM_EXPORT void pthread_exit(void *value) {
  struct green__hub *h = green__shim_tls.hub;
  green__shim_thread_t *self;
  green__real_ready();
  if (!green__shim_green_mode() || !h || !(self = green__shim_self(h))) {
    green__real.pthread_exit(value);
    __builtin_unreachable();
  }
  self->cancel_disabled = 1; /* no cancellation inside cleanup handlers */
  self->exit_value = value;
  unwind(h, self);
}

GREEN__SHIM_EXPORT void __pthread_unwind_next(__pthread_unwind_buf_t *buf) {
  struct green__hub *h = green__shim_tls.hub;
  green__shim_thread_t *self;
  green__real_ready();
  if (!green__shim_green_mode() || !h || !(self = green__shim_self(h))) {
    green__real.__pthread_unwind_next(buf);
    __builtin_unreachable();
  }
  unwind(h, self);
}

GREEN__SHIM_EXPORT void __pthread_register_cancel(__pthread_unwind_buf_t *buf) {
  struct green__hub *h = green__shim_tls.hub;
  green__shim_thread_t *self;
  green__real_ready();
  if (!green__shim_green_mode() || !(h = green__shim_hub_attach()) ||
      !(self = green__shim_self(h))) {
    green__real.__pthread_register_cancel(buf);
    return;
  }
  buf->__pad[0] = self->cleanup;
  self->cleanup = buf;
}

GREEN__SHIM_EXPORT void __pthread_unregister_cancel(__pthread_unwind_buf_t *buf) {
  struct green__hub *h = green__shim_tls.hub;
  green__shim_thread_t *self;
  green__real_ready();
  if (!green__shim_green_mode() || !h || !(self = green__shim_self(h))) {
    green__real.__pthread_unregister_cancel(buf);
    return;
  }
  self->cleanup = buf->__pad[0];
}

/* A join's wait, as a cancellation point. */
static int join(green__shim_thread_t *self, green__shim_thread_t *t, void **res, double timeout) {
  int r;
  if (green__shim_config.debug && green_state(t->handle) != GREEN_DEAD)
    green__shim_debug("pthread_join", -1);
  if (self) self->cancel_wait = 1;
  r = green_join(t->handle, res, timeout);
  if (self) self->cancel_wait = 0;
  if (r == 0) {
    record_release(t);
    return 0;
  }
  if (errno == ECANCELED && self) green__shim_cancel_point(self);
  return errno;
}

/* The checks every join makes: 0 and *tp, or the error number. */
static int joinable(pthread_t id, green__shim_thread_t **tp, green__shim_thread_t **selfp) {
  struct green__hub *h = green__shim_hub_attach();
  green__shim_thread_t *t = record_of(id);
  if (!h) return EAGAIN;
  if (!t) return ESRCH;
  *selfp = green__shim_self(h);
  if (t == *selfp) return EDEADLK;
  if (t->is_main || __atomic_load_n(&t->detached, __ATOMIC_RELAXED)) return EINVAL;
  *tp = t;
  return 0;
}

GREEN__SHIM_EXPORT int pthread_join(pthread_t id, void **res) {
  green__shim_thread_t *t, *self;
  int r;
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_join(id, res);
  if ((r = joinable(id, &t, &self))) return r;
  green__shim_cancel_point(self);
  return join(self, t, res, -1);
}

GREEN__SHIM_EXPORT int pthread_tryjoin_np(pthread_t id, void **res) {
  green__shim_thread_t *t, *self;
  int r;
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_tryjoin_np(id, res);
  if ((r = joinable(id, &t, &self))) return r;
  if (green_state(t->handle) != GREEN_DEAD) return EBUSY;
  return join(self, t, res, -1);
}

/* Seconds from now to an absolute time on `clock`; NAN for an invalid time. */
static double until(clockid_t clock, const struct timespec *abstime) {
  double left;
  if (green__ts_checked(abstime) < 0 || isnan(left = green__ts_left(clock, abstime)))
    return NAN;
  return left > 0 ? left : 0;
}

GREEN__SHIM_EXPORT int pthread_clockjoin_np(pthread_t id, void **res, clockid_t clock,
                                            const struct timespec *abstime) {
  green__shim_thread_t *t, *self;
  double s;
  int r;
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_clockjoin_np(id, res, clock, abstime);
  if ((r = joinable(id, &t, &self))) return r;
  if (!abstime) return join(self, t, res, -1);
  if ((clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) || isnan(s = until(clock, abstime)))
    return EINVAL;
  green__shim_cancel_point(self);
  r = join(self, t, res, s);
  return r;
}

GREEN__SHIM_EXPORT int pthread_timedjoin_np(pthread_t id, void **res,
                                            const struct timespec *abstime) {
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_timedjoin_np(id, res, abstime);
  return pthread_clockjoin_np(id, res, CLOCK_REALTIME, abstime);
}

/* On t's hub: the thread may end meanwhile, and thread_end reads `detached` there. */
static int detach_here(green__shim_thread_t *t) {
  if (t->is_main || t->detached) return EINVAL;
  __atomic_store_n(&t->detached, 1, __ATOMIC_RELAXED); /* joins on other hubs read it */
  if (green_detach(t->handle) != 0) return errno;
  if (green_state(t->handle) < 0) record_release(t); /* it had ended: the handle is gone */
  return 0;
}

static int detach_there(struct green__hub *h, on_hub_t *c) {
  (void)h;
  return still_there(c) ? detach_here(c->t) : ESRCH;
}

GREEN__SHIM_EXPORT int pthread_detach(pthread_t id) {
  struct green__hub *h;
  green__shim_thread_t *t;
  green_hub_t *there;
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_detach(id);
  if (!(h = green__shim_hub_attach())) return EAGAIN;
  if (!(t = record_of(id))) return ESRCH;
  if (!(there = other_hub(h, t))) return detach_here(t);
  return call_on_hub(h, there, &(on_hub_t){.fn = detach_there, .t = t, .handle = t->handle},
                     "pthread_detach");
}

GREEN__SHIM_EXPORT pthread_t pthread_self(void) {
  green__shim_tls_t *t = &green__shim_tls;
  green__shim_thread_t *self;
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_self();
  self = t->hub ? green__shim_self(t->hub) : main_record_of_thread();
  return self ? (pthread_t)self : green__real.pthread_self();
}

/* ---- cancellation ----------------------------------------------------------------------- */

green__shim_thread_t *green__shim_wait_begin(int intr) {
  struct green__hub *h = green__shim_tls.hub;
  green__shim_thread_t *self = h ? green__shim_self(h) : NULL;
  if (self) {
    green__shim_cancel_point(self);
    self->cancel_wait = 1;
    self->intr = (uint8_t)intr;
  }
  return self;
}

int green__shim_wait_end(green__shim_thread_t *self, int r) {
  if (self) {
    self->cancel_wait = 0;
    self->intr = GREEN__INTR_NEVER;
    if (r < 0 && errno == ECANCELED) green__shim_cancel_point(self);
  }
  return r;
}

void green__shim_cancel_point(green__shim_thread_t *self) {
  if (green__shim_cancelled(self)) pthread_exit(PTHREAD_CANCELED);
}

/* On t's hub: mark it cancelled, and end its wait when it is parked in a cancellation point. */
static int cancel_here(struct green__hub *h, green__shim_thread_t *t) {
  t->cancel_pending = 1;
  if (!t->cancel_disabled && t->g && t->g->state == GREEN_BLOCKED && (t->cancel_wait || t->intr))
    green__wake(h, t->g, -ECANCELED);
  return 0;
}

static int cancel_there(struct green__hub *h, on_hub_t *c) {
  return still_there(c) ? cancel_here(h, c->t) : ESRCH;
}

/* A thread of another hub is cancelled by its hub, which alone writes its record. */
GREEN__SHIM_EXPORT int pthread_cancel(pthread_t id) {
  struct green__hub *h;
  green__shim_thread_t *t;
  green_hub_t *there;
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_cancel(id);
  if (!(h = green__shim_hub_attach())) return EAGAIN;
  if (!(t = record_of(id))) return ESRCH;
  if (!(there = other_hub(h, t))) return cancel_here(h, t);
  return call_on_hub(h, there, &(on_hub_t){.fn = cancel_there, .t = t, .handle = t->handle},
                     "pthread_cancel");
}

GREEN__SHIM_EXPORT int pthread_setcancelstate(int state, int *old) {
  struct green__hub *h;
  green__shim_thread_t *self;
  green__real_ready();
  if (!green__shim_green_mode() || !(h = green__shim_hub_attach()) || !(self = green__shim_self(h)))
    return green__real.pthread_setcancelstate(state, old);
  if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE) return EINVAL;
  if (old) *old = self->cancel_disabled ? PTHREAD_CANCEL_DISABLE : PTHREAD_CANCEL_ENABLE;
  self->cancel_disabled = state == PTHREAD_CANCEL_DISABLE;
  return 0;
}

GREEN__SHIM_EXPORT int pthread_setcanceltype(int type, int *old) {
  struct green__hub *h;
  green__shim_thread_t *self;
  green__real_ready();
  if (!green__shim_green_mode() || !(h = green__shim_hub_attach()) || !(self = green__shim_self(h)))
    return green__real.pthread_setcanceltype(type, old);
  if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS) return EINVAL;
  if (old) *old = self->cancel_async ? PTHREAD_CANCEL_ASYNCHRONOUS : PTHREAD_CANCEL_DEFERRED;
  self->cancel_async = type == PTHREAD_CANCEL_ASYNCHRONOUS;
  return 0;
}

GREEN__SHIM_EXPORT void pthread_testcancel(void) {
  struct green__hub *h;
  green__real_ready();
  if (!green__shim_green_mode() || !(h = green__shim_hub_attach())) {
    green__real.pthread_testcancel();
    return;
  }
  green__shim_cancel_point(green__shim_self(h));
}

/* ---- the rest of the calls on a pthread_t ----------------------------------------------- */

/* The OS thread behind a green thread: the one its hub runs on. */
static pthread_t os_thread(void) { return green__real.pthread_self(); }

static int os_thread_there(struct green__hub *h, on_hub_t *c) {
  (void)h;
  c->os = os_thread();
  return 0;
}

/* The OS thread t's hub runs on. */
static pthread_t os_thread_of(green__shim_thread_t *t) {
  struct green__hub *h = green__shim_tls.hub;
  green_hub_t *there = h ? other_hub(h, t) : NULL;
  on_hub_t c = {.fn = os_thread_there};
  if (!there || h->current == &h->hub || call_on_hub(h, there, &c, "pthread_t") != 0)
    return os_thread();
  return c.os;
}

/* The signal goes to the OS thread of the target's hub, aimed at the target. */
GREEN__SHIM_EXPORT int pthread_kill(pthread_t id, int sig) {
  green__shim_thread_t *t;
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_kill(id, sig);
  if (!(t = record_of(id))) return ESRCH;
  return t->g ? green__shim_signal_send(t->g, sig, NULL) : green__real.pthread_kill(os_thread(), sig);
}

GREEN__SHIM_EXPORT int pthread_sigqueue(pthread_t id, int sig, const union sigval value) {
  green__shim_thread_t *t;
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_sigqueue(id, sig, value);
  if (!(t = record_of(id))) return ESRCH;
  return t->g ? green__shim_signal_send(t->g, sig, &value)
              : green__real.pthread_sigqueue(os_thread(), sig, value);
}

GREEN__SHIM_EXPORT int pthread_getattr_np(pthread_t id, pthread_attr_t *attr) {
  green__shim_thread_t *t;
  int r;
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_getattr_np(id, attr);
  if (!(t = record_of(id))) return ESRCH;
  if (t->is_main) return green__real.pthread_getattr_np(os_thread_of(t), attr);
  if ((r = pthread_attr_init(attr)) != 0) return r;
  pthread_attr_setdetachstate(attr, __atomic_load_n(&t->detached, __ATOMIC_RELAXED)
                                        ? PTHREAD_CREATE_DETACHED
                                        : PTHREAD_CREATE_JOINABLE);
  if (t->g->stack_lo) pthread_attr_setstack(attr, (void *)t->g->stack_lo, t->g->stack_size);
  return 0;
}

GREEN__SHIM_EXPORT int pthread_setname_np(pthread_t id, const char *name) {
  green__shim_thread_t *t;
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_setname_np(id, name);
  if (!(t = record_of(id))) return ESRCH;
  if (strlen(name) >= sizeof t->name) return ERANGE;
  strcpy(t->name, name);
  return 0;
}

GREEN__SHIM_EXPORT int pthread_getname_np(pthread_t id, char *buf, size_t len) {
  green__shim_thread_t *t;
  green__real_ready();
  if (!green__shim_green_mode()) return green__real.pthread_getname_np(id, buf, len);
  if (!(t = record_of(id))) return ESRCH;
  if (t->is_main && !t->name[0]) return green__real.pthread_getname_np(os_thread_of(t), buf, len);
  if (strlen(t->name) >= len) return ERANGE;
  strcpy(buf, t->name);
  return 0;
}

/* Scheduling, affinity and CPU clocks belong to the OS thread every green thread runs on. */
#define ON_OS_THREAD(name, params, args)                                    \
  GREEN__SHIM_EXPORT int name params {                                      \
    green__shim_thread_t *t;                                                \
    green__real_ready();                                                    \
    if (!green__shim_green_mode()) return green__real.name args;            \
    if (!(t = record_of(id))) return ESRCH;                                 \
    id = os_thread_of(t);                                                   \
    return green__real.name args;                                           \
  }
ON_OS_THREAD(pthread_getcpuclockid, (pthread_t id, clockid_t *clock), (id, clock))
ON_OS_THREAD(pthread_setschedparam, (pthread_t id, int policy, const struct sched_param *p),
             (id, policy, p))
ON_OS_THREAD(pthread_getschedparam, (pthread_t id, int *policy, struct sched_param *p),
             (id, policy, p))
ON_OS_THREAD(pthread_setschedprio, (pthread_t id, int prio), (id, prio))
ON_OS_THREAD(pthread_setaffinity_np, (pthread_t id, size_t size, const cpu_set_t *set),
             (id, size, set))
ON_OS_THREAD(pthread_getaffinity_np, (pthread_t id, size_t size, cpu_set_t *set),
             (id, size, set))
