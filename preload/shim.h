/* SPDX-License-Identifier: MIT */
/*
 * What every family of hooks shares: the shim's configuration and phase, and the
 * per-OS-thread state. The gate that decides whether a call is green. The one park every
 * green wait goes through, and the debug log. preload/README.md explains the design.
 */
#ifndef GREEN_PRELOAD_SHIM_H
#define GREEN_PRELOAD_SHIM_H

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>

#include "../src/hub.h"
#include "../src/internal.h"
#include "../src/posix.h"
#include "real.h"

#define GREEN__SHIM_EXPORT __attribute__((visibility("default")))

enum { GREEN__SHIM_BEFORE_MAIN, GREEN__SHIM_RUNNING, GREEN__SHIM_EXITING };

enum { GREEN__SHIM_HUBS_MAX = 64 }; /* signal.c keeps a SIGCHLD slot per hub, for 64 */

/* GREEN_PLACEMENT: the hub with the fewest runnable, then live, green threads (least), or each
 * in turn (rr). */
enum { GREEN__PLACE_LEAST, GREEN__PLACE_RR };

typedef struct green__shim_config {
  int native;   /* --threads=native: program threads stay OS threads, each with its own hub */
  unsigned hubs_asked; /* GREEN_HUBS (greenrun -j N): the hubs green mode should run; 1: one */
  unsigned hubs;       /* the hubs it runs: hubs_asked, GREEN__SHIM_HUBS_MAX at most */
  int placement;       /* GREEN_PLACEMENT: which hub a new green thread goes to */
  int debug;    /* GREEN_DEBUG=1: log every call that parks */
  int check;    /* GREEN_CHECK=1: report blocking calls that bypass the hooks (check.c) */
  char check_log[PATH_MAX]; /* GREEN_CHECK=/path: append the reports there ("": stderr) */
} green__shim_config_t;

extern green__shim_config_t green__shim_config;

/* The value of environment variable `name`, also before libc has set up environ (then read
 * from /proc/self/environ into buf). */
const char *green__shim_env(const char *name, char *buf, size_t len);

/* Read GREEN_THREADS, GREEN_HUBS, GREEN_DEBUG and GREEN_CHECK (from green__real_init, on the
 * first call of any hook). */
void green__shim_configure(void);
extern int green__shim_phase; /* BEFORE_MAIN until main() starts, EXITING once it returns */

/* Per OS thread. The shim runs the calls of `managed` threads only. These are the thread that
 * runs main() and, in native mode, the threads the program creates. Others only ever pass
 * through: the runtime's workers, glibc's helper threads. */
typedef struct green__shim_tls {
  struct green__hub *hub; /* this thread's hub, once a call needed it */
  uint8_t managed;
  uint8_t busy;           /* the shim is setting up this thread's hub: every call passes */
  uint16_t sigdepth;      /* signal handlers running on this thread (signal.c counts) */
  uint8_t extra_hub;      /* a thread green_hubs_start made: its main greenlet is no thread's */
  uint16_t inner_locks;   /* the runtime's mutexes it holds: no yield at the gate (real.c) */
} green__shim_tls_t;

extern __thread green__shim_tls_t green__shim_tls __attribute__((tls_model("initial-exec")));

/* Whether this thread's threads and locks are green: green-threads mode, on a managed
 * thread. */
static inline int green__shim_green_mode(void) {
  return !green__shim_config.native && green__shim_tls.managed;
}

/* This managed thread's hub, created if it has none, whatever the phase. Green threads and
 * their locks need one. NULL on an unmanaged thread or when out of memory. */
struct green__hub *green__shim_hub_attach(void);

/* On a thread green_hubs_start made for green mode's hubs, before its hub exists: the thread
 * becomes managed and gets its hub as the main thread's (src/hubs.c's start hook). */
void green__shim_hub_thread_begins(void);

/* The gate's variants, bits of `how` (0: a hooked call that may park). */
enum {
  GREEN__GATE_GREEN = 1,    /* also green-threads mode: native mode's threads are OS threads */
  GREEN__GATE_EXISTING = 2, /* the hub the thread has, in any phase. None is made, and the
                               call is no safe point (a wake, a lock's wait, forgetting an fd) */
  GREEN__GATE_CALLBACK = 4, /* also on the hub's own greenlet (a wake from a callback) */
};

/* Whether this thread's state lets a call be green by `how`, with no side effect. It must not
 * be inside a signal handler, while the shim sets up, or on the hub's own greenlet. Unless
 * `how` is EXISTING, it must also be a managed thread while main() runs. */
int green__shim_gate_open(unsigned how);

struct green__hub *green__shim_gate_slow(unsigned how);

/* The gate: the hub to run this call on, or NULL when it must go straight to libc. A call
 * goes to libc before main() or after it returned, and on a thread the shim does not manage.
 * It goes to libc inside a signal handler and while the shim sets up. It goes to libc on the
 * hub's own greenlet, where libev and c-ares callbacks run. `how` relaxes or tightens that
 * (GREEN__GATE_*). Without EXISTING, the hub is made on first need, and every green call is
 * a safe point. A green thread that has used up its time slice while others wait yields here
 * first (src/tick.c sets yield_due). The fast path is a TLS load and a few compares. */
static inline struct green__hub *green__shim_gate(unsigned how) {
  green__shim_tls_t *t = &green__shim_tls;
  struct green__hub *h = t->hub;
  if ((how & GREEN__GATE_GREEN) && green__shim_config.native) return NULL;
  if (green__likely(h != NULL && !(t->busy | t->sigdepth | h->yield_due) &&
                    h->current != &h->hub && green__shim_phase == GREEN__SHIM_RUNNING))
    return h;
  return green__shim_gate_slow(how);
}

/* The gate of a hooked call that may park. */
static inline struct green__hub *green__shim_hub(void) { return green__shim_gate(0); }

/* How a signal handler's return interrupts a parked call (signal(7)). Never; only when the
 * handler lacks SA_RESTART; or always (poll, sleep, sockets with a timeout). */
enum { GREEN__INTR_NEVER, GREEN__INTR_RESTART, GREEN__INTR_ALWAYS };

/* How a park treats a thread cancelled by pthread_cancel. */
enum {
  GREEN__CANCEL_POINT,  /* a cancellation point: the thread ends here, before or after the park */
  GREEN__CANCEL_REPORT, /* the same, told as -ECANCELED: the caller cleans up, then ends it */
  GREEN__CANCEL_NONE,   /* none: a pthread_cancel wake returns -ECANCELED, the thread goes on */
};

/* One wait of a green call, for green__shim_park. Zero fields are the usual case. */
typedef struct green__shim_wait {
  int kind;              /* green_wait_t, for dumps (unused for an fd: GREEN_WAIT_FD) */
  const void *what;      /* what dumps show it waits on (green__park's `on`); NULL: `call` */
  const char *call;      /* the hook's name, for GREEN_DEBUG and dumps */
  double at;             /* absolute, on green_now()'s clock; INFINITY: none */
  int loop_wait;         /* the libev loop can wake it: never a deadlock */
  int intr;              /* GREEN__INTR_*: whether a signal handler's return ends it (-EINTR) */
  int cancel;            /* GREEN__CANCEL_* */
  int quiet;             /* no GREEN_DEBUG line (waits the program did not make itself) */
  int fd, events;        /* events (GREEN_READ | GREEN_WRITE): wait for fd's readiness */
  green__fd_t *entry;    /* fd's watcher entry when the caller has it (NULL: looked up) */
  int signal_first;      /* the greenlet is the first a signal interrupts (p-calls, pause) */
  const sigset_t *mask;  /* with signal_first: the thread's signal mask meanwhile (NULL: its own) */
  green__list_t *list;   /* where its wait_link waits for a waker (NULL: linked by the caller) */
} green__shim_wait_t;

/* Park the running greenlet for the wait `w` describes. Returns green__park's reason: 0, or
 * GREEN__TIMER when `at` passed. -EINTR when a signal interrupted by `intr`'s rule. -ECANCELED
 * by `cancel`'s rule. -EDEADLK and others. A wait on an fd returns 0 when it is ready,
 * -ETIMEDOUT, or -EBADF when the fd was closed meanwhile. */
int green__shim_park(struct green__hub *h, const green__shim_wait_t *w);

/* Park until fd is ready for `events` (GREEN_READ | GREEN_WRITE), a cancellation point. */
int green__shim_wait_fd(struct green__hub *h, int fd, int events, double at, int intr,
                        const char *call);

/* Park until `at` (the sleeps): 0 when it passed, -EINTR (signals always interrupt a sleep),
 * ends the thread when cancelled. */
int green__shim_sleep_until(struct green__hub *h, double at, const char *call);

/* GREEN_DEBUG: one line on stderr, written with a single write(2). */
void green__shim_debug(const char *call, int fd);

/* A green call's result r. When the call succeeded, errno goes back to `saved`, its value
 * when the call started. The tries and probes on the way may have changed it; libc leaves it
 * alone. */
static inline long green__shim_done(long r, int saved) {
  if (r >= 0) errno = saved;
  return r;
}

/* Another name for hook `name`; syscall.c calls the hooks by it. From another file of the
 * shim, a plain call to `name` is linked to libc's (--wrap). Placed after the hook. */
#ifdef __clang__
#define GREEN__SHIM_HOOK_ALIAS(name) \
  extern __typeof__(name) green__hook_##name __attribute__((alias(#name)))
#else /* copy: the target's attributes (nothrow, leaf), which GCC wants an alias to repeat */
#define GREEN__SHIM_HOOK_ALIAS(name) \
  extern __typeof__(name) green__hook_##name __attribute__((alias(#name), copy(name)))
#endif

/* fclose's first step (stdio_out.c): a green stream's buffered output, written green. */
void green__shim_stdio_close(FILE *fp);

/* In a forked child: forget the parent's hub handle (sync.c). */
void green__shim_sync_after_fork(void);

/* In a forked child: the once and barrier locks free, no once waiter (pthread_small.c). */
void green__shim_small_after_fork(void);

#endif
