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

#include <netdb.h>
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

/* ---- Name resolution ----------------------------------------------------------------------
 * libc's resolver functions with libc's signatures, flags and EAI_* codes, answered by the
 * hub's c-ares channel: a lookup parks only the calling greenlet, never its OS thread. Names
 * go through the hosts file and DNS as /etc/nsswitch.conf, /etc/hosts and /etc/resolv.conf
 * (nameservers, search, ndots, timeout, attempts) say, with LOCALDOMAIN and RES_OPTIONS from
 * the environment on top. Numeric hosts are parsed as glibc parses them and "localhost" is
 * answered even when the hosts file lacks it; neither goes to the network. Lists of two or
 * more addresses are sorted as glibc sorts them (RFC 3484 with glibc's default policy
 * tables; /etc/gai.conf is not read). One difference from glibc's files backend: a "::1"
 * line of the hosts file answers only IPv6 questions (glibc also hands it out as 127.0.0.1).
 * Each thread keeps at most 200 queries in flight; more lookups wait their turn in order.
 *
 * Environment (read once per thread, on its first lookup):
 *   GREEN_DNS_SERVERS  "127.0.0.1:5353,[::1]:5353": these servers instead of resolv.conf's
 *                      (a malformed list fails lookups with EAI_SYSTEM / EINVAL)
 *   GREEN_DNS_CACHE=0  no cache. Otherwise each thread keeps up to 512 answers, positive ones
 *                      for their smallest TTL, NXDOMAIN and no-data ones for 5 s.
 *
 * Errors: EAI_NONAME for an unknown name (NXDOMAIN), EAI_NODATA for a known name without an
 * address of the family, EAI_AGAIN for a timeout, SERVFAIL or unreachable servers, EAI_FAIL
 * for FORMERR, NOTIMP, REFUSED and unparsable answers, EAI_FAMILY, EAI_SOCKTYPE,
 * EAI_SERVICE, EAI_BADFLAGS, EAI_ADDRFAMILY and EAI_MEMORY as glibc returns them, and
 * EAI_SYSTEM with errno ECANCELED when the greenlet is killed or ETIMEDOUT when its scoped
 * deadline passes. A killed greenlet's query is abandoned, and cancelled when no other
 * greenlet waits for an answer. AI_IDN is accepted and names are used as given. */

/* getaddrinfo(3). Free the result with green_freeaddrinfo (or libc's freeaddrinfo). */
GREEN_EXTERN int green_getaddrinfo(const char *node, const char *service,
                                   const struct addrinfo *hints, struct addrinfo **res);
GREEN_EXTERN void green_freeaddrinfo(struct addrinfo *res);

/* getnameinfo(3): reverse lookups through the hosts file and PTR records. */
GREEN_EXTERN int green_getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
                                   socklen_t hostlen, char *serv, socklen_t servlen, int flags);

/* gethostbyname(3) and friends, for the preload shim. The plain forms return a buffer owned
 * by the calling thread, valid until its next call of one of them, and set h_errno. The _r
 * forms return 0 (with *result NULL when the name is unknown: *h_errnop says why), ERANGE
 * when buf is too small, or the errno of the failure (EAGAIN, ECANCELED, ETIMEDOUT...). */
GREEN_EXTERN struct hostent *green_gethostbyname(const char *name);
GREEN_EXTERN struct hostent *green_gethostbyname2(const char *name, int af);
GREEN_EXTERN struct hostent *green_gethostbyaddr(const void *addr, socklen_t len, int type);
GREEN_EXTERN int green_gethostbyname_r(const char *name, struct hostent *ret, char *buf,
                                       size_t buflen, struct hostent **result, int *h_errnop);
GREEN_EXTERN int green_gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
                                        size_t buflen, struct hostent **result, int *h_errnop);
GREEN_EXTERN int green_gethostbyaddr_r(const void *addr, socklen_t len, int type,
                                       struct hostent *ret, char *buf, size_t buflen,
                                       struct hostent **result, int *h_errnop);

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
