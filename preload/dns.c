/* SPDX-License-Identifier: MIT */
/*
 * getaddrinfo, getnameinfo and the gethostby* family on libgreen's c-ares resolver. A lookup
 * parks the green thread, never the OS thread. A hundred threads resolving at once wait on
 * one c-ares channel together. Outside green calls they are glibc's: before main, in signal
 * handlers, on threads the shim does not manage. Results are laid out as glibc's, so either
 * freeaddrinfo frees them. green.h says how the resolver reads the system's files.
 * A lookup is a cancellation point.
 */
#include <netdb.h>

#include "shim.h"
#include "threads.h"

GREEN__SHIM_EXPORT int getaddrinfo(const char *restrict node, const char *restrict service,
                                   const struct addrinfo *restrict hints,
                                   struct addrinfo **restrict res) {
  green__shim_thread_t *self;
  int r, saved = errno;
  green__real_ready();
  if (!green__shim_hub()) return green__real.getaddrinfo(node, service, hints, res);
  if (green__shim_config.debug) green__shim_debug("getaddrinfo", -1);
  self = green__shim_wait_begin(GREEN__INTR_NEVER);
  r = green_getaddrinfo(node, service, hints, res);
  if (r == EAI_SYSTEM) green__shim_wait_end(self, -1);
  else green__shim_wait_end(self, 0), errno = saved;
  return r;
}

GREEN__SHIM_EXPORT void freeaddrinfo(struct addrinfo *res) { green_freeaddrinfo(res); }

GREEN__SHIM_EXPORT int getnameinfo(const struct sockaddr *restrict sa, socklen_t salen,
                                   char *restrict host, socklen_t hostlen, char *restrict serv,
                                   socklen_t servlen, int flags) {
  green__shim_thread_t *self;
  int r, saved = errno;
  green__real_ready();
  if (!green__shim_hub())
    return green__real.getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
  self = green__shim_wait_begin(GREEN__INTR_NEVER);
  r = green_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
  if (r == EAI_SYSTEM) green__shim_wait_end(self, -1);
  else green__shim_wait_end(self, 0), errno = saved;
  return r;
}

/* The plain forms: a thread-owned buffer and h_errno, as glibc's. */
#define HOSTENT_CALL(name, params, args)                                       \
  GREEN__SHIM_EXPORT struct hostent *name params {                             \
    green__shim_thread_t *self;                                                \
    struct hostent *r;                                                         \
    green__real_ready();                                                       \
    if (!green__shim_hub()) return green__real.name args;                      \
    self = green__shim_wait_begin(GREEN__INTR_NEVER);                          \
    r = green__##name args;                                                    \
    green__shim_wait_end(self, r ? 0 : -1);                                    \
    return r;                                                                  \
  }
HOSTENT_CALL(gethostbyname, (const char *name), (name))
HOSTENT_CALL(gethostbyname2, (const char *name, int af), (name, af))
HOSTENT_CALL(gethostbyaddr, (const void *addr, socklen_t len, int type), (addr, len, type))

/* The _r forms return an error number. */
#define HOSTENT_R_CALL(name, params, args)                                     \
  GREEN__SHIM_EXPORT int name params {                                         \
    green__shim_thread_t *self;                                                \
    int r, saved = errno;                                                      \
    green__real_ready();                                                       \
    if (!green__shim_hub()) return green__real.name args;                      \
    self = green__shim_wait_begin(GREEN__INTR_NEVER);                          \
    r = green__##name args;                                                    \
    if (r == ECANCELED) errno = ECANCELED;                                     \
    green__shim_wait_end(self, r == ECANCELED ? -1 : 0);                       \
    errno = saved;                                                             \
    return r;                                                                  \
  }
HOSTENT_R_CALL(gethostbyname_r,
               (const char *restrict name, struct hostent *restrict ret, char *restrict buf,
                size_t buflen, struct hostent **restrict result, int *restrict h_errnop),
               (name, ret, buf, buflen, result, h_errnop))
HOSTENT_R_CALL(gethostbyname2_r,
               (const char *restrict name, int af, struct hostent *restrict ret,
                char *restrict buf, size_t buflen, struct hostent **restrict result,
                int *restrict h_errnop),
               (name, af, ret, buf, buflen, result, h_errnop))
HOSTENT_R_CALL(gethostbyaddr_r,
               (const void *restrict addr, socklen_t len, int type, struct hostent *restrict ret,
                char *restrict buf, size_t buflen, struct hostent **restrict result,
                int *restrict h_errnop),
               (addr, len, type, ret, buf, buflen, result, h_errnop))
