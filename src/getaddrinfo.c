/* SPDX-License-Identifier: MIT */
/*
 * getaddrinfo and getnameinfo with glibc's semantics, over the hub's resolver (dns.c). The flag
 * checks are glibc's, in the same order. The service table is the same. Numeric hosts are parsed
 * as glibc parses them (inet_aton's legacy forms, IPv6 scope ids). The result list has the same
 * shape: one entry per address and socket type, the canonical name on the first. Only names go
 * to c-ares. Numeric hosts and a NULL node never leave the process.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <sys/utsname.h>

#include "dns.h"
#include "hub.h"

#define KNOWN_AI_FLAGS                                                                  \
  (AI_PASSIVE | AI_CANONNAME | AI_NUMERICHOST | AI_ADDRCONFIG | AI_V4MAPPED | AI_IDN | \
   AI_CANONIDN | AI_NUMERICSERV | AI_ALL)
#define KNOWN_NI_FLAGS (NI_NUMERICHOST | NI_NUMERICSERV | NI_NOFQDN | NI_NAMEREQD | NI_DGRAM | NI_IDN)

/* glibc's table of socket types; `all` marks the ones returned when the hints name none. */
static const struct proto {
  int socktype, protocol, any_protocol, no_service, all;
  const char *name;
} protos[] = {
  {SOCK_STREAM, IPPROTO_TCP, 0, 0, 1, "tcp"},
  {SOCK_DGRAM, IPPROTO_UDP, 0, 0, 1, "udp"},
  {SOCK_DCCP, IPPROTO_DCCP, 0, 0, 0, "dccp"},
  {SOCK_DGRAM, IPPROTO_UDPLITE, 0, 0, 0, "udplite"},
  {SOCK_STREAM, IPPROTO_SCTP, 0, 0, 0, "sctp"},
  {SOCK_SEQPACKET, IPPROTO_SCTP, 0, 0, 0, "sctp"},
  {SOCK_RAW, 0, 1, 1, 1, "raw"},
};
enum { NPROTOS = sizeof protos / sizeof protos[0] };

/* One (socket type, protocol, port) the result has an entry for, per address. */
typedef struct tuple {
  int socktype, protocol;
  uint16_t port; /* network order */
} tuple_t;

static int proto_matches(const struct proto *p, const struct addrinfo *hints) {
  return (!hints->ai_socktype || hints->ai_socktype == p->socktype) &&
         (!hints->ai_protocol || p->any_protocol || hints->ai_protocol == p->protocol);
}

static tuple_t tuple_of(const struct proto *p, const struct addrinfo *hints, uint16_t port) {
  tuple_t t = {p->socktype, p->any_protocol ? hints->ai_protocol : p->protocol, port};
  return t;
}

/* A service name for protocol p: 0 with t filled, or -1 when /etc/services has none. */
static int service_by_name(const char *service, const struct proto *p,
                           const struct addrinfo *hints, tuple_t *t) {
  struct servent se, *found = NULL;
  char buf[1024];
  if (getservbyname_r(service, p->name, &se, buf, sizeof buf, &found) != 0 || !found) return -1;
  *t = tuple_of(p, hints, (uint16_t)found->s_port);
  return 0;
}

/* The tuples for service (NULL: port 0) under hints, as glibc's gaih_inet builds them.
 * Returns their count (> 0) or an EAI_* code. */
static int tuples(const char *service, const struct addrinfo *hints, tuple_t *out) {
  const struct proto *first = NULL;
  char *end;
  long num = -1;
  int i, n = 0;
  if (hints->ai_socktype || hints->ai_protocol) {
    for (i = 0; i < NPROTOS && !proto_matches(&protos[i], hints); i++) {
    }
    if (i == NPROTOS) return hints->ai_socktype ? EAI_SOCKTYPE : EAI_SERVICE;
    first = &protos[i];
  }
  if (service) {
    num = (int)strtoul(service, &end, 10);
    if (*end) {
      if (hints->ai_flags & AI_NUMERICSERV) return EAI_NONAME;
      num = -1;
    }
    if (first && first->no_service) return EAI_SERVICE;
  }
  if (service && num < 0) {
    if (first) return service_by_name(service, first, hints, out) < 0 ? EAI_SERVICE : 1;
    for (i = 0; i < NPROTOS; i++)
      if (!protos[i].no_service && proto_matches(&protos[i], hints) &&
          service_by_name(service, &protos[i], hints, &out[n]) == 0)
        n++;
    return n ? n : EAI_SERVICE;
  }
  if (first) {
    out[0] = tuple_of(first, hints, htons((uint16_t)(service ? num : 0)));
    return 1;
  }
  for (i = 0; i < NPROTOS; i++)
    if (protos[i].all) out[n++] = tuple_of(&protos[i], hints, htons((uint16_t)(service ? num : 0)));
  return n;
}

/* ---- hosts --------------------------------------------------------------------------------- */

/* The addresses a lookup gives, before they are multiplied by the tuples. */
typedef struct hostlist {
  size_t n;
  green__dns_sockaddr_t *addrs;
  const char *canon;
  green__dns_answer_t *answer; /* owns addrs and canon when they come from the resolver */
  green__dns_sockaddr_t *own;  /* a list of the hostlist's own (AI_V4MAPPED), or NULL */
  green__dns_sockaddr_t local[2];
} hostlist_t;

static void set_v4(green__dns_sockaddr_t *a, struct in_addr in) {
  memset(a, 0, sizeof *a);
  a->in.sin_family = AF_INET;
  a->in.sin_addr = in;
}

static void set_v6(green__dns_sockaddr_t *a, const struct in6_addr *in6, uint32_t scope) {
  memset(a, 0, sizeof *a);
  a->in6.sin6_family = AF_INET6;
  a->in6.sin6_addr = *in6;
  a->in6.sin6_scope_id = scope;
}

static void map_v4(green__dns_sockaddr_t *a) {
  struct in6_addr m;
  memset(&m, 0, sizeof m);
  m.s6_addr[10] = m.s6_addr[11] = 0xff;
  memcpy(&m.s6_addr[12], &a->in.sin_addr, 4);
  set_v6(a, &m, 0);
}

/* inet_aton's forms ("127.1", "0x7f.0.0.1"), with nothing after them: glibc's
 * __inet_aton_exact. */
int green__dns_parse_v4(const char *s, struct in_addr *out) {
  return inet_aton(s, out) && !strpbrk(s, " \t\n\v\f\r");
}

/* "addr%scope": the scope an interface name (link-local addresses) or a number. */
static int parse_scope(const struct in6_addr *a, const char *scope, uint32_t *out) {
  char *end;
  unsigned long long v;
  if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MC_NODELOCAL(a) || IN6_IS_ADDR_MC_LINKLOCAL(a)) {
    if ((*out = if_nametoindex(scope)) != 0) return 0;
  }
  if (!isdigit((unsigned char)scope[0])) return -1;
  v = strtoull(scope, &end, 10);
  if (*end || v > UINT32_MAX) return -1;
  *out = (uint32_t)v;
  return 0;
}

/* A numeric host: 1 with l filled, 0 when node is no number, or an EAI_* code. */
static int numeric_host(const char *node, const struct addrinfo *hints, hostlist_t *l) {
  struct in_addr v4;
  struct in6_addr v6;
  char buf[INET6_ADDRSTRLEN];
  const char *pct = strchr(node, '%');
  uint32_t scope = 0;
  int family = hints->ai_family;
  l->n = 1;
  l->addrs = l->local;
  l->canon = node;
  if (green__dns_parse_v4(node, &v4)) {
    set_v4(&l->local[0], v4);
    if (family == AF_UNSPEC || family == AF_INET) return 1;
    if (family == AF_INET6 && (hints->ai_flags & AI_V4MAPPED)) return map_v4(&l->local[0]), 1;
    return EAI_ADDRFAMILY;
  }
  if (pct && (size_t)(pct - node) < sizeof buf) {
    memcpy(buf, node, (size_t)(pct - node));
    buf[pct - node] = '\0';
  }
  if (inet_pton(AF_INET6, pct ? buf : node, &v6) != 1 || (pct && (size_t)(pct - node) >= sizeof buf))
    return 0;
  if (family == AF_INET && IN6_IS_ADDR_V4MAPPED(&v6)) {
    memcpy(&v4, &v6.s6_addr[12], 4);
    set_v4(&l->local[0], v4);
  } else if (family == AF_INET) {
    return EAI_ADDRFAMILY;
  } else {
    if (pct && parse_scope(&v6, pct + 1, &scope) < 0) return EAI_NONAME;
    set_v6(&l->local[0], &v6, scope);
  }
  return 1;
}

/* No node: the loopback addresses, IPv6 first. For AI_PASSIVE, the wildcard ones, IPv4 first.
 * This is the order glibc's sort leaves them in. */
static void no_host(const struct addrinfo *hints, hostlist_t *l) {
  int passive = hints->ai_flags & AI_PASSIVE;
  struct in_addr v4 = {htonl(passive ? INADDR_ANY : INADDR_LOOPBACK)};
  l->n = 0;
  l->addrs = l->local;
  l->canon = NULL;
  if (passive && hints->ai_family != AF_INET6) set_v4(&l->local[l->n++], v4);
  if (hints->ai_family != AF_INET) set_v6(&l->local[l->n++], passive ? &in6addr_any : &in6addr_loopback, 0);
  if (!passive && hints->ai_family != AF_INET6) set_v4(&l->local[l->n++], v4);
}

/* AI_V4MAPPED for AF_INET6, in a list of l's own. First the IPv6 addresses. Then the IPv4 ones,
 * mapped, when there is no IPv6 address or AI_ALL asks for both. EAI_MEMORY or 0. */
static int v4mapped(hostlist_t *l, int all) {
  const green__dns_sockaddr_t *a = l->addrs;
  green__dns_sockaddr_t *out;
  size_t i, n = 0, v6 = 0;
  for (i = 0; i < l->n; i++) v6 += a[i].sa.sa_family == AF_INET6;
  if (!(out = malloc((l->n ? l->n : 1) * sizeof *out))) return EAI_MEMORY;
  for (i = 0; i < l->n; i++)
    if (a[i].sa.sa_family == AF_INET6) out[n++] = a[i];
  for (i = 0; (all || !v6) && i < l->n; i++) {
    if (a[i].sa.sa_family != AF_INET) continue;
    out[n] = a[i];
    map_v4(&out[n++]);
  }
  l->own = l->addrs = out;
  l->n = n;
  return 0;
}

/* AI_ADDRCONFIG as glibc decides it: a family counts when the host has an address of it
 * other than the loopback one. Returns the family to ask for, or -1 when none can do. */
static int addrconfig(int family) {
  struct ifaddrs *ifs, *i;
  int v4 = 0, v6 = 0;
  if (getifaddrs(&ifs) < 0) return family;
  for (i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    if (i->ifa_addr->sa_family == AF_INET)
      v4 |= ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr != htonl(INADDR_LOOPBACK);
    else if (i->ifa_addr->sa_family == AF_INET6)
      v6 |= !IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr);
  }
  freeifaddrs(ifs);
  if (family == AF_UNSPEC && (v4 || v6)) return !v4 ? AF_INET6 : !v6 ? AF_INET : AF_UNSPEC;
  if ((family == AF_INET && !v4) || (family == AF_INET6 && !v6)) return -1;
  return family;
}

/* A name through the resolver: 0 with l filled, or an EAI_* code (errno set for
 * EAI_SYSTEM). */
static int resolve(struct green__hub *h, const char *node, const struct addrinfo *hints,
                   hostlist_t *l) {
  int mapped = hints->ai_family == AF_INET6 && (hints->ai_flags & AI_V4MAPPED);
  int err = 0, r;
  if (!*node) return EAI_NONAME;
  r = green__dns_lookup(h, node, mapped ? AF_UNSPEC : hints->ai_family, &l->answer, &err);
  if (r == EAI_SYSTEM) errno = -err;
  if (r) return r;
  l->n = l->answer->naddrs;
  l->addrs = l->answer->addrs;
  l->canon = l->answer->name;
  return mapped ? v4mapped(l, hints->ai_flags & AI_ALL) : 0;
}

static int hosts(struct green__hub *h, const char *node, const struct addrinfo *hints,
                 hostlist_t *l) {
  int r;
  if (!node) {
    no_host(hints, l);
    return 0;
  }
  if ((r = numeric_host(node, hints, l)) != 0) return r == 1 ? 0 : r;
  if (hints->ai_flags & AI_NUMERICHOST) return EAI_NONAME;
  return resolve(h, node, hints, l);
}

/* ---- the result list ---------------------------------------------------------------------- */

/* One entry; its address lives in the same block, as glibc's do, so either library's
 * freeaddrinfo releases it. */
static struct addrinfo *entry(const green__dns_sockaddr_t *a, const tuple_t *t, int flags) {
  socklen_t len = a->sa.sa_family == AF_INET6 ? sizeof a->in6 : sizeof a->in;
  struct addrinfo *ai = calloc(1, sizeof *ai + sizeof *a);
  if (!ai) return NULL;
  ai->ai_flags = flags;
  ai->ai_family = a->sa.sa_family;
  ai->ai_socktype = t->socktype;
  ai->ai_protocol = t->protocol;
  ai->ai_addrlen = len;
  ai->ai_addr = (struct sockaddr *)(ai + 1);
  memcpy(ai->ai_addr, a, len);
  ((struct sockaddr_in *)ai->ai_addr)->sin_port = t->port; /* same place in sockaddr_in6 */
  return ai;
}

static int build(const hostlist_t *l, const tuple_t *t, int nt, const struct addrinfo *hints,
                 struct addrinfo **res) {
  struct addrinfo *head = NULL, **tail = &head;
  size_t i;
  int k;
  for (i = 0; i < l->n; i++) {
    for (k = 0; k < nt; k++) {
      if (!(*tail = entry(&l->addrs[i], &t[k], hints->ai_flags))) goto nomem;
      tail = &(*tail)->ai_next;
    }
  }
  if (head && (hints->ai_flags & AI_CANONNAME) && l->canon &&
      !(head->ai_canonname = strdup(l->canon)))
    goto nomem;
  if (!head) return EAI_NONAME;
  *res = head;
  return 0;
nomem:
  green_freeaddrinfo(head);
  return EAI_MEMORY;
}

static int check_hints(const char *node, const char *service, const struct addrinfo *hints) {
  if (hints->ai_flags & ~KNOWN_AI_FLAGS) return EAI_BADFLAGS;
  if ((hints->ai_flags & AI_CANONNAME) && !node) return EAI_BADFLAGS;
  if (hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET && hints->ai_family != AF_INET6)
    return EAI_FAMILY;
  (void)service;
  return 0;
}

int green_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                      struct addrinfo **res) {
  struct addrinfo h = {.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG}; /* glibc's default hints */
  tuple_t t[NPROTOS];
  hostlist_t l;
  struct green__hub *hub;
  int nt, r;
  if (node && strcmp(node, "*") == 0) node = NULL;
  if (!node && !service) return EAI_NONAME;
  if (hints) {
    h.ai_flags = hints->ai_flags;
    h.ai_family = hints->ai_family;
    h.ai_socktype = hints->ai_socktype;
    h.ai_protocol = hints->ai_protocol;
  }
  if ((r = check_hints(node, service, &h))) return r;
  if ((h.ai_flags & AI_ADDRCONFIG) && (h.ai_family = addrconfig(h.ai_family)) < 0)
    return EAI_NONAME;
  if ((nt = tuples(service, &h, t)) < 0) return nt;
  if (!(hub = green__hub_get())) return EAI_MEMORY;
  memset(&l, 0, sizeof l);
  if (!(r = hosts(hub, node, &h, &l))) r = build(&l, t, nt, &h, res);
  free(l.own);
  green__dns_answer_release(l.answer);
  return r;
}

void green_freeaddrinfo(struct addrinfo *res) {
  while (res) {
    struct addrinfo *next = res->ai_next;
    free(res->ai_canonname);
    free(res);
    res = next;
  }
}

/* ---- getnameinfo -------------------------------------------------------------------------- */

static int copy_out(char *dst, socklen_t len, const char *src) {
  size_t n = strlen(src);
  if (n >= len) return EAI_OVERFLOW;
  memcpy(dst, src, n + 1);
  return 0;
}

static int numeric_name(const green__dns_sockaddr_t *a, char *host, socklen_t hostlen) {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], ifname[IF_NAMESIZE];
  uint32_t scope = a->sa.sa_family == AF_INET6 ? a->in6.sin6_scope_id : 0;
  const struct in6_addr *v6 = &a->in6.sin6_addr;
  if (a->sa.sa_family == AF_INET) inet_ntop(AF_INET, &a->in.sin_addr, buf, sizeof buf);
  else inet_ntop(AF_INET6, v6, buf, sizeof buf);
  if (scope) {
    size_t n = strlen(buf);
    if ((IN6_IS_ADDR_LINKLOCAL(v6) || IN6_IS_ADDR_MC_LINKLOCAL(v6)) && if_indextoname(scope, ifname))
      snprintf(buf + n, sizeof buf - n, "%%%s", ifname);
    else
      snprintf(buf + n, sizeof buf - n, "%%%u", scope);
  }
  return copy_out(host, hostlen, buf);
}

/* NI_NOFQDN: the name without the domain this host is in, when it ends with it. */
static void strip_own_domain(char *name) {
  char self[256], *dot, *at;
  size_t n, dn;
  if (gethostname(self, sizeof self) < 0 || !(dot = strchr(self, '.'))) return;
  dn = strlen(dot);
  n = strlen(name);
  at = name + n - dn;
  if (n > dn && strcasecmp(at, dot) == 0) *at = 0;
}

static int host_name(struct green__hub *h, const green__dns_sockaddr_t *a, char *host,
                     socklen_t hostlen, int flags) {
  green__dns_answer_t *ans = NULL;
  const void *addr = a->sa.sa_family == AF_INET ? (const void *)&a->in.sin_addr
                                                : (const void *)&a->in6.sin6_addr;
  int err = 0, r;
  char name[NI_MAXHOST];
  if (flags & NI_NUMERICHOST)
    return (flags & NI_NAMEREQD) ? EAI_NONAME : numeric_name(a, host, hostlen);
  r = green__dns_reverse(h, addr, a->sa.sa_family, &ans, &err);
  if (r == EAI_SYSTEM && err != -ECANCELED && err != -ETIMEDOUT) r = EAI_AGAIN;
  if (r == EAI_SYSTEM) errno = -err;
  if (r == EAI_SYSTEM || r == EAI_AGAIN || r == EAI_MEMORY) return r;
  if (r) return (flags & NI_NAMEREQD) ? EAI_NONAME : numeric_name(a, host, hostlen);
  snprintf(name, sizeof name, "%s", ans->name);
  green__dns_answer_release(ans);
  if (flags & NI_NOFQDN) strip_own_domain(name);
  return copy_out(host, hostlen, name);
}

static int serv_name(const green__dns_sockaddr_t *a, char *serv, socklen_t servlen, int flags) {
  struct servent se, *found = NULL;
  char buf[1024], num[8];
  uint16_t port = a->in.sin_port; /* same place in sockaddr_in6 */
  if (!(flags & NI_NUMERICSERV) &&
      getservbyport_r(port, (flags & NI_DGRAM) ? "udp" : "tcp", &se, buf, sizeof buf, &found) == 0 &&
      found)
    return copy_out(serv, servlen, found->s_name);
  snprintf(num, sizeof num, "%u", ntohs(port));
  return copy_out(serv, servlen, num);
}

static int local_names(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
                       char *serv, socklen_t servlen, int flags) {
  const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
  struct utsname u;
  char path[sizeof un->sun_path + 1];
  size_t n = salen > offsetof(struct sockaddr_un, sun_path)
                 ? salen - offsetof(struct sockaddr_un, sun_path) : 0;
  int r = 0;
  if (host && hostlen) {
    const char *name = "localhost";
    if (!(flags & NI_NUMERICHOST) && uname(&u) == 0) name = u.nodename;
    if ((r = copy_out(host, hostlen, name))) return r;
  }
  if (serv && servlen) {
    if (n > sizeof un->sun_path) n = sizeof un->sun_path;
    memcpy(path, un->sun_path, n);
    path[n] = 0;
    r = copy_out(serv, servlen, path);
  }
  return r;
}

int green_getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
                      char *serv, socklen_t servlen, int flags) {
  green__dns_sockaddr_t a;
  struct green__hub *h;
  int r;
  if (flags & ~KNOWN_NI_FLAGS) return EAI_BADFLAGS;
  if (!sa || salen < sizeof(sa_family_t)) return EAI_FAMILY;
  if ((flags & NI_NAMEREQD) && !host && !serv) return EAI_NONAME;
  if (sa->sa_family == AF_LOCAL) return local_names(sa, salen, host, hostlen, serv, servlen, flags);
  if ((sa->sa_family != AF_INET || salen < sizeof a.in) &&
      (sa->sa_family != AF_INET6 || salen < sizeof a.in6))
    return EAI_FAMILY;
  memcpy(&a, sa, sa->sa_family == AF_INET ? sizeof a.in : sizeof a.in6);
  if (host && hostlen) {
    if (!(h = green__hub_get())) return EAI_MEMORY;
    if ((r = host_name(h, &a, host, hostlen, flags))) return r;
  }
  if (serv && servlen) return serv_name(&a, serv, servlen, flags);
  return 0;
}
