/* SPDX-License-Identifier: MIT */
/*
 * gethostbyname, gethostbyname2, gethostbyaddr and their _r forms. They use the resolver that
 * serves getaddrinfo (dns.c). The plain forms fill a per-hub buffer. It stays valid until the
 * same thread's next call of the family (glibc has one buffer per process). h_errno is set as
 * glibc sets it. The _r forms return 0 with *result NULL when the name or address is unknown.
 * They return ERANGE when buf is too small. Otherwise they return the errno of the failure:
 * EAGAIN for a temporary failure, ECANCELED when killed, ETIMEDOUT when the scoped deadline
 * passed.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <string.h>

#include "dns.h"
#include "hub.h"
#include "posix.h"

/* The outcome of a lookup: an answer, or h_errno's value and the _r return value. */
typedef struct outcome {
  green__dns_answer_t *answer;
  green__dns_sockaddr_t numeric; /* for numeric names, instead of an answer */
  const char *name;
  int herr, ret;
} outcome_t;

static void failed(outcome_t *o, int eai, int err) {
  switch (eai) {
  case EAI_NONAME: o->herr = HOST_NOT_FOUND, o->ret = 0; break;
  case EAI_NODATA: o->herr = NO_DATA, o->ret = 0; break;
  case EAI_AGAIN: o->herr = TRY_AGAIN, o->ret = EAGAIN; break;
  case EAI_FAIL: o->herr = NO_RECOVERY, o->ret = EIO; break;
  case EAI_MEMORY: o->herr = NETDB_INTERNAL, o->ret = ENOMEM; break;
  default: o->herr = NETDB_INTERNAL, o->ret = -err; break;
  }
}

static void by_name(const char *name, int af, outcome_t *o) {
  struct green__hub *h = green__hub_get();
  struct in6_addr v6;
  struct in_addr v4;
  int err = 0, r;
  memset(o, 0, sizeof *o);
  o->name = name;
  if (af != AF_INET && af != AF_INET6) return failed(o, EAI_SYSTEM, -EAFNOSUPPORT);
  if (!name || !*name) return failed(o, EAI_NONAME, 0);
  if (af == AF_INET && green__dns_parse_v4(name, &v4)) {
    o->numeric.in.sin_family = AF_INET;
    o->numeric.in.sin_addr = v4;
    return;
  }
  if (af == AF_INET6 && inet_pton(AF_INET6, name, &v6) == 1) {
    o->numeric.in6.sin6_family = AF_INET6;
    o->numeric.in6.sin6_addr = v6;
    return;
  }
  if (!h) return failed(o, EAI_MEMORY, 0);
  if ((r = green__dns_lookup(h, name, af, &o->answer, &err))) return failed(o, r, err);
  o->name = o->answer->name;
}

static void by_addr(const void *addr, socklen_t len, int af, outcome_t *o) {
  struct green__hub *h = green__hub_get();
  int err = 0, r;
  memset(o, 0, sizeof *o);
  if (!addr || (af == AF_INET && len != 4) || (af == AF_INET6 && len != 16))
    return failed(o, EAI_SYSTEM, -EINVAL);
  if (af != AF_INET && af != AF_INET6) return failed(o, EAI_SYSTEM, -EAFNOSUPPORT);
  if (!h) return failed(o, EAI_MEMORY, 0);
  if ((r = green__dns_reverse(h, addr, af, &o->answer, &err))) return failed(o, r, err);
  o->name = o->answer->name;
}

static const void *addr_bytes(const green__dns_sockaddr_t *a) {
  return a->sa.sa_family == AF_INET ? (const void *)&a->in.sin_addr : (const void *)&a->in6.sin6_addr;
}

/* Lay out o's hostent in buf: the pointer arrays, the addresses of family af, the names.
 * 0 or ERANGE. */
static int fill(const outcome_t *o, int af, struct hostent *he, char *buf, size_t buflen) {
  const green__dns_sockaddr_t *addrs = o->answer ? o->answer->addrs : &o->numeric;
  size_t naddrs = o->answer ? o->answer->naddrs : 1, nal = 0, nad = 0, need, i, k;
  size_t alen = af == AF_INET ? 4 : 16, pad = (uintptr_t)buf % sizeof(char *);
  char **aliases = o->answer ? o->answer->aliases : NULL, **ptrs, *p;
  pad = pad ? sizeof(char *) - pad : 0;
  for (i = 0; i < naddrs; i++) nad += addrs[i].sa.sa_family == af;
  need = pad + strlen(o->name) + 1 + nad * alen;
  for (; aliases && aliases[nal]; nal++) need += strlen(aliases[nal]) + 1;
  need += (nal + 1 + nad + 1) * sizeof(char *);
  if (need > buflen) return ERANGE;
  ptrs = (char **)(void *)(buf + pad);
  he->h_aliases = ptrs;
  he->h_addr_list = ptrs + nal + 1;
  p = (char *)(ptrs + nal + 1 + nad + 1);
  for (i = 0, k = 0; i < naddrs; i++) {
    if (addrs[i].sa.sa_family != af) continue;
    he->h_addr_list[k++] = memcpy(p, addr_bytes(&addrs[i]), alen);
    p += alen;
  }
  he->h_addr_list[k] = NULL;
  for (i = 0; i < nal; i++) {
    he->h_aliases[i] = strcpy(p, aliases[i]);
    p += strlen(p) + 1;
  }
  he->h_aliases[nal] = NULL;
  he->h_name = strcpy(p, o->name);
  he->h_addrtype = af;
  he->h_length = (int)alen;
  return 0;
}

/* The _r forms' ending: fill ret from o, or report its failure. */
static int finish_r(outcome_t *o, int af, struct hostent *ret, char *buf, size_t buflen,
                    struct hostent **result, int *h_errnop) {
  int r = o->ret;
  *result = NULL;
  if (o->name && !o->herr) {
    if ((r = fill(o, af, ret, buf, buflen)) == 0 && ret->h_addr_list[0]) *result = ret;
    else if (r == 0) o->herr = NO_DATA;
    else o->herr = NETDB_INTERNAL;
  }
  green__dns_answer_release(o->answer);
  if (h_errnop) *h_errnop = o->herr;
  if (r) errno = r;
  return r;
}

/* The plain forms' ending: fill the hub's buffer, growing it until the hostent fits. */
static struct hostent *finish_static(outcome_t *o, int af) {
  struct green__hub *h = green__hub_get();
  struct hostent *he = NULL;
  size_t n = 1024;
  int r = o->ret;
  if (o->name && !o->herr) {
    for (;; n *= 2) {
      if (!h || !(he = green__dns_static_buffer(h, sizeof *he + n))) {
        o->herr = NETDB_INTERNAL, r = ENOMEM;
        break;
      }
      if ((r = fill(o, af, he, (char *)(he + 1), n)) != ERANGE) break;
    }
    if (!r && !he->h_addr_list[0]) o->herr = NO_DATA;
  }
  green__dns_answer_release(o->answer);
  h_errno = o->herr;
  if (r) errno = r;
  return o->herr ? NULL : he;
}

struct hostent *green__gethostbyname2(const char *name, int af) {
  outcome_t o;
  by_name(name, af, &o);
  return finish_static(&o, af);
}

struct hostent *green__gethostbyname(const char *name) {
  return green__gethostbyname2(name, AF_INET);
}

struct hostent *green__gethostbyaddr(const void *addr, socklen_t len, int type) {
  outcome_t o;
  by_addr(addr, len, type, &o);
  return finish_static(&o, type);
}

int green__gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
                            size_t buflen, struct hostent **result, int *h_errnop) {
  outcome_t o;
  by_name(name, af, &o);
  return finish_r(&o, af, ret, buf, buflen, result, h_errnop);
}

int green__gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
                           struct hostent **result, int *h_errnop) {
  return green__gethostbyname2_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

int green__gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
                           char *buf, size_t buflen, struct hostent **result, int *h_errnop) {
  outcome_t o;
  by_addr(addr, len, type, &o);
  return finish_r(&o, type, ret, buf, buflen, result, h_errnop);
}
