/* SPDX-License-Identifier: MIT */
/*
 * The resolver behind green_getaddrinfo and friends. Each hub has one c-ares channel. libev
 * watches its sockets, and an ev_timer runs its timeouts. A lookup parks only the calling
 * greenlet. Answers are kept in a small per-hub cache (dns_cache.c) that honours their TTLs.
 * The hub's first lookup sets c-ares up and adds its teardown to the hub's list. The hub itself
 * never calls into the resolver. So a program that resolves no name links without c-ares.
 */
#ifndef GREEN_DNS_H
#define GREEN_DNS_H

#include <netinet/in.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>

struct green__hub;

typedef union green__dns_sockaddr {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
} green__dns_sockaddr_t;

/* What a name resolves to, or an address's names. Immutable once built and shared by the
 * cache and its readers through refs. */
typedef struct green__dns_answer {
  int refs;
  int ttl;                      /* seconds the answer may be reused; <= 0: not at all */
  char *name;                   /* canonical name (forward) or the host's name (reverse) */
  char **aliases;               /* NULL-terminated: the other names met on the way */
  size_t naddrs;
  green__dns_sockaddr_t *addrs; /* in glibc's destination order (dns_sort.c), port 0 */
} green__dns_answer_t;

/* Resolve name for family (AF_UNSPEC, AF_INET, AF_INET6) through the hosts file and DNS. The
 * lookup follows c-ares's configuration: resolv.conf, nsswitch.conf, LOCALDOMAIN, RES_OPTIONS,
 * GREEN_DNS_SERVERS. Returns 0 with *out (release it), or an EAI_* code. EAI_SYSTEM comes with
 * *err set: -ECANCELED (killed), -ETIMEDOUT (scoped deadline) or another -errno. */
int green__dns_lookup(struct green__hub *h, const char *name, int family,
                      green__dns_answer_t **out, int *err);

/* The names of an address (addr is 4 or 16 bytes of family): 0 with *out, or as above. */
int green__dns_reverse(struct green__hub *h, const void *addr, int family,
                       green__dns_answer_t **out, int *err);

void green__dns_answer_release(green__dns_answer_t *a);

/* A per-hub buffer for the non-reentrant gethostbyname family, grown to at least n bytes;
 * NULL when out of memory. */
void *green__dns_static_buffer(struct green__hub *h, size_t n);

/* An IPv4 address in any of inet_aton's forms ("127.1", "0x7f.0.0.1") with nothing after it.
 * This is how glibc's __inet_aton_exact parses numeric hosts. 1, or 0 for anything else. */
int green__dns_parse_v4(const char *s, struct in_addr *out);

/* Sort n addresses into the destination order glibc gives (dns_sort.c). */
void green__dns_sort(green__dns_sockaddr_t *addrs, size_t n);

/* ---- the names of /etc/hosts (dns_hosts.c) ---- */
typedef struct green__dns_hosts green__dns_hosts_t;

green__dns_hosts_t *green__dns_hosts_new(void);
void green__dns_hosts_free(green__dns_hosts_t *t);

/* 0 when /etc/hosts (as of at most a second ago) surely lacks name. c-ares's pass over the
 * file can then be skipped. 1 otherwise, and for "localhost" names, which c-ares answers
 * itself. */
int green__dns_hosts_may_have(green__dns_hosts_t *t, const char *name, double now);

/* ---- the cache (dns_cache.c) ---- */
typedef struct green__dns_cache green__dns_cache_t;

/* NULL when GREEN_DNS_CACHE=0 or out of memory: every lookup goes to c-ares. */
green__dns_cache_t *green__dns_cache_new(void);
void green__dns_cache_free(green__dns_cache_t *c);

/* A live entry for (name, family). 1 with *status: 0 or a negative EAI_* answer. For status 0,
 * also *out with a reference taken. 0 when there is none. */
int green__dns_cache_get(green__dns_cache_t *c, const char *name, int family, double now,
                         int *status, green__dns_answer_t **out);

/* Remember a's answer (status 0, for a->ttl seconds) or a negative status (EAI_NONAME,
 * EAI_NODATA, for the negative TTL). Silently does nothing when it cannot. */
void green__dns_cache_put(green__dns_cache_t *c, const char *name, int family, double now,
                          int status, green__dns_answer_t *a);

#endif
