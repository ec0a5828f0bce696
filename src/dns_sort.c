/* SPDX-License-Identifier: MIT */
/*
 * Destination address selection as glibc's getaddrinfo does it by default. That is RFC 3484
 * with glibc's default policy tables; /etc/gai.conf is not read. Usable destinations come
 * first: the kernel has a source address for them. Then come matching scope, matching label,
 * higher precedence, smaller scope, and longest matching prefix (IPv4 only within the source's
 * subnet). Otherwise the order of the answer stands. glibc's rules 3, 4 and 7 are not
 * applied (deprecated, home and tunnel source addresses). Asking the kernel for a source address
 * costs a socket, connect, getsockname and close per destination. So, as in glibc, it is done
 * only for answers of two or more addresses.
 */
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "internal.h"

typedef struct elem {
  green__dns_sockaddr_t dst, src;
  int has_src;
  int prefixlen; /* of the IPv4 source's subnet; -1 until looked up */
  size_t order;
} elem_t;

/* glibc's default label and precedence tables: the first prefix that matches. */
static const struct policy {
  unsigned char prefix[16];
  unsigned bits;
  int label, precedence;
} labels[] = {
  {{[15] = 1}, 128, 0, -1},
  {{0x20, 0x02}, 16, 2, -1},
  {{0}, 96, 3, -1},
  {{[10] = 0xff, [11] = 0xff}, 96, 4, -1},
  {{0xfe, 0xc0}, 10, 5, -1},
  {{0xfc}, 7, 6, -1},
  {{0x20, 0x01}, 32, 7, -1},
  {{0}, 0, 1, -1},
}, precedences[] = {
  {{[15] = 1}, 128, -1, 50},
  {{0x20, 0x02}, 16, -1, 30},
  {{0}, 96, -1, 20},
  {{[10] = 0xff, [11] = 0xff}, 96, -1, 10},
  {{0}, 0, -1, 40},
};

/* a as IPv6 (IPv4 as v4-mapped), the form the tables are written in. */
static struct in6_addr as_v6(const green__dns_sockaddr_t *a) {
  struct in6_addr v6;
  if (a->sa.sa_family == AF_INET6) return a->in6.sin6_addr;
  memset(&v6, 0, sizeof v6);
  v6.s6_addr[10] = v6.s6_addr[11] = 0xff;
  memcpy(&v6.s6_addr[12], &a->in.sin_addr, 4);
  return v6;
}

static const struct policy *lookup(const struct policy *table, const green__dns_sockaddr_t *a) {
  struct in6_addr v6 = as_v6(a);
  for (;; table++) {
    unsigned full = table->bits / 8, rest = table->bits % 8;
    if (memcmp(table->prefix, v6.s6_addr, full) != 0) continue;
    if (rest && ((table->prefix[full] ^ v6.s6_addr[full]) & (0xff00 >> rest) & 0xff)) continue;
    return table;
  }
}

static int scope_of(const green__dns_sockaddr_t *a) {
  const struct in6_addr *v6 = &a->in6.sin6_addr;
  if (a->sa.sa_family == AF_INET) {
    uint32_t v = ntohl(a->in.sin_addr.s_addr);
    return (v >> 24 == 127 || (v & 0xffff0000u) == 0xa9fe0000u) ? 2 : 14;
  }
  if (IN6_IS_ADDR_MULTICAST(v6)) return v6->s6_addr[1] & 0xf;
  if (IN6_IS_ADDR_LINKLOCAL(v6) || IN6_IS_ADDR_LOOPBACK(v6)) return 2;
  return IN6_IS_ADDR_SITELOCAL(v6) ? 5 : 14;
}

/* The source address the kernel would use to reach e->dst; none when it is unreachable. */
static void find_source(elem_t *e) {
  socklen_t len = e->dst.sa.sa_family == AF_INET6 ? sizeof e->dst.in6 : sizeof e->dst.in;
  int fd = socket(e->dst.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  e->has_src = 0;
  e->prefixlen = -1;
  if (fd < 0) return;
  if (connect(fd, &e->dst.sa, len) == 0 && getsockname(fd, &e->src.sa, &len) == 0)
    e->has_src = 1;
  close(fd);
}

/* The prefix length of the interface address e's IPv4 source is (0 when none is). */
static int source_prefixlen(elem_t *e) {
  struct ifaddrs *ifs, *i;
  if (e->prefixlen >= 0) return e->prefixlen;
  e->prefixlen = 0;
  if (getifaddrs(&ifs) < 0) return 0;
  for (i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != AF_INET ||
        ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr != e->src.in.sin_addr.s_addr)
      continue;
    e->prefixlen = __builtin_popcount(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
    break;
  }
  freeifaddrs(ifs);
  return e->prefixlen;
}

/* Leading bits in common, within the first 32-bit word where either pair differs (glibc). */
static int leading_zeros(uint32_t x) { return x ? __builtin_clz(x) : 32; }

static int ipv4_match(elem_t *e) {
  uint32_t dst = ntohl(e->dst.in.sin_addr.s_addr), src = ntohl(e->src.in.sin_addr.s_addr);
  int len = source_prefixlen(e);
  uint32_t mask = len ? 0xffffffffu << (32 - len) : 0xffffffffu; /* glibc's shift by 32 */
  return (src & mask) == (dst & mask) ? leading_zeros(dst ^ src) : 0;
}

/* Rule 9: 1 when a has the longer matching prefix, -1 when b has, else 0. */
static int longer_prefix(elem_t *a, elem_t *b) {
  int ba = 0, bb = 0, i;
  if (a->dst.sa.sa_family == AF_INET) {
    ba = ipv4_match(a);
    bb = ipv4_match(b);
  } else {
    uint32_t x[4], y[4], u[4], v[4];
    memcpy(x, &a->dst.in6.sin6_addr, 16), memcpy(y, &a->src.in6.sin6_addr, 16);
    memcpy(u, &b->dst.in6.sin6_addr, 16), memcpy(v, &b->src.in6.sin6_addr, 16);
    for (i = 0; i < 4 && x[i] == y[i] && u[i] == v[i]; i++) {
    }
    if (i < 4) ba = leading_zeros(ntohl(x[i] ^ y[i])), bb = leading_zeros(ntohl(u[i] ^ v[i]));
  }
  return (ba > bb) - (ba < bb);
}

static int compare(const void *pa, const void *pb) {
  elem_t *a = (elem_t *)pa, *b = (elem_t *)pb;
  int da = scope_of(&a->dst), db = scope_of(&b->dst), x, y;
  if (a->has_src != b->has_src) return b->has_src - a->has_src; /* 1: usable first */
  if (a->has_src) {
    x = scope_of(&a->src) == da, y = scope_of(&b->src) == db;
    if (x != y) return y - x; /* 2: matching scope */
    x = lookup(labels, &a->src)->label == lookup(labels, &a->dst)->label;
    y = lookup(labels, &b->src)->label == lookup(labels, &b->dst)->label;
    if (x != y) return y - x; /* 5: matching label */
  }
  x = lookup(precedences, &a->dst)->precedence, y = lookup(precedences, &b->dst)->precedence;
  if (x != y) return y - x; /* 6: higher precedence */
  if (da != db) return da - db; /* 8: smaller scope */
  if (a->has_src && a->dst.sa.sa_family == b->dst.sa.sa_family && (x = longer_prefix(a, b)))
    return -x; /* 9: longest matching prefix */
  return a->order < b->order ? -1 : 1; /* 10: as they came */
}

void green__dns_sort(green__dns_sockaddr_t *addrs, size_t n) {
  elem_t *e;
  size_t i;
  if (n < 2 || !(e = calloc(n, sizeof *e))) return;
  for (i = 0; i < n; i++) {
    e[i].dst = addrs[i];
    e[i].order = i;
    find_source(&e[i]);
  }
  qsort(e, n, sizeof *e, compare);
  for (i = 0; i < n; i++) addrs[i] = e[i].dst;
  free(e);
}
