/*
 * libgreen: greenlets (stackful coroutines) scheduled by a per-thread hub that runs a libev
 * loop. Blocking-style calls park only the calling greenlet; the hub resumes it when its fd is
 * ready, its timer fires or another greenlet wakes it.
 *
 * Error model: functions that can fail return -1 (or NULL) and set errno, as libc does.
 * Timeouts are seconds as a double; a negative timeout waits forever, NaN is EINVAL.
 * Every blocking call fails with ETIMEDOUT once the greenlet's scoped deadline passes and with
 * ECANCELED once the greenlet has been killed.
 */
#ifndef GREEN_H
#define GREEN_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define GREEN_EXTERN __attribute__((visibility("default")))
#else
#define GREEN_EXTERN
#endif

#define GREEN_VERSION_MAJOR 0
#define GREEN_VERSION_MINOR 1

typedef struct green green_t;

typedef enum green_state {
  GREEN_NEW,     /* spawned, has not run yet */
  GREEN_READY,   /* in the ready queue */
  GREEN_RUNNING, /* the current greenlet of its hub */
  GREEN_BLOCKED, /* parked: waiting for an fd, a timer, a join... */
  GREEN_DEAD     /* its function returned; the handle lives until joined or detached */
} green_state_t;

#define GREEN_READ 0x1
#define GREEN_WRITE 0x2

/* The result a join reports for a greenlet killed before it ever ran (like PTHREAD_CANCELED). */
#define GREEN_CANCELED ((void *)-1)

/* ---- Greenlets ------------------------------------------------------------------------- */

/* Spawn a greenlet running fn(arg) on the calling thread's hub. It starts when the spawner
 * next parks or yields. Its stack comes from the hub's pool (default size 256 KiB of address
 * space, GREEN_STACK_SIZE in the environment overrides). NULL + errno (ENOMEM, EAGAIN, EINVAL)
 * on failure. */
GREEN_EXTERN green_t *green_spawn(void *(*fn)(void *), void *arg);

/* green_spawn with a stack of stack_size bytes (rounded up to pages; 0 means the default). */
GREEN_EXTERN green_t *green_spawn_stack(void *(*fn)(void *), void *arg, size_t stack_size);

/* Wait for g to end and release its handle; *result (if result is not NULL) gets the value
 * its function returned. ETIMEDOUT when the timeout passes (the handle stays valid),
 * EDEADLK when g is the caller, EINVAL for NULL, a detached handle or one another greenlet
 * is already joining, ESRCH for a handle of another thread's hub or one already released. */
GREEN_EXTERN int green_join(green_t *g, void **result, double timeout);

/* Wait for all n greenlets to end, then release them all. On failure (ETIMEDOUT, ECANCELED,
 * or a bad handle as in green_join) none of them is released. */
GREEN_EXTERN int green_joinall(green_t **gs, size_t n, double timeout);

/* Nobody will join g: its handle is released as soon as it ends (at once if it has). */
GREEN_EXTERN int green_detach(green_t *g);

/* Go to the back of the ready queue; the hub polls for I/O now and then so a yielding loop
 * cannot starve it. */
GREEN_EXTERN void green_yield(void);

/* Park for `seconds` (0 yields). EINVAL for negative or NaN; ETIMEDOUT if the scoped
 * deadline passes first; ECANCELED when killed. */
GREEN_EXTERN int green_sleep(double seconds);

/* Cancel g: the blocking call it is parked in, and every blocking call it makes from now on,
 * fail with ECANCELED. A greenlet killed before it ran never runs (its result is
 * GREEN_CANCELED). Killing a dead greenlet does nothing. */
GREEN_EXTERN int green_kill(green_t *g);

/* The running greenlet; the thread's own stack is its main greenlet. Never NULL. */
GREEN_EXTERN green_t *green_current(void);

/* g's state, or -1 + errno for a handle that is not valid here. */
GREEN_EXTERN int green_state(green_t *g);

/* Monotonic time in seconds; the clock deadlines and timeouts are measured on. */
GREEN_EXTERN double green_now(void);

/* ---- Scoped deadlines (gevent.Timeout, Go's context deadline) ----------------------------
 * Between enter and leave, every blocking call of the current greenlet fails with ETIMEDOUT
 * once the deadline passes. Scopes nest: an inner scope can shorten the deadline, never
 * extend it. Leave them in reverse order of entering (EINVAL otherwise). */
typedef struct green_deadline {
  double at;                   /* absolute, on green_now()'s clock */
  double outer_at;             /* private: the deadline in force before enter */
  struct green_deadline *outer; /* private */
} green_deadline_t;

GREEN_EXTERN int green_deadline_enter(green_deadline_t *d, double seconds);
GREEN_EXTERN int green_deadline_leave(green_deadline_t *d);
/* Non-zero once d's own deadline has passed: tells which scope an ETIMEDOUT came from. */
GREEN_EXTERN int green_deadline_expired(const green_deadline_t *d);

/* ---- File descriptors -------------------------------------------------------------------
 * libgreen puts the fds it works on in non-blocking mode (once, remembered per fd) and keeps
 * their libev watchers registered between waits. Close such fds with green_close, never with
 * plain close(), so the hub forgets them. */

/* Park until fd is ready for `events` (GREEN_READ | GREEN_WRITE). Returns the ready events
 * (> 0), or -1 with ETIMEDOUT, ECANCELED, EBADF (fd closed by green_close meanwhile, or not
 * an open fd) or EINVAL (bad events). */
GREEN_EXTERN int green_wait_fd(int fd, int events, double timeout);

/* Close fd; greenlets parked on it wake with EBADF. The fd is released even when close
 * reports an error, as on Linux. */
GREEN_EXTERN int green_close(int fd);

/* socket(2) with the fd already non-blocking for the hub. */
GREEN_EXTERN int green_socket(int domain, int type, int protocol);

/* The blocking calls below have libc's signatures and errno. They park only the calling
 * greenlet. Writes and sends on stream sockets write everything or fail; when they fail
 * after a partial transfer they return the count transferred, like libc's blocking write
 * interrupted by a signal. green_accept/accept4 return non-blocking fds. */
GREEN_EXTERN ssize_t green_read(int fd, void *buf, size_t n);
GREEN_EXTERN ssize_t green_write(int fd, const void *buf, size_t n);
GREEN_EXTERN ssize_t green_readv(int fd, const struct iovec *iov, int iovcnt);
GREEN_EXTERN ssize_t green_writev(int fd, const struct iovec *iov, int iovcnt);
GREEN_EXTERN ssize_t green_recv(int fd, void *buf, size_t n, int flags);
GREEN_EXTERN ssize_t green_send(int fd, const void *buf, size_t n, int flags);
GREEN_EXTERN ssize_t green_recvfrom(int fd, void *buf, size_t n, int flags,
                                    struct sockaddr *addr, socklen_t *addrlen);
GREEN_EXTERN ssize_t green_sendto(int fd, const void *buf, size_t n, int flags,
                                  const struct sockaddr *addr, socklen_t addrlen);
GREEN_EXTERN ssize_t green_recvmsg(int fd, struct msghdr *msg, int flags);
GREEN_EXTERN ssize_t green_sendmsg(int fd, const struct msghdr *msg, int flags);
GREEN_EXTERN int green_connect(int fd, const struct sockaddr *addr, socklen_t len);
GREEN_EXTERN int green_accept(int fd, struct sockaddr *addr, socklen_t *len);
GREEN_EXTERN int green_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/* ---- Callbacks on the hub ------------------------------------------------------------------
 * Functions the hub runs between greenlets, on its own stack (asyncio's call_soon/call_later,
 * gevent's loop.run_callback). A callback must not block: a blocking call made from one
 * (sleep, join, I/O that would wait, a future not yet done...) fails at once with EPERM, and
 * green_yield does nothing. It may spawn, kill, set futures, schedule or cancel callbacks.
 * Handles are per hub; 0 is never a handle. */
typedef unsigned long long green_call_t;

/* Run fn(arg) soon: after the greenlets ready now have had their turn, in the order the
 * calls were made; a greenlet that keeps yielding cannot hold them back. Costs no system
 * call. Returns a handle, or 0 + errno (EINVAL for a NULL fn, ENOMEM). */
GREEN_EXTERN green_call_t green_call_soon(void (*fn)(void *), void *arg);

/* Run fn(arg) once `seconds` (>= 0, finite; else EINVAL) have passed. Calls due at the same
 * time run in the order they were made. */
GREEN_EXTERN green_call_t green_call_later(double seconds, void (*fn)(void *), void *arg);

/* Run fn(arg) at `at`, an absolute time on green_now()'s clock (finite; a past time runs at
 * the next poll). */
GREEN_EXTERN green_call_t green_call_at(double at, void (*fn)(void *), void *arg);

/* Cancel a pending call of the calling thread's hub: it will not run. ESRCH when the handle
 * names no pending call (it has run or is running, was cancelled, or belongs to another
 * hub); EINVAL for 0. */
GREEN_EXTERN int green_call_cancel(green_call_t call);

/* ---- Calls from other threads ---------------------------------------------------------------
 * green_call_threadsafe is the only libgreen function other threads may call on a hub: it
 * queues fn(arg) and wakes the hub's loop (ev_async); the hub runs the calls in the order they
 * were queued, on its own stack, under the rules of callbacks above.
 *
 * A hub is named by a reference taken on its own thread with green_hub_current and given back
 * with green_hub_release (from any thread). The handle outlives the hub: once the hub's thread
 * has exited, green_call_threadsafe fails with ESRCH, and calls still queued then never run.
 * While anyone holds a reference the hub counts on calls coming in: when all its greenlets are
 * parked and nothing else can wake them, it waits for calls instead of failing main's blocking
 * call with EDEADLK. Release references once no more calls will come. */
typedef struct green_hub green_hub_t;

/* A new reference to the calling thread's hub; NULL + errno (ENOMEM). */
GREEN_EXTERN green_hub_t *green_hub_current(void);

/* Give back a reference; the handle must not be used through it afterwards. EINVAL for NULL. */
GREEN_EXTERN int green_hub_release(green_hub_t *hub);

/* Queue fn(arg) for the hub, from any thread (not from a signal handler). 0, or -1 with
 * ESRCH (the hub's thread has exited), ENOMEM, EINVAL (NULL hub or fn). */
GREEN_EXTERN int green_call_threadsafe(green_hub_t *hub, void (*fn)(void *), void *arg);

/* ---- Futures (gevent's AsyncResult, asyncio's Future) ---------------------------------------
 * A value or an error, set once, waited for by any number of greenlets of one hub. Another
 * thread sets one through green_call_threadsafe. ESRCH for a future of another hub. */
typedef struct green_future green_future_t;

/* NULL + errno (ENOMEM) on failure. */
GREEN_EXTERN green_future_t *green_future_new(void);

/* EBUSY (nothing changes) while greenlets wait on it or an iwait iterator watches it. Done
 * callbacks of a future that never completed are dropped. */
GREEN_EXTERN int green_future_free(green_future_t *f);

/* Complete f with a value, or with an error number (> 0, else EINVAL): its waiters wake in the
 * order they came, its done callbacks are scheduled. EALREADY when f is already done. */
GREEN_EXTERN int green_future_set(green_future_t *f, void *value);
GREEN_EXTERN int green_future_set_error(green_future_t *f, int err);

/* Wait for f; *value (if value is not NULL) gets its value. -1 with the error f was set with,
 * or ETIMEDOUT, ECANCELED. Returns at once once f is done. */
GREEN_EXTERN int green_future_get(green_future_t *f, void **value, double timeout);

/* 1 when done, 0 when not, -1 + errno for a bad handle. */
GREEN_EXTERN int green_future_done(green_future_t *f);

/* Have cb(arg, value, err) run on the hub (as with green_call_soon) once f is done (soon, if it
 * is already): err is 0 and value f's value, or err is the error f was set with. Callbacks
 * run in the order they were added. ENOMEM, EINVAL for a NULL cb. */
GREEN_EXTERN int green_future_add_done_callback(green_future_t *f,
                                                void (*cb)(void *arg, void *value, int err),
                                                void *arg);

/* ---- Groups and pools (gevent.pool.Group and Pool) -------------------------------------------
 * A group owns its members: they are detached (green_join and green_detach on them fail with
 * EINVAL) and leave the group, their handles released, when they end. A greenlet belongs to
 * at most one group. Results travel through the greenlet's arg or a future. */
typedef struct green_group green_group_t;

GREEN_EXTERN green_group_t *green_group_new(void);

/* EBUSY (nothing changes) while it has members or greenlets wait in green_group_join. */
GREEN_EXTERN int green_group_free(green_group_t *grp);

/* Make g a member. g must be a spawned greenlet nobody joins, not detached, not in a group
 * (EINVAL otherwise; ESRCH for a released handle or one of another hub). A greenlet that has
 * already ended is released at once instead, as green_detach does. */
GREEN_EXTERN int green_group_add(green_group_t *grp, green_t *g);

/* green_spawn, then green_group_add. */
GREEN_EXTERN green_t *green_group_spawn(green_group_t *grp, void *(*fn)(void *), void *arg);

/* Wait until the group has no members. ETIMEDOUT, ECANCELED; EDEADLK when the caller is a
 * member (it would wait for itself). */
GREEN_EXTERN int green_group_join(green_group_t *grp, double timeout);

/* green_kill every member; does not wait for them to end (green_group_join does). */
GREEN_EXTERN int green_group_kill(green_group_t *grp);

/* The number of members, or -1 + errno. */
GREEN_EXTERN ssize_t green_group_size(green_group_t *grp);

/* A pool is a group that runs at most `limit` greenlets at once. */
typedef struct green_pool green_pool_t;

/* EINVAL for a limit of 0. */
GREEN_EXTERN green_pool_t *green_pool_new(size_t limit);

/* EBUSY while it has members or greenlets wait in it (to spawn or to join). */
GREEN_EXTERN int green_pool_free(green_pool_t *p);

/* Spawn fn(arg) into the pool, first parking while it is full. Spawners get free places in
 * the order they came. NULL + errno: ETIMEDOUT, ECANCELED, or green_spawn's errors. */
GREEN_EXTERN green_t *green_pool_spawn(green_pool_t *p, void *(*fn)(void *), void *arg,
                                       double timeout);

/* As for groups: wait until no member is left (nor a spawn that was given a place). */
GREEN_EXTERN int green_pool_join(green_pool_t *p, double timeout);
GREEN_EXTERN int green_pool_kill(green_pool_t *p);
GREEN_EXTERN ssize_t green_pool_size(green_pool_t *p);

/* ---- Waiting for whichever finishes first (gevent.iwait, asyncio.as_completed) ---------------
 * An iterator over greenlets and futures of the calling hub that reports each one once, in
 * the order they finish (those already finished first, in argument order). It does not join
 * the greenlets: join them afterwards (a detached greenlet or a group member is released when
 * it ends, so its handle is not valid once reported). */
typedef struct green_iwait green_iwait_t;

/* Items are numbered greenlets first (0 .. ng-1), then futures (ng .. ng+nf-1). NULL + errno:
 * ESRCH for a released or foreign handle, EINVAL for NULL arrays or the main greenlet,
 * ENOMEM. Neither the greenlets' handles nor the futures may be released while watched. */
GREEN_EXTERN green_iwait_t *green_iwait_new(green_t **gs, size_t ng, green_future_t **fs,
                                            size_t nf);

/* Wait for the next item to finish: 1 with its number in *index, 0 once every item has been
 * reported, or -1 with ETIMEDOUT, ECANCELED, EBUSY (another greenlet waits on it). */
GREEN_EXTERN int green_iwait_next(green_iwait_t *it, size_t *index, double timeout);

/* Stop watching and free. EBUSY while a greenlet waits in green_iwait_next. */
GREEN_EXTERN int green_iwait_free(green_iwait_t *it);

/* Wait until one of the n greenlets has ended and return its index (the first in the array
 * if several have). -1 + errno as green_iwait_new and green_iwait_next; EINVAL when n is 0. */
GREEN_EXTERN ssize_t green_wait_any(green_t **gs, size_t n, double timeout);

/* ---- Thread pool (gevent's threadpool) ----------------------------------------------------
 * Blocking functions run on worker threads while only the calling greenlet parks. One pool
 * per process; no thread is started until the first job, and workers start as jobs need them,
 * up to the pool's size: green_threadpool_set_size, else GREEN_THREADPOOL_SIZE from the
 * environment (read at the first job), else 4 per core (at least 4). Workers block every
 * signal and end with the process; exit does not wait for a job still running. */

/* Run fn(arg) on a worker and park until it returns; *result (if not NULL) gets its return
 * value. A job cannot be stopped: when the caller is killed or its scoped deadline passes it
 * returns at once with ECANCELED or ETIMEDOUT, and the job's result is dropped when it ends.
 * EPERM from a callback on the hub, EAGAIN when no worker thread can be started, ENOMEM.
 * fn runs on a plain OS thread: libgreen calls made there use that thread's own hub. */
GREEN_EXTERN int green_threadpool_run(void *(*fn)(void *), void *arg, void **result);

/* Set the bound (1 to 1024, else EINVAL). Workers beyond it leave once idle. */
GREEN_EXTERN int green_threadpool_set_size(size_t n);

/* ---- Introspection ---------------------------------------------------------------------- */
typedef struct green_stats {
  size_t greenlets;        /* handles not yet released (the main greenlet excluded) */
  size_t ready;            /* in the ready queue */
  size_t blocked;          /* parked */
  size_t fds;              /* fds the hub has a watcher or waiters for */
  size_t stacks_in_use;    /* stacks of greenlets that have not ended */
  size_t stacks_pooled;    /* free stacks kept committed for reuse */
  size_t stacks_guarded;   /* stacks (in use or pooled) with a guard page below */
  size_t stacks_unguarded; /* ... without one: the map-count budget was spent */
  unsigned long long switches; /* context switches since the hub started */
  unsigned long long polls;    /* libev loop iterations */
} green_stats_t;

/* Fill *st for the calling thread's hub. */
GREEN_EXTERN int green_stats(green_stats_t *st);

#ifdef __cplusplus
}
#endif
#endif /* GREEN_H */
