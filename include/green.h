/* SPDX-License-Identifier: MIT */
/*
 * libgreen: greenlets (stackful coroutines) scheduled by a per-thread hub that runs a libev
 * loop. Blocking-style calls park only the calling greenlet. The hub resumes it when its fd is
 * ready, its timer fires or another greenlet wakes it.
 *
 * Errors, one rule: a function that fails returns -1 and sets errno, as libc does. A function
 * that returns a handle returns its "no handle" value instead. That is NULL for a pointer, and
 * 0 for a green_call_t and for green_id's ids. 0 is never one, as NULL is never an object.
 * The exceptions follow libc's signatures:
 *   green_getaddrinfo, green_getnameinfo  return 0 or an EAI_* code, as getaddrinfo(3) does.
 *                                         errno says more only with EAI_SYSTEM.
 *   green_local_get                       returns NULL for "no value" and for a key that
 *                                         does not exist. It leaves errno untouched, as
 *                                         pthread_getspecific does.
 * A few error numbers are data, not returns: positive errno values, or 0 for none. They are
 * the err given to green_future_set_error, the err a done callback receives, and the err of a
 * fired green_select case. Functions that cannot fail (green_now, green_yield) return no error.
 * The first call on a thread makes its hub. Every function that needs a hub fails with ENOMEM
 * when it cannot be made.
 * Every call that may wait takes its limit one way: a timeout in seconds from now, as a
 * double. A negative timeout waits forever; NaN is EINVAL. The scoped deadline (see
 * green_deadline_enter) bounds every timeout.
 * Every blocking call fails with ETIMEDOUT once the greenlet's scoped deadline passes. It fails
 * with ECANCELED once the greenlet has been killed.
 *
 * Stack overflows: a greenlet that runs off its stack is reported on stderr, and the process
 * aborts. The report is a line ("libgreen: greenlet 42 "name" overflowed its 256 KiB stack"),
 * then the greenlet's backtrace. The first hub installs a SIGSEGV/SIGBUS handler that catches
 * a guarded stack's fault. The handler runs on an alternate signal stack, one per hub thread.
 * Other faults go to the handler installed before it. Without one, they kill the process, as
 * without libgreen. A handler installed after the first hub replaces it. A stack past the
 * guard-page budget has a canary instead, checked whenever its greenlet switches out.
 */
#ifndef GREEN_H
#define GREEN_H

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define GREEN_EXTERN __attribute__((visibility("default")))
#else
#define GREEN_EXTERN
#endif

#include "green_config.h" /* the version and what the build chose (cmake/green_config.h.in) */

/* A greenlet's handle. It is not an address: compare handles, never dereference them. A
 * stale handle gives ESRCH in every call, even once its slot holds a new greenlet. A handle
 * is stale once its greenlet is gone: joined, ended detached, or its thread exited. A handle
 * of another thread's hub gives ESRCH too.
 * (A stale handle could match again only after 2^40 spawns in the process.) */
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

/* fork(): the child starts with a fresh hub. The greenlet that forked becomes its main
 * greenlet and keeps its name and locals. The parent's other greenlets never run in the
 * child; their handles give ESRCH there. When a greenlet that forked returns in the child,
 * the child exits with status 0, as when a last thread returns. */

/* Spawn a greenlet running fn(arg) on the calling thread's hub. It starts when the spawner
 * next parks or yields. Its stack comes from the hub's pool. The default stack is 256 KiB of
 * address space; GREEN_STACK_SIZE in the environment overrides it. NULL + errno (ENOMEM,
 * EAGAIN, EINVAL) on failure. */
GREEN_EXTERN green_t *green_spawn(void *(*fn)(void *), void *arg);

/* green_spawn with a stack of stack_size bytes (rounded up to pages; 0 means the default). */
GREEN_EXTERN green_t *green_spawn_stack(void *(*fn)(void *), void *arg, size_t stack_size);

/* Wait for g to end, then release its handle. *result (if result is not NULL) gets the value
 * its function returned. ETIMEDOUT when the timeout passes; the handle stays valid. ECANCELED
 * when the caller is killed. EDEADLK when g is the caller. EINVAL for NULL, a detached handle,
 * or one another greenlet is already joining. ESRCH for a handle already released, or of a hub
 * whose thread has exited. g may be a greenlet of another hub (see Hubs); EPERM then from a
 * callback. */
GREEN_EXTERN int green_join(green_t *g, void **result, double timeout);

/* Wait for all n greenlets to end, then release them all. On failure (ETIMEDOUT, ECANCELED,
 * or a bad handle as in green_join) none of them is released. They may be greenlets of any
 * hub: each is then claimed on its hub by a message, and the caller parks for the answers
 * (EPERM from a callback). */
GREEN_EXTERN int green_joinall(green_t **gs, size_t n, double timeout);

/* Nobody will join g: its handle is released as soon as it ends (at once if it has). EINVAL
 * for NULL, the main or hub greenlet, a detached one or one being joined. ESRCH, EPERM as
 * green_join. */
GREEN_EXTERN int green_detach(green_t *g);

/* Go to the back of the ready queue. The hub polls for I/O now and then, so a yielding loop
 * cannot starve it. */
GREEN_EXTERN void green_yield(void);

/* Park for `seconds` (0 yields). EINVAL for negative or NaN; ETIMEDOUT if the scoped
 * deadline passes first; ECANCELED when killed. */
GREEN_EXTERN int green_sleep(double seconds);

/* Cancel g: the blocking call it is parked in fails with ECANCELED. So does every blocking
 * call it makes from now on. A greenlet killed before it ran never runs (its result is
 * GREEN_CANCELED). Killing a dead greenlet does nothing. EINVAL for NULL or the hub greenlet
 * (a callback's green_current()). ESRCH, EPERM as green_join. */
GREEN_EXTERN int green_kill(green_t *g);

/* The running greenlet; the thread's own stack is its main greenlet. NULL only with ENOMEM,
 * when the thread's hub cannot be made. */
GREEN_EXTERN green_t *green_current(void);

/* g's id: unique in the process and never reused. Dumps name greenlets by it; the thread's
 * main greenlet has one too. 0 + errno (ESRCH, EINVAL, EPERM as green_join) for a handle that
 * is not valid. */
GREEN_EXTERN unsigned long long green_id(green_t *g);

/* g's state, or -1 + errno (ESRCH, EINVAL, EPERM as green_join) for a handle that is not
 * valid. */
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

/* Enter a scope whose deadline is `seconds` from now (negative: none). d lives on the caller's
 * side until leave. EINVAL for NULL or NaN. */
GREEN_EXTERN int green_deadline_enter(green_deadline_t *d, double seconds);
/* Leave d's scope: the deadline in force before enter applies again. EINVAL for NULL, or when
 * d is not the innermost scope of the calling greenlet. */
GREEN_EXTERN int green_deadline_leave(green_deadline_t *d);
/* 1 once d's own deadline has passed, 0 before. It tells which scope an ETIMEDOUT came from.
 * -1 + EINVAL for NULL. */
GREEN_EXTERN int green_deadline_expired(const green_deadline_t *d);

/* ---- File descriptors -------------------------------------------------------------------
 * libgreen leaves each fd's mode as the program set it. Every call tries without waiting:
 * MSG_DONTWAIT, RWF_NOWAIT, or a poll first. No call blocks the thread, whatever file the
 * number names. The fds' libev watchers stay registered between waits: close such fds with
 * green_close, not plain close(). After a plain close(), a greenlet still waiting on the fd
 * sleeps until its deadline. A new file with that number may not wake its readers either.
 * With the watchdog on (green_set_watchdog), such a waiter is reported and woken with EBADF
 * within two periods. Sockets from green_socket and green_accept are non-blocking. */

/* Park until fd is ready for `events` (GREEN_READ | GREEN_WRITE). Returns the ready events
 * (> 0), or -1 + errno. ETIMEDOUT, ECANCELED. EBADF when fd is not an open fd, or when
 * green_close closed it meanwhile. EBADF also when a plain close() closed it and the watchdog
 * saw that. EINVAL for bad events. */
GREEN_EXTERN int green_wait_fd(int fd, int events, double timeout);

/* Close fd; greenlets parked on it wake with EBADF. The fd is released even when close
 * reports an error, as on Linux. */
GREEN_EXTERN int green_close(int fd);

/* socket(2) with the fd already non-blocking for the hub. */
GREEN_EXTERN int green_socket(int domain, int type, int protocol);

/* The blocking calls below have libc's signatures. They return what libc's calls return and
 * set errno as they do. They park only the calling greenlet. Writes and sends on stream
 * sockets write everything or fail. When they fail after a partial transfer, they return the
 * count transferred. libc's blocking write does the same when a signal interrupts it.
 * green_accept/accept4 return non-blocking fds. While they wait, they fail with ETIMEDOUT once
 * the scoped deadline passes, and with ECANCELED once the caller is killed. */
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

/* ---- Queues (gevent.queue.JoinableQueue) ------------------------------------------------
 * A FIFO of void * items, bounded or unbounded, shared by greenlets. put
 * parks while the queue is full, get while it is empty. Parked greenlets are served in the
 * order they came. An item put while getters are parked goes straight to the first of them.
 * A get from a full queue moves the first parked putter's item into the freed slot. So a
 * latecomer cannot take an item or a slot from a greenlet already waiting. Items live in a
 * ring buffer that grows by doubling, up to the capacity when bounded. Nothing is allocated
 * per item. Greenlets of every thread's hub may use a queue together (see "Objects and
 * threads"). */
typedef struct green_queue green_queue_t;

/* A queue of at most `capacity` items; 0 means unbounded. NULL + ENOMEM. */
GREEN_EXTERN green_queue_t *green_queue_new(size_t capacity);

/* Free q and forget the items still in it. EBUSY (and nothing freed) while a greenlet is
 * parked in a put, get or join on q. EINVAL for NULL. */
GREEN_EXTERN int green_queue_free(green_queue_t *q);

/* Append item, parking while q is full. EPIPE once q is closed (the item is not added),
 * ETIMEDOUT, ECANCELED; ENOMEM when an unbounded queue cannot grow. */
GREEN_EXTERN int green_queue_put(green_queue_t *q, void *item, double timeout);

/* Take the oldest item into *item, parking while q is empty. A closed queue still gives the
 * items left in it, then fails with EPIPE. ETIMEDOUT, ECANCELED. */
GREEN_EXTERN int green_queue_get(green_queue_t *q, void **item, double timeout);

/* put and get that never park: EAGAIN when q is full (put) or empty (get). */
GREEN_EXTERN int green_queue_try_put(green_queue_t *q, void *item);
GREEN_EXTERN int green_queue_try_get(green_queue_t *q, void **item);

/* No more puts. Parked putters and later puts fail with EPIPE. Parked getters fail with EPIPE
 * too (they only park while q is empty). EPIPE when q was already closed, as for channels. */
GREEN_EXTERN int green_queue_close(green_queue_t *q);

/* Items in q now, or -1 + errno (EINVAL for NULL). */
GREEN_EXTERN ssize_t green_queue_len(const green_queue_t *q);

/* One item taken from q has been dealt with. EINVAL when called more often than items were
 * put (Python's ValueError). When every item put has been marked done, joiners wake. */
GREEN_EXTERN int green_queue_task_done(green_queue_t *q);

/* Park until every item ever put on q has been marked done with green_queue_task_done.
 * ETIMEDOUT, ECANCELED. */
GREEN_EXTERN int green_queue_join(green_queue_t *q, double timeout);

/* ---- Channels (Go's unbuffered channels and select) --------------------------------------
 * A rendezvous: a send parks until a receiver takes the value. A receive parks until a sender
 * brings one. A send to a receiver already parked completes at once: the receiver has the
 * value. Parked senders and receivers are served in arrival order. Greenlets of every
 * thread's hub may use a channel together, and a select may wait on channels that greenlets
 * of other hubs use (see "Objects and threads"). */
typedef struct green_chan green_chan_t;

/* NULL + ENOMEM. */
GREEN_EXTERN green_chan_t *green_chan_new(void);

/* Free c. EBUSY (nothing freed) while a greenlet is parked on c, in a send, a receive or a
 * select. */
GREEN_EXTERN int green_chan_free(green_chan_t *c);

/* Hand value to a receiver. EPIPE when c is closed (before or while parked), ETIMEDOUT,
 * ECANCELED. */
GREEN_EXTERN int green_chan_send(green_chan_t *c, void *value, double timeout);

/* Take a value from a sender into *value. EPIPE once c is closed, ETIMEDOUT, ECANCELED. */
GREEN_EXTERN int green_chan_recv(green_chan_t *c, void **value, double timeout);

/* Close c: every parked receiver and sender (select cases too) wakes with EPIPE. Every later
 * send or receive fails with EPIPE too. EPIPE when c was already closed. */
GREEN_EXTERN int green_chan_close(green_chan_t *c);

#define GREEN_SELECT_SEND 1
#define GREEN_SELECT_RECV 2

typedef struct green_select_case {
  green_chan_t *chan; /* NULL: the case is never ready (Go's nil channel) */
  int op;             /* GREEN_SELECT_SEND or GREEN_SELECT_RECV */
  void *value;        /* SEND: the value to send; RECV: set to the value received */
  int err;            /* set in the case that fired, as data (errno is not set): 0, or EPIPE
                         when its channel is closed */
} green_select_case_t;

/* Wait until one of the n cases can proceed, carry it out, and return its index. That case's
 * err tells how it fired; the other cases do nothing. When several are ready at once, one is
 * picked at random, each with the same chance (Go's rule). So no case can starve the others.
 * A case whose channel is closed is ready: it fires with err = EPIPE. timeout 0 polls (Go's
 * default case): ETIMEDOUT when none is ready at once. EINVAL for a bad op, or for
 * cases == NULL with n > 0. ETIMEDOUT, ECANCELED. ENOMEM: more than 16 cases need memory. */
GREEN_EXTERN int green_select(green_select_case_t *cases, size_t n, double timeout);

/* ---- Greenlet-local storage and names (pthread_key_create per greenlet) -------------------
 * Keys are process-wide; values are per greenlet. The main greenlet of each thread has values
 * too. A greenlet that never sets a value allocates nothing. When a greenlet ends, the
 * destructor of each key with a non-NULL value runs on that greenlet. It gets the value, which
 * is set to NULL first. This repeats while destructors set new values, for at most
 * GREEN_LOCAL_DESTRUCTOR_ITERATIONS rounds, as in pthreads. A thread's main greenlet ends when
 * the thread does: at pthread_exit or return from its start routine. Like pthread key
 * destructors, its destructors do not run at exit() of the process. */
typedef unsigned green_local_t;

#define GREEN_LOCAL_MAX 128
#define GREEN_LOCAL_DESTRUCTOR_ITERATIONS 4

/* A new key in *key; its value is NULL in every greenlet. EAGAIN when GREEN_LOCAL_MAX keys
 * exist, EINVAL for NULL. */
GREEN_EXTERN int green_local_create(green_local_t *key, void (*destructor)(void *));

/* Delete key: its values are forgotten, no destructor runs (as pthread_key_delete). EINVAL
 * for a key that does not exist. */
GREEN_EXTERN int green_local_delete(green_local_t key);

/* The calling greenlet's value for key; NULL when it has none or key does not exist. */
GREEN_EXTERN void *green_local_get(green_local_t key);

/* Set the calling greenlet's value for key. EINVAL for a key that does not exist, ENOMEM. */
GREEN_EXTERN int green_local_set(green_local_t key, const void *value);

/* Longest name kept, including its terminating NUL. */
#define GREEN_NAME_MAX 32

/* Name g, for dumps and error messages. name is copied and cut to GREEN_NAME_MAX - 1 bytes;
 * NULL clears it. ESRCH, EINVAL, EPERM as green_state (g may be of another hub). */
GREEN_EXTERN int green_set_name(green_t *g, const char *name);

/* g's name, "" when it has none; valid until g is renamed or released. For a greenlet of
 * another hub it is a copy, asked for by a message, valid until the caller next parks or
 * yields. NULL + errno (ESRCH, EINVAL, EPERM as green_state) for a handle that is not valid. */
GREEN_EXTERN const char *green_name(green_t *g);

/* ---- Generators (Python's generator send/yield) ------------------------------------------
 * A generator runs fn(gen, arg) on a greenlet of its own. The caller resumes it with
 * green_gen_next or green_gen_send. It then runs until it calls green_gen_yield(gen, value,
 * ...). That call hands `value` back to the caller and suspends the generator until the next
 * resume. The CPU goes straight from caller to generator and back, without the ready queue.
 * fn's return value is Python's StopIteration value: the resume that ran it to its end
 * reports "stopped". A generator may park in blocking calls; its caller waits meanwhile.
 * Killing the caller while it waits kills the generator too. The kill lands in the innermost
 * generator, as an exception would in one Python call stack. A generator belongs to the
 * thread that made it. Other threads get EPERM, with several hubs too. It runs on its caller's
 * stack's thread. A resume from another hub would move it to that hub's thread. A greenlet
 * never does that. While suspended, it counts as blocked in green_stats. */
typedef struct green_gen green_gen_t;

/* A generator that has not started; fn runs at the first green_gen_next. NULL + errno
 * (ENOMEM, EAGAIN as green_spawn; EINVAL for NULL fn). */
GREEN_EXTERN green_gen_t *green_gen_new(void *(*fn)(green_gen_t *gen, void *arg), void *arg);

/* Resume gen with `sent` as the result of its pending yield (green_gen_next sends NULL).
 * value may be NULL.
 * Returns 1 when gen yielded; *value gets what it yielded.
 * Returns 0 when gen has stopped; *value gets fn's return value the first time, NULL after.
 * Returns -1 + errno on failure. EINVAL for a NULL gen, or for a non-NULL send to a generator
 * that has not started (Python's TypeError). EBUSY when gen is running: it resumed itself, or
 * it is parked on behalf of another caller (Python's ValueError). ECANCELED when the caller
 * has been killed. EPERM for another thread's generator. */
GREEN_EXTERN int green_gen_send(green_gen_t *gen, void *sent, void **value);
GREEN_EXTERN int green_gen_next(green_gen_t *gen, void **value);

/* Called by the generator itself: give value to the caller and suspend. Returns 0 when
 * resumed; *sent (if not NULL) gets what the caller sent. Returns -1 + ECANCELED when gen is
 * being closed or killed (Python's GeneratorExit): clean up and return from fn. EINVAL when
 * the caller is not gen's own greenlet. */
GREEN_EXTERN int green_gen_yield(green_gen_t *gen, void *value, void **sent);

/* Python's `result = yield from sub`, called by generator gen: run sub until it stops. Each
 * value sub yields goes up to gen's caller. Each value the caller sends goes down to sub.
 * Returns 0 with *result (if not NULL) = sub's return value. When gen is closed or killed
 * meanwhile, it closes sub and returns -1 + ECANCELED. Other errors of resuming sub (EBUSY,
 * EINVAL) are returned as they are. sub is not freed. */
GREEN_EXTERN int green_gen_yield_from(green_gen_t *gen, green_gen_t *sub, void **result);

/* Python's close. A generator that has not started never will. One suspended in a yield
 * resumes: that yield fails with ECANCELED, and the generator runs until fn returns. Returns 0
 * once it has stopped. EPROTO when it yielded again instead: it stays suspended, and every
 * later yield of it fails with ECANCELED too. EBUSY when it is running, EINVAL for NULL. */
GREEN_EXTERN int green_gen_close(green_gen_t *gen);

/* Close gen if it has not stopped, then free it. A generator that ignores the close (yields
 * again) is discarded: its stack is released without running any more of it. EBUSY when gen
 * is running (nothing freed). EINVAL for NULL. */
GREEN_EXTERN int green_gen_free(green_gen_t *gen);
/* ---- Synchronisation: common rules ------------------------------------------------------
 * Events, semaphores, mutexes, condition variables and read-write locks are caller-allocated
 * structs, like pthread's. An all-zero object is a valid initialised one:
 * GREEN_<OBJECT>_INITIALIZER, static storage or memset. So they can live inside
 * pthread_mutex_t and friends. Their fields are private. Which threads' greenlets may use
 * one: see "Objects and threads". Do not copy an object once it is used.
 *
 * Blocking calls wait in FIFO order. They fail only when they would have to wait. ETIMEDOUT
 * when the timeout or the scoped deadline passes; ECANCELED when the caller is killed. A call
 * that can proceed at once succeeds, whatever the timeout, deadline or kill.
 * A wake-up hands the object (the lock, the semaphore unit, the signal) to the woken greenlet
 * before it runs. So a waiter that times out or is killed never takes a wake-up meant for
 * another. A waiter that was handed something keeps it.
 *
 * destroy fails with EBUSY while the object is held or waited on, and leaves it as it was.
 * After a successful destroy the object is all-zero again, and so valid. */

/* private: a link of an intrusive list; all-zero is an empty list */
struct green__list {
  struct green__list *next;
  struct green__list *prev;
};

/* ---- Objects and threads -----------------------------------------------------------------
 * Events, semaphores, mutexes, conditions and read-write locks need no hub to be made.
 * Greenlets of every thread's hub may use one together. A waiter of one hub is handed the
 * object by a greenlet of another, in the same order (FIFO; phase-fair for a rwlock). While
 * only one hub uses an object, its calls take no atomic read-modify-write. The first use from
 * a second hub makes it shared for good. That costs one process-wide memory barrier. From
 * then on its calls take a spin lock. A thread whose greenlets wait on such an object reports
 * no deadlock while other hubs exist. Queues and channels (and select) work across hubs the
 * same way: their waiters are served in the same order, wherever the item or value comes
 * from. A select never holds two channels at once. Futures, groups and pools too. Generators
 * and iwait iterators belong to the hub that made them (an iterator may watch greenlets and
 * futures of any hub). Their functions fail with EPERM on another thread. Hand work to
 * another thread with green_call_threadsafe. */

/* ---- Events (gevent.event.Event) --------------------------------------------------------
 * A flag greenlets can wait for. set wakes every waiter. A woken waiter returns 0 even if the
 * flag is cleared again before it runs. */
typedef struct green_event {
  struct green__list waiters; /* private */
  int is_set;                 /* private */
  unsigned home;              /* private: the hub that uses it, or shared (src/share.h) */
} green_event_t;

#define GREEN_EVENT_INITIALIZER {{0, 0}, 0, 0}

/* A clear flag. EINVAL for NULL. */
GREEN_EXTERN int green_event_init(green_event_t *e);
/* EBUSY while greenlets wait on e. EINVAL for NULL. */
GREEN_EXTERN int green_event_destroy(green_event_t *e);
/* Set the flag and wake every waiter. EINVAL for NULL. */
GREEN_EXTERN int green_event_set(green_event_t *e);
/* EINVAL for NULL. */
GREEN_EXTERN int green_event_clear(green_event_t *e);
/* 1 when set, 0 when not, -1 + EINVAL for NULL. */
GREEN_EXTERN int green_event_is_set(const green_event_t *e);
/* Return at once when the flag is set, else wait for green_event_set. */
GREEN_EXTERN int green_event_wait(green_event_t *e, double timeout);

/* ---- Semaphores (sem_t) ----------------------------------------------------------------- */
typedef struct green_sem {
  struct green__list waiters; /* private */
  unsigned value;             /* private: 0 while anyone waits (post hands a unit over) */
  unsigned home;              /* private: the hub that uses it, or shared (src/share.h) */
} green_sem_t;

#define GREEN_SEM_INITIALIZER {{0, 0}, 0, 0}
#define GREEN_SEM_VALUE_MAX 2147483647 /* SEM_VALUE_MAX on Linux */

/* EINVAL when value > GREEN_SEM_VALUE_MAX. */
GREEN_EXTERN int green_sem_init(green_sem_t *s, unsigned value);
/* EBUSY while greenlets wait on s. */
GREEN_EXTERN int green_sem_destroy(green_sem_t *s);
/* Take a unit, waiting for a post while the value is 0. */
GREEN_EXTERN int green_sem_wait(green_sem_t *s, double timeout);
/* EAGAIN instead of waiting. */
GREEN_EXTERN int green_sem_trywait(green_sem_t *s);
/* Give the oldest waiter a unit, or add one; EOVERFLOW past GREEN_SEM_VALUE_MAX. */
GREEN_EXTERN int green_sem_post(green_sem_t *s);
/* *value gets the count (0 while greenlets wait, as on Linux). */
GREEN_EXTERN int green_sem_getvalue(const green_sem_t *s, int *value);

/* ---- Mutexes (pthread_mutex_t) -----------------------------------------------------------
 * Owned by a greenlet (not a thread). Unlock hands the mutex straight to the oldest waiter,
 * which owns it before it runs. There is no barging: an unlocker that locks again at once
 * queues behind the waiters. So it cannot starve them. A contended hand-off costs one switch.
 * NORMAL behaves as ERRORCHECK. A relock by the owner is EDEADLK, where pthread would hang.
 * An unlock by a greenlet that does not own the mutex is EPERM, where pthread leaves it
 * undefined. A RECURSIVE mutex counts relocks by its owner (EAGAIN past UINT_MAX). A mutex
 * its owner never unlocks (even by ending) stays locked. */
enum { GREEN_MUTEX_NORMAL = 0, GREEN_MUTEX_RECURSIVE = 1, GREEN_MUTEX_ERRORCHECK = 2 };

typedef struct green_mutex {
  struct green__list waiters; /* private */
  green_t *owner;             /* private: NULL when unlocked; set for the woken waiter */
  unsigned count;             /* private: the owner's lock depth */
  int kind;                   /* private */
  unsigned home;              /* private: the hub that uses it, or shared (src/share.h) */
} green_mutex_t;

#define GREEN_MUTEX_INITIALIZER {{0, 0}, 0, 0, 0, 0}

/* kind: GREEN_MUTEX_NORMAL, _RECURSIVE or _ERRORCHECK (EINVAL otherwise). */
GREEN_EXTERN int green_mutex_init(green_mutex_t *m, int kind);
/* EBUSY while m is locked or greenlets wait on it. EINVAL for NULL. */
GREEN_EXTERN int green_mutex_destroy(green_mutex_t *m);
/* EDEADLK when the caller owns m (unless RECURSIVE). */
GREEN_EXTERN int green_mutex_lock(green_mutex_t *m, double timeout);
/* EBUSY instead of waiting, also when the caller owns m (unless RECURSIVE). */
GREEN_EXTERN int green_mutex_trylock(green_mutex_t *m);
/* EPERM when the caller does not own m. */
GREEN_EXTERN int green_mutex_unlock(green_mutex_t *m);

/* ---- Condition variables (pthread_cond_t) ------------------------------------------------
 * signal wakes the oldest waiter. broadcast wakes every greenlet waiting when it is called,
 * not later ones. A wait returns with the mutex held again on every path, timeout and kill
 * included, as in pthread. The one exception is EDEADLK. The main greenlet gets it when every
 * greenlet is parked and the mutex can never come back. A recursive mutex is released
 * completely for the wait and relocked to the same depth. */
typedef struct green_cond {
  struct green__list waiters; /* private */
  green_mutex_t *mutex;       /* private: the mutex the current waiters use */
  clockid_t clock;            /* private: the clock given to green_cond_init */
  unsigned home;              /* private: the hub that uses it, or shared (src/share.h) */
} green_cond_t;

#define GREEN_COND_INITIALIZER {{0, 0}, 0, 0, 0} /* CLOCK_REALTIME, as pthread's */

/* clock: CLOCK_REALTIME or CLOCK_MONOTONIC, EINVAL otherwise. It is
 * pthread_condattr_setclock's clock, kept for the preload shim's waits until an absolute
 * time. green_cond_wait's relative timeout does not depend on it. */
GREEN_EXTERN int green_cond_init(green_cond_t *c, clockid_t clock);
/* EBUSY while greenlets wait on c. EINVAL for NULL. */
GREEN_EXTERN int green_cond_destroy(green_cond_t *c);
/* Release m, wait for a signal, then lock m again. The caller must own m (EPERM otherwise).
 * EINVAL when other waiters use another mutex. */
GREEN_EXTERN int green_cond_wait(green_cond_t *c, green_mutex_t *m, double timeout);
/* Wake the oldest waiter (signal) or every waiter (broadcast). EINVAL for NULL. */
GREEN_EXTERN int green_cond_signal(green_cond_t *c);
GREEN_EXTERN int green_cond_broadcast(green_cond_t *c);

/* ---- Read-write locks (pthread_rwlock_t) -------------------------------------------------
 * The lock is phase-fair. A reader waits while a writer holds the lock or waits for it, so
 * writers do not starve. A writer's unlock admits every waiting reader before the next
 * writer, so readers do not starve either. Each kind wakes in FIFO order. A greenlet that
 * holds a read lock (of any rwlock) may take more read locks past waiting writers. So
 * recursive read locking cannot deadlock. Asking for the write lock while holding a read lock
 * of the same rwlock waits forever, or until timeout. pthread does the same. Read locks are
 * counted per greenlet, not per rwlock. An unlock by a greenlet that holds neither the write
 * lock nor any read lock is EPERM. Greenlets of several hubs may share one (see "Objects and
 * threads"). Every call: EINVAL for NULL. */
typedef struct green_rwlock {
  struct green__list readers_waiting; /* private */
  struct green__list writers_waiting; /* private */
  green_t *writer;                    /* private: the write owner */
  unsigned readers;                   /* private: read locks held */
  unsigned home;                      /* private: the hub that uses it, or shared (src/share.h) */
} green_rwlock_t;

#define GREEN_RWLOCK_INITIALIZER {{0, 0}, {0, 0}, 0, 0, 0}

/* An unlocked rwlock. */
GREEN_EXTERN int green_rwlock_init(green_rwlock_t *rw);
/* EBUSY while rw is held or greenlets wait on it. */
GREEN_EXTERN int green_rwlock_destroy(green_rwlock_t *rw);
/* EDEADLK when the caller holds the write lock; EAGAIN past UINT_MAX read locks. */
GREEN_EXTERN int green_rwlock_rdlock(green_rwlock_t *rw, double timeout);
/* EBUSY instead of waiting (also when the caller holds the write lock); EAGAIN as rdlock. */
GREEN_EXTERN int green_rwlock_tryrdlock(green_rwlock_t *rw);
/* EDEADLK when the caller holds the write lock. */
GREEN_EXTERN int green_rwlock_wrlock(green_rwlock_t *rw, double timeout);
/* EBUSY instead of waiting, also when the caller holds it. */
GREEN_EXTERN int green_rwlock_trywrlock(green_rwlock_t *rw);
/* Release the caller's write lock, or one of its read locks. */
GREEN_EXTERN int green_rwlock_unlock(green_rwlock_t *rw);
/* ---- Name resolution ----------------------------------------------------------------------
 * libc's resolver functions, with libc's signatures, flags and EAI_* codes. The hub's c-ares
 * channel answers them. A lookup parks only the calling greenlet, never its OS thread. Names
 * go through the hosts file and DNS, as /etc/nsswitch.conf, /etc/hosts and /etc/resolv.conf
 * say. resolv.conf's nameservers, search, ndots, timeout and attempts apply. LOCALDOMAIN and
 * RES_OPTIONS from the environment apply on top. Numeric hosts are parsed as glibc parses
 * them. "localhost" is answered even when the hosts file lacks it. Neither goes to the
 * network. Lists of two or more addresses are sorted as glibc sorts them: RFC 3484 with
 * glibc's default policy tables. /etc/gai.conf is not read. One difference from glibc's files
 * backend: a "::1" line of the hosts file answers only IPv6 questions. glibc also hands it out
 * as 127.0.0.1. Each thread keeps at most 64 queries in flight; more lookups wait their turn
 * in order.
 *
 * Environment (read once per thread, on its first lookup):
 *   GREEN_DNS_SERVERS  "127.0.0.1:5353,[::1]:5353": these servers instead of resolv.conf's.
 *                      A malformed list fails lookups with EAI_SYSTEM / EINVAL.
 *   GREEN_DNS_CACHE=0  no cache. Otherwise each thread keeps up to 512 answers. Positive ones
 *                      last for their smallest TTL, NXDOMAIN and no-data ones for 5 s.
 *
 * Errors:
 *   EAI_NONAME  for an unknown name (NXDOMAIN).
 *   EAI_NODATA  for a known name without an address of the family.
 *   EAI_AGAIN   for a timeout, SERVFAIL or unreachable servers.
 *   EAI_FAIL    for FORMERR, NOTIMP, REFUSED and unparsable answers.
 *   EAI_SYSTEM  with errno ECANCELED when the greenlet is killed. With errno ETIMEDOUT when
 *               its scoped deadline passes.
 *   EAI_FAMILY, EAI_SOCKTYPE, EAI_SERVICE, EAI_BADFLAGS, EAI_ADDRFAMILY and EAI_MEMORY as
 *               glibc returns them.
 * A killed greenlet's query is abandoned. It is cancelled when no other greenlet waits for an
 * answer. AI_IDN is accepted and names are used as given. */

/* getaddrinfo(3). Free the result with green_freeaddrinfo (or libc's freeaddrinfo). Returns 0
 * or an EAI_* code (see Errors above). A killed caller gets EAI_SYSTEM with errno ECANCELED.
 * A caller past its scoped deadline gets EAI_SYSTEM with errno ETIMEDOUT. */
GREEN_EXTERN int green_getaddrinfo(const char *node, const char *service,
                                   const struct addrinfo *hints, struct addrinfo **res);
/* freeaddrinfo(3): free a list green_getaddrinfo returned. */
GREEN_EXTERN void green_freeaddrinfo(struct addrinfo *res);

/* getnameinfo(3): reverse lookups through the hosts file and PTR records. Returns 0 or an
 * EAI_* code, as green_getaddrinfo. A killed caller gets EAI_SYSTEM with errno ECANCELED.
 * A caller past its scoped deadline gets EAI_SYSTEM with errno ETIMEDOUT. */
GREEN_EXTERN int green_getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
                                   socklen_t hostlen, char *serv, socklen_t servlen, int flags);

/* ---- Callbacks on the hub ------------------------------------------------------------------
 * The hub runs these functions between greenlets, on its own stack. They are asyncio's
 * call_soon/call_later and gevent's loop.run_callback. A callback must not block. A blocking
 * call made from one (sleep, join, I/O that would wait, a future not yet done...) fails at
 * once with EPERM. green_yield does nothing there. A callback may spawn, kill, set futures,
 * schedule or cancel callbacks. Handles are per hub; 0 is never a handle. */
typedef unsigned long long green_call_t;

/* Run fn(arg) soon, after the greenlets ready now have had their turn. Calls run in the order
 * they were made. A greenlet that keeps yielding cannot hold them back. Costs no system call.
 * Returns a handle, or 0 + errno (EINVAL for a NULL fn, ENOMEM). 0 is the "no handle" value
 * of the error rule, as NULL is for pointers. -1 would read as a valid handle. */
GREEN_EXTERN green_call_t green_call_soon(void (*fn)(void *), void *arg);

/* Run fn(arg) once `seconds` (>= 0, finite; else EINVAL) have passed. Calls due at the same
 * time run in the order they were made. Returns a handle, or 0 + errno, as green_call_soon. */
GREEN_EXTERN green_call_t green_call_later(double seconds, void (*fn)(void *), void *arg);

/* Run fn(arg) at `at`, an absolute time on green_now()'s clock. `at` must be finite (else
 * EINVAL); a past time runs at the next poll. Returns a handle, or 0 + errno, as
 * green_call_soon. */
GREEN_EXTERN green_call_t green_call_at(double at, void (*fn)(void *), void *arg);

/* Cancel a pending call of the calling thread's hub: it will not run. ESRCH when the handle
 * names no pending call: it has run or is running, was cancelled, or belongs to another hub.
 * EINVAL for 0. */
GREEN_EXTERN int green_call_cancel(green_call_t call);

/* ---- Calls from other threads ---------------------------------------------------------------
 * green_call_threadsafe is the only libgreen function other threads may call on a hub. It
 * queues fn(arg) and wakes the hub's loop (ev_async). The hub runs the calls in the order they
 * were queued, on its own stack. The rules of callbacks above apply to them.
 *
 * A hub is named by a reference. Its own thread takes one with green_hub_current. Any thread
 * gives it back with green_hub_release. The handle outlives the hub. Once the hub's thread has
 * exited, green_call_threadsafe fails with ESRCH. Calls still queued then never run.
 * While anyone holds a reference, the hub counts on calls coming in. So when all its
 * greenlets are parked and nothing else can wake them, it waits for calls. It does not fail
 * main's blocking call with EDEADLK. Release references once no more calls will come. */
typedef struct green_hub green_hub_t;

/* A new reference to the calling thread's hub; NULL + errno (ENOMEM). */
GREEN_EXTERN green_hub_t *green_hub_current(void);

/* Give back a reference; the handle must not be used through it afterwards. EINVAL for NULL. */
GREEN_EXTERN int green_hub_release(green_hub_t *hub);

/* Queue fn(arg) for the hub, from any thread (not from a signal handler). 0, or -1 with
 * ESRCH (the hub's thread has exited), ENOMEM, EINVAL (NULL hub or fn). */
GREEN_EXTERN int green_call_threadsafe(green_hub_t *hub, void (*fn)(void *), void *arg);

/* ---- Hubs: one per OS thread ----------------------------------------------------------------
 * green_hubs_start runs more hubs, each on an OS thread of its own (no other thread is made).
 * A greenlet runs only on the hub that spawned it, for its whole life. Its handle works from
 * every hub. green_join, green_detach, green_kill, green_state and green_id on a greenlet of
 * another hub are done by a message to that hub. The caller parks for the answer. So they
 * cannot be made from a callback (EPERM there). A join across hubs keeps the rules of
 * green_join (timeout, kill, scoped deadline); the other calls cannot be cut short. The handle
 * of a greenlet of a hub whose thread has exited gives ESRCH. So does one of a hub beyond the
 * first 1023 alive at once. Those hubs have no number to be found by. green_joinall,
 * green_group_add, green_iwait_new, green_name and green_set_name take greenlets of any hub the
 * same way. */

/* Start hubs: hubs[0] gets a new reference to the caller's hub, hubs[1..n-1] references to
 * n - 1 new hubs, each on a new OS thread. A new hub idles in its loop while anyone holds a
 * reference to it. Its main greenlet never fails with EDEADLK meanwhile. Once it is stopped,
 * or nobody holds one any more, its thread exits when its greenlets have ended. 0, or -1 +
 * errno: EINVAL (n is 0, hubs is NULL), ENOMEM, EAGAIN, EPERM (n > 1 from a callback).
 * EAGAIN: a thread cannot be started; the hubs already started are stopped again. */
GREEN_EXTERN int green_hubs_start(size_t n, green_hub_t **hubs);

/* Stop a hub green_hubs_start made and give back the reference. green_spawn_on gives ESRCH
 * from now on. The caller parks until the hub's greenlets have ended, those they spawn
 * meanwhile included, and its thread has exited. A kill does not cut it short. Greenlets
 * parked with nothing left to wake them are killed; if that does not end them, they go with
 * the thread. A wait on an event, semaphore, mutex or condition is not stuck while other hubs
 * exist, since one of them may wake it: the stop waits for it. For any other hub (hubs[0]) it
 * only gives back the reference. 0, or -1 + errno: EINVAL (NULL), EDEADLK (the caller runs on
 * that hub), EPERM (from a callback), ENOMEM. A second reference to the same hub is only given
 * back. */
GREEN_EXTERN int green_hub_stop(green_hub_t *hub);

/* The caller's hub, without a new reference: valid while the hub lives. NULL + errno
 * (ENOMEM). */
GREEN_EXTERN green_hub_t *green_hub_self(void);

/* green_spawn on hub: the greenlet runs there. The caller parks for the handle when hub is
 * another one. NULL + errno: EINVAL (NULL hub or fn), ESRCH (the hub is stopped or its thread
 * has exited), EPERM (another hub, from a callback), and green_spawn's (ENOMEM, EAGAIN). */
GREEN_EXTERN green_t *green_spawn_on(green_hub_t *hub, void *(*fn)(void *), void *arg);

/* ---- Listeners: one address, an accept queue per hub ----------------------------------------
 * A TCP listener that greenlets of several hubs accept on. Each hub that calls
 * green_listen_accept gets its own socket in the address's SO_REUSEPORT group. The socket is
 * made on its first call. The kernel spreads new connections over the hubs' queues, by a hash
 * of the addresses. A connection wakes only the hub whose queue it joins. It was measured on
 * 2 cores against one shared socket with an EPOLLEXCLUSIVE epoll set per hub
 * (docs/investigations.md, "The listener"). That socket accepted as many connections/s but spread
 * long-lived ones worse. There the hub that wakes accepts the whole burst: up to 76% on one
 * hub, against 55%. A hub that stops accepting leaves the connections hashed to its queue
 * waiting: keep an accept loop on every hub that has called green_listen_accept, until
 * green_listen_close. */
typedef struct green_listener green_listener_t;

/* socket, bind and listen on addr (SOCK_STREAM, SO_REUSEADDR), on the caller's hub. NULL +
 * errno: bind's and listen's (EADDRINUSE when another socket has the address, a listener
 * made here included; EINVAL for a NULL addr or a bad length), socket's, ENOMEM. Port 0 picks
 * one port for every hub (see green_listen_addr). */
GREEN_EXTERN green_listener_t *green_listen(const struct sockaddr *addr, socklen_t len,
                                            int backlog);

/* green_accept on the caller's hub's socket of l (made now on its first call: then also
 * socket's, bind's and listen's errors). The new fd is non-blocking and close-on-exec.
 * Returns the new fd, or -1 + errno. EINVAL for NULL; EBADF once l is closed while parked.
 * ETIMEDOUT, ECANCELED as green_accept. */
GREEN_EXTERN int green_listen_accept(green_listener_t *l, struct sockaddr *addr, socklen_t *len);

/* The bound address (as getsockname: truncated to *len, *len set to its size). EINVAL for
 * NULL. */
GREEN_EXTERN int green_listen_addr(green_listener_t *l, struct sockaddr *addr, socklen_t *len);

/* Close every hub's socket, each on its own hub (greenlets parked in green_listen_accept
 * wake with EBADF), and free l. Call it while the hubs that accepted on l still run, from a
 * greenlet (it parks for the other hubs); l must not be used afterwards. EINVAL for NULL. */
GREEN_EXTERN int green_listen_close(green_listener_t *l);

/* ---- Futures (gevent's AsyncResult, asyncio's Future) ---------------------------------------
 * A value or an error, set once. Any number of greenlets of any hub may wait for it, and a
 * greenlet of any hub may set it. A done callback runs on the hub that added it, whichever
 * hub sets the future (a message to it then). An iwait iterator that watches it is told
 * on its own hub too. A thread without a hub sets one through green_call_threadsafe. */
typedef struct green_future green_future_t;

/* NULL + errno (ENOMEM) on failure. */
GREEN_EXTERN green_future_t *green_future_new(void);

/* Free f. EBUSY (nothing changes) while greenlets wait on it or an iwait iterator watches it.
 * Done callbacks of a future that never completed are dropped. */
GREEN_EXTERN int green_future_free(green_future_t *f);

/* Complete f with a value (green_future_set) or with an error (green_future_set_error). err
 * is data: a positive errno value that f's waiters get as their errno. EINVAL when err is not
 * > 0. f's waiters wake in the order they came, and its done callbacks are scheduled. Both
 * return 0, or -1 + errno as every function: EALREADY when f is already done. */
GREEN_EXTERN int green_future_set(green_future_t *f, void *value);
GREEN_EXTERN int green_future_set_error(green_future_t *f, int err);

/* Wait for f; *value (if value is not NULL) gets its value. -1 with the error f was set with,
 * or ETIMEDOUT, ECANCELED. Returns at once once f is done. */
GREEN_EXTERN int green_future_get(green_future_t *f, void **value, double timeout);

/* 1 when done, 0 when not, -1 + errno for a bad handle. */
GREEN_EXTERN int green_future_done(green_future_t *f);

/* Have cb(arg, value, err) run on the caller's hub once f is done, as with green_call_soon,
 * whichever hub sets f. If f is already done, cb runs soon. On a value, err is 0 and value is
 * f's value. On an error, err is the positive errno value f was set with. err is data:
 * nothing sets errno for it. Callbacks added on one hub run in the order they were added.
 * If that hub's thread has exited when f is set, cb never runs. ENOMEM, EINVAL for a NULL
 * cb. */
GREEN_EXTERN int green_future_add_done_callback(green_future_t *f,
                                                void (*cb)(void *arg, void *value, int err),
                                                void *arg);

/* ---- Groups and pools (gevent.pool.Group and Pool) -------------------------------------------
 * A group owns its members. They are detached: green_join and green_detach on them fail with
 * EINVAL. When a member ends, it leaves the group and its handle is released. A greenlet
 * belongs to at most one group. Results travel through the greenlet's arg or a future.
 * Groups and pools work from every hub, and their members may be greenlets of any hub. */
typedef struct green_group green_group_t;

/* NULL + ENOMEM. */
GREEN_EXTERN green_group_t *green_group_new(void);

/* Free grp. EBUSY (nothing changes) while it has members or greenlets wait in
 * green_group_join. */
GREEN_EXTERN int green_group_free(green_group_t *grp);

/* Make g a member. g must be a spawned greenlet that nobody joins, not detached and not in a
 * group. EINVAL otherwise. ESRCH for a released handle. A greenlet that has already ended is
 * released at once instead, as green_detach does. g may be of another hub: it is added on its
 * hub by a message, and the caller parks for the answer (EPERM from a callback). */
GREEN_EXTERN int green_group_add(green_group_t *grp, green_t *g);

/* green_spawn (on the caller's hub), then green_group_add. For another hub, green_spawn_on
 * then green_group_add. */
GREEN_EXTERN green_t *green_group_spawn(green_group_t *grp, void *(*fn)(void *), void *arg);

/* Wait until the group has no members. ETIMEDOUT, ECANCELED; EDEADLK when the caller is a
 * member (it would wait for itself). */
GREEN_EXTERN int green_group_join(green_group_t *grp, double timeout);

/* green_kill every member; does not wait for them to end (green_group_join does). Members of
 * other hubs are killed by messages: the caller parks for each answer (from a callback,
 * only the members of its own hub are killed). */
GREEN_EXTERN int green_group_kill(green_group_t *grp);

/* The number of members, or -1 + errno. */
GREEN_EXTERN ssize_t green_group_size(green_group_t *grp);

/* A pool is a group that runs at most `limit` greenlets at once, counted over every hub. */
typedef struct green_pool green_pool_t;

/* EINVAL for a limit of 0. */
GREEN_EXTERN green_pool_t *green_pool_new(size_t limit);

/* Free p. EBUSY while it has members or greenlets wait in it (to spawn or to join). */
GREEN_EXTERN int green_pool_free(green_pool_t *p);

/* Spawn fn(arg) into the pool, first parking while it is full. Spawners get free places in
 * the order they came. NULL + errno: ETIMEDOUT, ECANCELED, or green_spawn's errors. */
GREEN_EXTERN green_t *green_pool_spawn(green_pool_t *p, void *(*fn)(void *), void *arg,
                                       double timeout);

/* As for groups: wait until no member is left (nor a spawn that was given a place).
 * ETIMEDOUT, ECANCELED; EDEADLK when the caller is a member. */
GREEN_EXTERN int green_pool_join(green_pool_t *p, double timeout);
/* green_kill every member, as green_group_kill. */
GREEN_EXTERN int green_pool_kill(green_pool_t *p);
/* The number of members, or -1 + errno. */
GREEN_EXTERN ssize_t green_pool_size(green_pool_t *p);

/* ---- Waiting for whichever finishes first (gevent.iwait, asyncio.as_completed) ---------------
 * An iterator over greenlets and futures of any hub. It belongs to the hub that made it
 * (EPERM elsewhere). It reports each one once, in the
 * order they finish. Those already finished come first, in argument order. It does not join
 * the greenlets: join them afterwards. A detached greenlet or a group member is released when
 * it ends, so its handle is not valid once reported. */
typedef struct green_iwait green_iwait_t;

/* A new iterator over the ng greenlets in gs and the nf futures in fs. Items are numbered
 * greenlets first (0 to ng-1), then futures (ng to ng+nf-1). NULL + errno: ESRCH for a
 * released handle, EINVAL for NULL arrays or a main greenlet, ENOMEM. A greenlet of another
 * hub is watched there, by a message the caller parks for (EPERM from a callback). Neither
 * the greenlets' handles nor the futures may be released while watched. */
GREEN_EXTERN green_iwait_t *green_iwait_new(green_t **gs, size_t ng, green_future_t **fs,
                                            size_t nf);

/* Wait for the next item to finish. Returns 1 with its number in *index, or 0 once every item
 * has been reported. -1 + errno: ETIMEDOUT, ECANCELED, or EBUSY when another greenlet waits
 * on it. */
GREEN_EXTERN int green_iwait_next(green_iwait_t *it, size_t *index, double timeout);

/* Stop watching and free. EBUSY while a greenlet waits in green_iwait_next. Parks while it
 * stops watching greenlets of other hubs (EPERM from a callback then). */
GREEN_EXTERN int green_iwait_free(green_iwait_t *it);

/* Wait until one of the n greenlets has ended and return its index. When several have, it
 * returns the first in the array. -1 + errno as green_iwait_new and green_iwait_next; EINVAL
 * when n is 0. */
GREEN_EXTERN ssize_t green_wait_any(green_t **gs, size_t n, double timeout);

/* ---- Thread pool (gevent's threadpool) ----------------------------------------------------
 * Blocking functions run on worker threads while only the calling greenlet parks. There is
 * one pool per process. No thread starts until the first job. Workers start as jobs need
 * them, up to the pool's size. The size comes from green_threadpool_set_size. Without it,
 * GREEN_THREADPOOL_SIZE from the environment sets it, read at the first job. Without either,
 * it is 4 per core (at least 4). Workers block every signal and end with the process. exit
 * does not wait for a job still running. */

/* Run fn(arg) on a worker and park until it returns. *result (if not NULL) gets its return
 * value. A job cannot be stopped. When the caller is killed, it returns at once with
 * ECANCELED. When its scoped deadline passes, it returns at once with ETIMEDOUT. The job's
 * result is then dropped when it ends. EPERM from a callback on the hub, EAGAIN when no
 * worker thread can be started, ENOMEM. fn runs on a plain OS thread: libgreen calls made
 * there use that thread's own hub. */
GREEN_EXTERN int green_threadpool_run(void *(*fn)(void *), void *arg, void **result);

/* Set the bound (1 to 1024, else EINVAL). Workers beyond it leave once idle. */
GREEN_EXTERN int green_threadpool_set_size(size_t n);

/* ---- Preemption and the watchdog (off unless asked for) -------------------------------------
 * Both use timers that send SIGURG to each hub's own thread. SIGURG is ignored by default. A
 * program that handles SIGURG itself must not turn these on. GREEN_TIMESLICE_MS and
 * GREEN_WATCHDOG_MS in the environment set them before the first hub starts. */

/* Preemption: a greenlet may keep the CPU for at most `seconds` of CPU time without parking or
 * yielding. Past that, it is switched out if other greenlets are ready, or a timer or fd may
 * have woken one. The switch waits for the next point where it runs the program's own code.
 * Code of libc, the loader, libgreen, libev or c-ares does not count, so no lock of theirs is
 * held. The greenlet runs again after the others. So a loop `while (!flag) {}` sees another
 * greenlet's store. 0 turns it off. Applies to the calling thread's hub and to every hub
 * started later. EINVAL for a negative or NaN value. ENOTSUP when libgreen is linked into the
 * executable itself: its code cannot then be told from the program's. Link libgreen.so. */
GREEN_EXTERN int green_set_timeslice(double seconds);

/* When a hub has not come back to its loop for `seconds`, write one report to stderr. The
 * cause is a greenlet blocked in a call libgreen does not see, or computing. The report gives
 * how long, the greenlet and a backtrace. It also gives the system call the thread is in,
 * with the fd and its kind. Once per episode; the timer is disarmed while the loop sleeps.
 * The one signal may interrupt the blocking call (EINTR from a poll, a nanosleep or a timed
 * futex wait).
 * Once a period it also checks the fds greenlets have waited on for a period, with an fstat
 * each. A waiter on an fd closed by plain close() is reported once and woken with EBADF. When
 * the number names a new file, a greenlet that parked after the last look wakes. It tries
 * again on the new file. 0 turns it off. EINVAL for a negative or NaN value. */
GREEN_EXTERN int green_set_watchdog(double seconds);

/* ---- Introspection ---------------------------------------------------------------------- */

/* What a parked greenlet waits for: in dumps, and parks counted by kind in green_stats. */
typedef enum green_wait {
  GREEN_WAIT_NONE,       /* not parked */
  GREEN_WAIT_FD,         /* an fd to be readable or writable */
  GREEN_WAIT_SLEEP,      /* a timer: green_sleep, a timed yield */
  GREEN_WAIT_JOIN,       /* greenlets to end: green_join, green_joinall */
  GREEN_WAIT_GROUP,      /* a group or a pool: its members to end, a free slot */
  GREEN_WAIT_ITERATE,    /* green_iwait's next finished item */
  GREEN_WAIT_MUTEX,
  GREEN_WAIT_COND,
  GREEN_WAIT_SEM,
  GREEN_WAIT_EVENT,
  GREEN_WAIT_RWLOCK,
  GREEN_WAIT_QUEUE,
  GREEN_WAIT_CHAN,
  GREEN_WAIT_SELECT,
  GREEN_WAIT_FUTURE,
  GREEN_WAIT_DNS,        /* a DNS query */
  GREEN_WAIT_THREADPOOL, /* a job on the thread pool */
  GREEN_WAIT_GENERATOR,  /* a generator switch: suspended in a yield, or resuming one */
  GREEN_WAIT_FUTEX,      /* the preload shim: a futex, a thread's pthread object */
  GREEN_WAIT_CALL,       /* the preload shim: a call the kernel cannot announce (flock...) */
  GREEN_WAIT_KINDS
} green_wait_t;

/* The kind's name in dumps ("fd", "mutex"...), or NULL + EINVAL outside [0, GREEN_WAIT_KINDS). */
GREEN_EXTERN const char *green_wait_name(int kind);

/* Write a dump of every hub to fd, like Go's goroutine dump. For each hub it gives the
 * thread and counts, then each of its greenlets. A greenlet's entry gives its id, name, state,
 * what it waits on and for how long, and its backtrace. Other hubs' threads write their own
 * part when asked by SIGURG, unless the program handles SIGURG itself. A hub that has not
 * answered within a second is listed without greenlets. GREEN_DUMP_SIGNAL in the environment
 * names a signal that writes a dump to stderr: a name such as SIGUSR2, or a number. With
 * GREEN_DEBUG set, a deadlock writes its hub's part before main's call fails with EDEADLK. A
 * deadlock means every greenlet is parked and nothing can wake one. EBADF for a bad fd. */
GREEN_EXTERN int green_dump(int fd);

typedef struct green_stats {
  size_t greenlets;        /* alive: handles not yet released (the main greenlet excluded) */
  size_t greenlets_peak;   /* the most alive at once */
  size_t ready;            /* in the ready queue */
  size_t blocked;          /* parked */
  size_t fds;              /* fds the hub has a watcher or waiters for */
  size_t stacks_in_use;    /* stacks of greenlets that have not ended */
  size_t stacks_pooled;    /* free stacks kept committed for reuse */
  size_t stacks_guarded;   /* stacks (in use or pooled) with a guard page below */
  size_t stacks_unguarded; /* ... without one: the map-count budget was spent */
  size_t stack_bytes_reserved;  /* address space mapped for stacks (the hub's own included) */
  size_t stack_bytes_committed; /* ... of it resident in memory (counted now, with mincore) */
  unsigned long long spawns;      /* greenlets spawned since the hub started */
  unsigned long long switches;    /* context switches since the hub started */
  unsigned long long preemptions; /* greenlets switched out for using up their time slice */
  unsigned long long parks[GREEN_WAIT_KINDS]; /* parks, by what they waited on */
  unsigned long long polls;       /* libev loop iterations */
  double longest_away;     /* the longest time, in seconds, the hub spent between two polls of
                              its loop (a coarse clock: a few ms resolution) */
  size_t stacks_hibernated; /* stacks whose live bytes are in the heap (GREEN_HIBERNATE_MS) */
  size_t hibernated_bytes;  /* the heap they take */
  unsigned long long hibernations; /* greenlets hibernated since the hub started */
  unsigned long long restores;     /* ... and woken from it */
} green_stats_t;
#define GREEN_STATS_HIBERNATION 1 /* green_stats_t has the four fields above */

/* Fill *st for the calling thread's hub. EINVAL for NULL. */
GREEN_EXTERN int green_stats(green_stats_t *st);

#ifdef __cplusplus
}
#endif
#endif /* GREEN_H */
