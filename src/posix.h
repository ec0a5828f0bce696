/* SPDX-License-Identifier: MIT */
/*
 * libc's shapes that green.h leaves out: waits until an absolute struct timespec, and the
 * gethostbyname family. The preload shim needs them to stand in for pthread, sem_t and
 * libc's resolver. Programs written for libgreen use a relative timeout and the scoped
 * deadline instead, and green_getaddrinfo. Not installed.
 */
#ifndef GREEN_POSIX_H
#define GREEN_POSIX_H

#include <netdb.h>
#include <time.h>

#include "../include/green.h"

/* ---- Waits until an absolute time ----------------------------------------------------------
 * The same calls as green_sem_wait, green_mutex_lock, green_cond_wait, green_rwlock_rdlock and
 * green_rwlock_wrlock, with their errors. But they wait until abstime on CLOCK_REALTIME or
 * CLOCK_MONOTONIC. EINVAL for other clocks, for NULL and for tv_nsec outside [0, 1e9),
 * checked before anything else. A CLOCK_REALTIME time is converted to the monotonic clock
 * when the call starts to wait. So a later change of the system clock does not move it. A time
 * already passed is ETIMEDOUT only when the call would have to wait. */
int green__sem_timedwait(green_sem_t *s, clockid_t clock, const struct timespec *abstime);
int green__mutex_timedlock(green_mutex_t *m, clockid_t clock, const struct timespec *abstime);
/* On the clock given to green_cond_init (pthread_cond_timedwait). */
int green__cond_timedwait(green_cond_t *c, green_mutex_t *m, const struct timespec *abstime);
/* On the given clock (pthread_cond_clockwait). */
int green__cond_clockwait(green_cond_t *c, green_mutex_t *m, clockid_t clock,
                          const struct timespec *abstime);
int green__rwlock_timedrdlock(green_rwlock_t *rw, clockid_t clock,
                              const struct timespec *abstime);
int green__rwlock_timedwrlock(green_rwlock_t *rw, clockid_t clock,
                              const struct timespec *abstime);

/* ---- gethostbyname(3) and friends ----------------------------------------------------------
 * Answered as green_getaddrinfo answers. The plain forms return a buffer owned by the calling
 * thread, valid until its next call of one of them. They set h_errno. The _r forms return 0,
 * with *result NULL when the name is unknown (*h_errnop says why). They return ERANGE when buf
 * is too small. Otherwise they return the errno of the failure (EAGAIN, ECANCELED,
 * ETIMEDOUT...). Like green_getaddrinfo's EAI_* codes, this is an exception to green.h's error
 * rule. libc's own signatures force it. */
struct hostent *green__gethostbyname(const char *name);
struct hostent *green__gethostbyname2(const char *name, int af);
struct hostent *green__gethostbyaddr(const void *addr, socklen_t len, int type);
int green__gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
                           struct hostent **result, int *h_errnop);
int green__gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
                            size_t buflen, struct hostent **result, int *h_errnop);
int green__gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
                           char *buf, size_t buflen, struct hostent **result, int *h_errnop);

#endif /* GREEN_POSIX_H */
