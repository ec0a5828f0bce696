/* SPDX-License-Identifier: MIT */
/*
 * Program threads as greenlets (threads.c). In green mode a pthread_t is a pointer to the
 * thread's record below. Every green thread has one. So has the main greenlet of each
 * managed thread's hub: the program's main thread, or the thread that forked.
 */
#ifndef GREEN_PRELOAD_THREADS_H
#define GREEN_PRELOAD_THREADS_H

#include "shim.h"

typedef struct green__shim_thread {
  uint32_t magic;           /* RECORD_MAGIC while the pthread_t is valid */
  green_t *g;               /* its greenlet's record, whose ext points back here */
  green_t *handle;          /* its greenlet's handle, for green_join and the like */
  void *(*fn)(void *);
  void *arg;
  uint8_t intr;             /* GREEN__INTR_*: how the shim wait it is parked in ends on a signal */
  uint8_t cancel_wait;      /* parked in a cancellation point: pthread_cancel wakes it */
  uint8_t cancel_pending;
  uint8_t cancel_disabled;  /* PTHREAD_CANCEL_DISABLE */
  uint8_t cancel_async;     /* PTHREAD_CANCEL_ASYNCHRONOUS (acted on as deferred) */
  uint8_t detached;
  uint8_t is_main;          /* the main greenlet of a hub: ends the process, not a greenlet */
  void *cleanup;            /* pthread_cleanup_push's chain (__pthread_unwind_buf_t) */
  void *exit_value;         /* pthread_exit's, while the cleanup handlers run */
  char name[16];            /* pthread_setname_np */
  pid_t tid;                /* what gettid() says in it (tid.c); 0 for a main greenlet */
  uint8_t hub_index;        /* the hub it was placed on (greenrun -j N), in threads.c's hubs */
  uint8_t ended;            /* atomic: its function has returned or it called pthread_exit */
  void *vars;               /* its thread-local variables while switched out (threadvars.c) */
  struct green__shim_dtor *dtors;      /* its C++ thread_local destructors, the newest first */
  green__list_t link;       /* in the free list while released */
} green__shim_thread_t;

void green__shim_threads_init(void);

/* Thread-local variables per green thread (threadvars.c). new gives a new thread its copy, at
 * their initial values (NULL when there is nothing to copy): 0, or -1 when out of memory.
 * begin puts g's in place when it first runs; end runs t's thread_local destructors and frees
 * its copy. after_fork makes the forking thread's copy the child's main thread's. */
int green__shim_threadvars_new(void **vars);
void green__shim_threadvars_begin(struct green__hub *h, green_t *g);
void green__shim_threadvars_end(struct green__hub *h, green__shim_thread_t *t);
void green__shim_threadvars_after_fork(green__shim_thread_t *self);

/* The running greenlet's record. For a hub's main greenlet it is bound on first need. NULL
 * for greenlets the runtime spawns for itself. */
green__shim_thread_t *green__shim_self(struct green__hub *h);

/* Whether the thread has been cancelled with cancellation enabled: a cancellation point
 * ends it. */
static inline int green__shim_cancelled(const green__shim_thread_t *self) {
  return self && self->cancel_pending && !self->cancel_disabled;
}

/* A cancellation point: ends the thread (pthread_exit(PTHREAD_CANCELED)) when it has been
 * cancelled and cancellation is enabled; otherwise returns. */
void green__shim_cancel_point(green__shim_thread_t *self);

/* Around a wait of libgreen's that is a cancellation point (a condition, a semaphore, a
 * lookup). With intr, it is also one a signal interrupts. Call begin before the wait and end
 * with its result. After a pthread_cancel, -1 + errno ECANCELED ends the thread there. */
green__shim_thread_t *green__shim_wait_begin(int intr);
int green__shim_wait_end(green__shim_thread_t *self, int r);

/* A green thread of hub h parked in an interruptible wait that does not block sig, or NULL.
 * A process-directed signal that the main thread blocks goes to one of them. */
green_t *green__shim_threads_unblocked(struct green__hub *h, int sig);

/* In the child of fork. `self` is the forking thread's record, or NULL. It becomes the
 * record of the main greenlet of the child's new hub. */
void green__shim_threads_after_fork(green__shim_thread_t *self);

/* The live green thread whose gettid() is `tid`, or NULL (tid.c translates). */
green__shim_thread_t *green__shim_thread_by_tid(pid_t tid);

/* The id the next green thread gets: above any the kernel hands out (tid.c). */
pid_t green__shim_tid_next(void);

/* fork and wait (proc.c): register the fork handler. */
void green__shim_proc_init(void);

#endif
