/* SPDX-License-Identifier: MIT */
/* The resolver against real servers on loopback: dnsmasq started by the test (A, AAAA,
 * CNAME, NXDOMAIN, search domains, reverse lookups, the cache) and glibc itself (the same
 * answers, in the same order, for the same hosts file). */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>

#include "test.h"
#include "dns_env.h"

#include "../src/posix.h" /* the gethostbyname family the shim uses */

/* ---- glibc equivalence ------------------------------------------------------------------ */

static const char equivalence_hosts[] =
    "127.0.0.1 localhost\n"
    "::1 localhost ip6-localhost ip6-loopback\n"
    "127.0.0.2 one.test one\n"
    "127.0.0.3 multi.test multi\n"
    "127.0.0.4 multi.test multi\n"
    "::1 multi.test multi\n"
    "127.0.0.5 Alias.Test alias1 alias2\n"
    "::1 v6only.test v6only\n"
    "127.0.0.6 v4only.test v4only\n"
    "127.0.0.7 dup.test\n"
    "127.0.0.7 dup.test\n"
    "192.0.2.10 mixed.test\n"
    "fd00::10 mixed.test\n"
    "2001:db8::10 mixed.test\n"
    "127.0.0.20 mixed.test\n"
    "::1 mixed.test\n"
    "10.1.2.3 mixed.test\n";

/* glibc's files backend answers an IPv4 question with a "::1" line too, as 127.0.0.1
 * (so "localhost" comes twice from Debian's default hosts file); c-ares, and so libgreen,
 * answers it from the IPv4 lines only. These are the names that differ for that reason. */
static int glibc_maps_loopback(const char *node, int family, int flags) {
  static const char *const names[] = {"localhost", "ip6-localhost", "multi", "multi.test",
                                      "v6only", "mixed.test"};
  size_t i;
  int v4_asked = family == AF_INET ||
                 (family == AF_INET6 && (flags & (AI_V4MAPPED | AI_ALL)) == (AI_V4MAPPED | AI_ALL));
  if (!v4_asked || !node) return 0;
  for (i = 0; i < sizeof names / sizeof *names; i++)
    if (strcasecmp(node, names[i]) == 0) return 1;
  return 0;
}

static void describe(char *out, size_t n, const struct addrinfo *ai) {
  char addr[INET6_ADDRSTRLEN] = "?";
  const void *a = ai->ai_family == AF_INET6
                      ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                      : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
  inet_ntop(ai->ai_family, a, addr, sizeof addr);
  snprintf(out, n, "{flags %#x family %d socktype %d protocol %d %s port %u scope %u canon %s}",
           (unsigned)ai->ai_flags, ai->ai_family, ai->ai_socktype, ai->ai_protocol, addr,
           ntohs(((struct sockaddr_in *)ai->ai_addr)->sin_port),
           ai->ai_family == AF_INET6 ? ((struct sockaddr_in6 *)ai->ai_addr)->sin6_scope_id : 0,
           ai->ai_canonname ? ai->ai_canonname : "-");
}

static int same_entry(const struct addrinfo *a, const struct addrinfo *b) {
  if (a->ai_flags != b->ai_flags || a->ai_family != b->ai_family ||
      a->ai_socktype != b->ai_socktype || a->ai_protocol != b->ai_protocol ||
      a->ai_addrlen != b->ai_addrlen || memcmp(a->ai_addr, b->ai_addr, a->ai_addrlen) != 0)
    return 0;
  if (!a->ai_canonname || !b->ai_canonname) return a->ai_canonname == b->ai_canonname;
  return strcmp(a->ai_canonname, b->ai_canonname) == 0;
}

/* glibc and libgreen give the same code and the same list for one question; returns the
 * number of entries compared. */
static int compare_one(const char *node, const char *service, const struct addrinfo *hints) {
  struct addrinfo *g = NULL, *l = NULL, *x, *y;
  char dx[256], dy[256];
  int lr = getaddrinfo(node, service, hints, &l), gr = green_getaddrinfo(node, service, hints, &g);
  int n = 0;
  if (lr != gr)
    TEST_FAIL("getaddrinfo(%s, %s, flags %#x family %d socktype %d): glibc %d (%s), libgreen %d (%s)",
              node ? node : "NULL", service ? service : "NULL", hints ? hints->ai_flags : -1,
              hints ? hints->ai_family : -1, hints ? hints->ai_socktype : -1, lr,
              gai_strerror(lr), gr, gai_strerror(gr));
  for (x = l, y = g; x && y; x = x->ai_next, y = y->ai_next, n++) {
    if (same_entry(x, y)) continue;
    describe(dx, sizeof dx, x);
    describe(dy, sizeof dy, y);
    TEST_FAIL("getaddrinfo(%s, %s, flags %#x family %d socktype %d) entry %d: glibc %s, libgreen %s",
              node ? node : "NULL", service ? service : "NULL", hints ? hints->ai_flags : -1,
              hints ? hints->ai_family : -1, hints ? hints->ai_socktype : -1, n, dx, dy);
  }
  if (x || y)
    TEST_FAIL("getaddrinfo(%s, %s, flags %#x family %d): glibc has %s entries",
              node ? node : "NULL", service ? service : "NULL", hints ? hints->ai_flags : -1,
              hints ? hints->ai_family : -1, x ? "more" : "fewer");
  if (l) freeaddrinfo(l);
  if (g) green_freeaddrinfo(g);
  return n;
}

/* A private /etc where both resolvers read only the test hosts file; 0, or -1 (with a note)
 * when this machine cannot give one. */
static int equivalence_setup(void) {
  if (private_mounts() < 0) {
    printf("SKIPPED: no mount namespace here (needs root or user namespaces)\n");
    return -1;
  }
  bind_etc("hosts", equivalence_hosts);
  bind_etc("nsswitch.conf", "hosts: files\nservices: files\n");
  bind_etc("host.conf", "multi on\n");
  bind_etc("resolv.conf", "nameserver 127.0.0.1\n");
  bind_etc("gai.conf", "");
  return 0;
}

TEST_CASE(glibc_equivalence_getaddrinfo) {
  static const char *const nodes[] = {
      "localhost", "LocalHost", "ip6-localhost", "one", "one.test", "multi", "multi.test",
      "alias1", "alias.test", "ALIAS2", "v6only", "v4only", "dup.test", "mixed.test",
      "unknown.test", "", "*", NULL, "127.0.0.1", "127.1", "0x7f.0.0.1", "127.0.0.1 ",
      "1.2.3.4.5", "::1", "::ffff:127.0.0.1", "fe80::1%1", "fe80::1%lo", "fe80::1%nosuch",
      "::1%7", "[::1]"};
  static const int families[] = {AF_UNSPEC, AF_INET, AF_INET6};
  static const int flags[] = {0, AI_CANONNAME, AI_V4MAPPED, AI_V4MAPPED | AI_ALL, AI_ALL,
                              AI_ADDRCONFIG, AI_NUMERICHOST, AI_PASSIVE, AI_NUMERICSERV,
                              AI_CANONNAME | AI_V4MAPPED | AI_ALL | AI_PASSIVE, 0x10000};
  static const struct {
    const char *service;
    int socktype, protocol;
  } services[] = {{NULL, 0, 0},      {"80", 0, 0},       {"http", SOCK_STREAM, 0},
                  {"domain", 0, 0},  {"80", SOCK_RAW, 0}, {NULL, SOCK_DGRAM, 0},
                  {"nosuch", 0, 0},  {"", 0, 0},          {"70000", 0, 0},
                  {"-1", 0, 0},      {"80", 0, IPPROTO_UDP}, {NULL, SOCK_SEQPACKET, 0},
                  {"80", SOCK_STREAM, IPPROTO_UDP}, {"domain", SOCK_DGRAM, 0},
                  {"http", SOCK_RAW, 0}, {NULL, 0, IPPROTO_SCTP}, {"80", 12345, 0}};
  struct addrinfo v4 = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
  size_t i, j, k, s;
  int entries = 0, questions = 0;
  if (equivalence_setup() < 0) return;
  for (i = 0; i < sizeof nodes / sizeof *nodes; i++)
    for (j = 0; j < sizeof families / sizeof *families; j++)
      for (k = 0; k < sizeof flags / sizeof *flags; k++)
        for (s = 0; s < sizeof services / sizeof *services; s++) {
          struct addrinfo hints;
          if (glibc_maps_loopback(nodes[i], families[j], flags[k])) continue;
          memset(&hints, 0, sizeof hints);
          hints.ai_family = families[j];
          hints.ai_flags = flags[k];
          hints.ai_socktype = services[s].socktype;
          hints.ai_protocol = services[s].protocol;
          entries += compare_one(nodes[i], services[s].service, &hints);
          questions++;
        }
  for (i = 0; i < sizeof nodes / sizeof *nodes; i++) entries += compare_one(nodes[i], "80", NULL);
  ASSERT_EQ(green_getaddrinfo("localhost", NULL, &v4, &res), 0); /* the documented difference */
  ASSERT_EQ(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  ASSERT_PTR_EQ(res->ai_next, NULL);
  green_freeaddrinfo(res);
  printf("%d questions, %d entries alike\n", questions, entries);
  ASSERT_GT(entries, 1000); /* most questions have answers: the comparison is not vacuous */
}

static void compare_nameinfo(const struct sockaddr *sa, socklen_t len, socklen_t hostlen,
                             socklen_t servlen, int flags) {
  char lh[NI_MAXHOST] = "", ls[NI_MAXSERV] = "", gh[NI_MAXHOST] = "", gs[NI_MAXSERV] = "";
  int lr = getnameinfo(sa, len, hostlen ? lh : NULL, hostlen, servlen ? ls : NULL, servlen, flags);
  int gr = green_getnameinfo(sa, len, hostlen ? gh : NULL, hostlen, servlen ? gs : NULL, servlen,
                             flags);
  if (lr != gr || (lr == 0 && (strcmp(lh, gh) != 0 || strcmp(ls, gs) != 0)))
    TEST_FAIL("getnameinfo(family %d, len %u, hostlen %u, servlen %u, flags %#x): glibc %d %s %s,"
              " libgreen %d %s %s", sa->sa_family, (unsigned)len, (unsigned)hostlen,
              (unsigned)servlen, (unsigned)flags, lr, lh, ls, gr, gh, gs);
}

TEST_CASE(glibc_equivalence_getnameinfo) {
  static const char *const v4[] = {"127.0.0.1", "127.0.0.2", "127.0.0.5", "127.0.0.99"};
  static const char *const v6[] = {"::1", "::ffff:127.0.0.8", "fe80::1", "::2"};
  static const uint16_t ports[] = {80, 53, 12345};
  static const int flags[] = {0, NI_NUMERICHOST, NI_NUMERICSERV, NI_NAMEREQD, NI_DGRAM,
                              NI_NOFQDN, NI_NUMERICHOST | NI_NAMEREQD, 0x1000};
  static const socklen_t lens[][2] = {{NI_MAXHOST, NI_MAXSERV}, {4, 2}, {0, NI_MAXSERV},
                                      {NI_MAXHOST, 0}};
  size_t i, p, f, l;
  if (equivalence_setup() < 0) return;
  for (i = 0; i < 4; i++)
    for (p = 0; p < 3; p++)
      for (f = 0; f < sizeof flags / sizeof *flags; f++)
        for (l = 0; l < 4; l++) {
          struct sockaddr_in sin = test_loopback(ports[p]);
          struct sockaddr_in6 sin6;
          memset(&sin6, 0, sizeof sin6);
          sin6.sin6_family = AF_INET6;
          sin6.sin6_port = htons(ports[p]);
          sin6.sin6_scope_id = i == 2 ? 1 : 0;
          ASSERT_EQ(inet_pton(AF_INET, v4[i], &sin.sin_addr), 1);
          ASSERT_EQ(inet_pton(AF_INET6, v6[i], &sin6.sin6_addr), 1);
          compare_nameinfo((struct sockaddr *)&sin, sizeof sin, lens[l][0], lens[l][1], flags[f]);
          compare_nameinfo((struct sockaddr *)&sin6, sizeof sin6, lens[l][0], lens[l][1], flags[f]);
          compare_nameinfo((struct sockaddr *)&sin6, sizeof sin, lens[l][0], lens[l][1], flags[f]);
        }
}

static void compare_hostent(const char *what, const struct hostent *a, int ae,
                            const struct hostent *b, int be) {
  int i;
  if (!a || !b) {
    if (a != b || ae != be)
      TEST_FAIL("%s: glibc %s (h_errno %d), libgreen %s (h_errno %d)", what, a ? "found" : "none",
                ae, b ? "found" : "none", be);
    return;
  }
  if (strcmp(a->h_name, b->h_name) != 0 || a->h_addrtype != b->h_addrtype ||
      a->h_length != b->h_length)
    TEST_FAIL("%s: glibc %s/%d, libgreen %s/%d", what, a->h_name, a->h_addrtype, b->h_name,
              b->h_addrtype);
  for (i = 0; a->h_aliases[i] && b->h_aliases[i]; i++)
    if (strcmp(a->h_aliases[i], b->h_aliases[i]) != 0)
      TEST_FAIL("%s: alias %d: glibc %s, libgreen %s", what, i, a->h_aliases[i], b->h_aliases[i]);
  if (a->h_aliases[i] || b->h_aliases[i]) TEST_FAIL("%s: the alias lists differ in length", what);
  for (i = 0; a->h_addr_list[i] && b->h_addr_list[i]; i++)
    if (memcmp(a->h_addr_list[i], b->h_addr_list[i], (size_t)a->h_length) != 0)
      TEST_FAIL("%s: address %d differs", what, i);
  if (a->h_addr_list[i] || b->h_addr_list[i]) TEST_FAIL("%s: the address lists differ", what);
}

TEST_CASE(glibc_equivalence_gethostbyname) {
  static const char *const names[] = {"localhost", "one", "multi.test", "alias2", "v6only",
                                      "v4only", "unknown.test", "127.0.0.1", "::1", "dup.test"};
  static const int afs[] = {AF_INET, AF_INET6};
  size_t i, j;
  if (equivalence_setup() < 0) return;
  for (i = 0; i < sizeof names / sizeof *names; i++)
    for (j = 0; j < 2; j++) {
      struct hostent lh, gh, *lr = NULL, *gr = NULL;
      char lbuf[2048], gbuf[2048], what[64];
      int le = 0, ge = 0;
      if (glibc_maps_loopback(names[i], afs[j], 0)) continue;
      snprintf(what, sizeof what, "gethostbyname2_r(%s, %d)", names[i], afs[j]);
      ASSERT_EQ(gethostbyname2_r(names[i], afs[j], &lh, lbuf, sizeof lbuf, &lr, &le),
                green__gethostbyname2_r(names[i], afs[j], &gh, gbuf, sizeof gbuf, &gr, &ge));
      compare_hostent(what, lr, le, gr, ge);
    }
  for (i = 0; i < 3; i++) {
    static const char *const addrs[] = {"127.0.0.1", "127.0.0.5", "127.0.0.99"};
    struct in_addr a;
    struct hostent *lr, *gr;
    char name[128] = "";
    int le, ge;
    ASSERT_EQ(inet_pton(AF_INET, addrs[i], &a), 1);
    lr = gethostbyaddr(&a, 4, AF_INET);
    le = h_errno;
    if (lr) snprintf(name, sizeof name, "%s", lr->h_name);
    gr = green__gethostbyaddr(&a, 4, AF_INET);
    ge = h_errno;
    if (!lr || !gr) ASSERT_TRUE(!lr && !gr && le == ge);
    else if (strcmp(name, gr->h_name) != 0) TEST_FAIL("gethostbyaddr(%s): glibc %s, libgreen %s", addrs[i], name, gr->h_name);
  }
}

/* ---- dnsmasq -------------------------------------------------------------------------------- */

static const char dnsmasq_hosts[] =
    "127.0.0.10 a.test\n"
    "127.0.0.11 both.test\n"
    "::1 both.test\n"
    "::1 six.test\n"
    "fd00::a10 six.test\n"
    "127.0.0.12 x.y.test\n"
    "127.0.0.13 x.y\n";

static const char *const dnsmasq_opts[] = {"--local=/test/", "--local=/y/",
                                           "--cname=alias.test,a.test", "--local-ttl=2", NULL};

/* dnsmasq with the hosts above, and the resolver pointed at it. */
static void start_dnsmasq(void) { use_dns_server(dnsmasq_start(dnsmasq_hosts, dnsmasq_opts)); }

static struct addrinfo hints_of(int family, int flags) {
  struct addrinfo h;
  memset(&h, 0, sizeof h);
  h.ai_family = family;
  h.ai_flags = flags;
  h.ai_socktype = SOCK_STREAM;
  return h;
}

/* The addresses of a result, as "a,b,c". */
static const char *addresses(const struct addrinfo *ai) {
  static char out[512];
  size_t n = 0;
  out[0] = 0;
  for (; ai && n < sizeof out - INET6_ADDRSTRLEN - 1; ai = ai->ai_next) {
    const void *a = ai->ai_family == AF_INET6
                        ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                        : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
    if (n) out[n++] = ',';
    inet_ntop(ai->ai_family, a, out + n, INET6_ADDRSTRLEN);
    n += strlen(out + n);
  }
  return out;
}

/* getaddrinfo(name) with hints_of(family, flags) gives exactly `expected` addresses. */
static void expect_addresses(const char *name, int family, int flags, const char *expected) {
  struct addrinfo h = hints_of(family, flags), *res = NULL;
  int r = green_getaddrinfo(name, "80", &h, &res);
  if (r) TEST_FAIL("getaddrinfo(%s, family %d): %s", name, family, gai_strerror(r));
  if (strcmp(addresses(res), expected) != 0)
    TEST_FAIL("getaddrinfo(%s, family %d): %s, expected %s", name, family, addresses(res), expected);
  ASSERT_EQ(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port), 80);
  green_freeaddrinfo(res);
}

static void expect_error(const char *name, int family, int expected) {
  struct addrinfo h = hints_of(family, 0), *res = NULL;
  int r = green_getaddrinfo(name, NULL, &h, &res);
  if (r != expected)
    TEST_FAIL("getaddrinfo(%s, family %d): %d (%s), expected %d (%s)", name, family, r,
              gai_strerror(r), expected, gai_strerror(expected));
}

TEST_CASE(dnsmasq_a_aaaa) {
  start_dnsmasq();
  expect_addresses("a.test", AF_INET, 0, "127.0.0.10");
  expect_addresses("six.test", AF_INET6, 0, "::1,fd00::a10");
  expect_addresses("both.test", AF_UNSPEC, 0, "::1,127.0.0.11"); /* RFC 6724: ::1 first */
  expect_addresses("both.test", AF_INET, 0, "127.0.0.11");
  expect_addresses("both.test", AF_INET6, 0, "::1");
  expect_addresses("a.test", AF_INET6, AI_V4MAPPED, "::ffff:127.0.0.10");
  dnsmasq_stop();
}

TEST_CASE(dnsmasq_cname) {
  struct addrinfo h = hints_of(AF_INET, AI_CANONNAME), *res;
  struct hostent *he;
  start_dnsmasq();
  ASSERT_EQ(green_getaddrinfo("alias.test", NULL, &h, &res), 0);
  ASSERT_EQ(strcmp(res->ai_canonname, "a.test"), 0);
  ASSERT_EQ(strcmp(addresses(res), "127.0.0.10"), 0);
  green_freeaddrinfo(res);
  ASSERT_PTR_NE(he = green__gethostbyname("alias.test"), NULL);
  ASSERT_EQ(strcmp(he->h_name, "a.test"), 0);
  ASSERT_PTR_NE(he->h_aliases[0], NULL);
  ASSERT_EQ(strcmp(he->h_aliases[0], "alias.test"), 0);
  ASSERT_EQ(he->h_addrtype, AF_INET);
  ASSERT_EQ(((struct in_addr *)he->h_addr_list[0])->s_addr, inet_addr("127.0.0.10"));
  ASSERT_PTR_EQ(he->h_addr_list[1], NULL);
  dnsmasq_stop();
}

TEST_CASE(dnsmasq_nxdomain_nodata) {
  struct hostent he, *result = &he;
  char buf[1024];
  int herr = 0;
  start_dnsmasq();
  expect_error("nope.test", AF_UNSPEC, EAI_NONAME);
  expect_error("nope.test", AF_INET, EAI_NONAME);
  expect_error("a.test", AF_INET6, EAI_NODATA); /* the name exists, without AAAA */
  ASSERT_EQ(green__gethostbyname_r("nope.test", &he, buf, sizeof buf, &result, &herr), 0);
  ASSERT_PTR_EQ(result, NULL);
  ASSERT_EQ(herr, HOST_NOT_FOUND);
  ASSERT_EQ(green__gethostbyname2_r("a.test", AF_INET6, &he, buf, sizeof buf, &result, &herr), 0);
  ASSERT_PTR_EQ(result, NULL);
  ASSERT_EQ(herr, NO_DATA);
  ASSERT_PTR_EQ(green__gethostbyname("nope.test"), NULL);
  ASSERT_EQ(h_errno, HOST_NOT_FOUND);
  dnsmasq_stop();
}

TEST_CASE(dnsmasq_search_domain) {
  struct addrinfo h = hints_of(AF_INET, AI_CANONNAME), *res;
  ASSERT_OK(setenv("LOCALDOMAIN", "test", 1));
  start_dnsmasq();
  ASSERT_EQ(green_getaddrinfo("a", NULL, &h, &res), 0);
  ASSERT_EQ(strcmp(addresses(res), "127.0.0.10"), 0);
  ASSERT_EQ(strcmp(res->ai_canonname, "a.test"), 0);
  green_freeaddrinfo(res);
  expect_addresses("x.y", AF_INET, 0, "127.0.0.13"); /* ndots 1: as given first */
  expect_error("nope.y", AF_INET, EAI_NONAME); /* as given, then nope.y.test */
  dnsmasq_stop();
}

TEST_CASE(dnsmasq_search_ndots) {
  ASSERT_OK(setenv("LOCALDOMAIN", "test", 1));
  ASSERT_OK(setenv("RES_OPTIONS", "ndots:2", 1));
  start_dnsmasq();
  expect_addresses("x.y", AF_INET, 0, "127.0.0.12"); /* ndots 2: the search list first */
  expect_addresses("x.y.", AF_INET, 0, "127.0.0.13"); /* absolute */
  dnsmasq_stop();
}

TEST_CASE(dnsmasq_reverse) {
  struct sockaddr_in sin = test_loopback(53);
  struct sockaddr_in6 sin6;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  struct in_addr a;
  struct hostent *he;
  start_dnsmasq();
  sin.sin_addr.s_addr = inet_addr("127.0.0.10");
  ASSERT_EQ(green_getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, serv,
                              sizeof serv, NI_NUMERICSERV), 0);
  ASSERT_EQ(strcmp(host, "a.test"), 0);
  ASSERT_EQ(strcmp(serv, "53"), 0);
  memset(&sin6, 0, sizeof sin6);
  sin6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "fd00::a10", &sin6.sin6_addr), 1);
  ASSERT_EQ(green_getnameinfo((struct sockaddr *)&sin6, sizeof sin6, host, sizeof host, NULL, 0,
                              NI_NAMEREQD), 0);
  ASSERT_EQ(strcmp(host, "six.test"), 0);
  sin.sin_addr.s_addr = inet_addr("127.0.0.99");
  ASSERT_EQ(green_getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, NULL, 0,
                              NI_NAMEREQD), EAI_NONAME);
  ASSERT_EQ(green_getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, NULL, 0, 0), 0);
  ASSERT_EQ(strcmp(host, "127.0.0.99"), 0);
  a.s_addr = inet_addr("127.0.0.12");
  ASSERT_PTR_NE(he = green__gethostbyaddr(&a, 4, AF_INET), NULL);
  ASSERT_EQ(strcmp(he->h_name, "x.y.test"), 0);
  dnsmasq_stop();
}

/* Answers outlive the server for their TTL (dnsmasq gives 2 s), NXDOMAIN for 5 s. */
TEST_CASE(dnsmasq_cache) {
  double start;
  start_dnsmasq();
  start = test_now();
  expect_addresses("a.test", AF_INET, 0, "127.0.0.10");
  expect_error("nope.test", AF_INET, EAI_NONAME);
  dnsmasq_stop();
  expect_addresses("a.test", AF_INET, 0, "127.0.0.10");
  expect_addresses("A.Test", AF_INET, 0, "127.0.0.10"); /* names are case-blind */
  expect_error("nope.test", AF_INET, EAI_NONAME);
  expect_error("both.test", AF_INET, EAI_AGAIN); /* never asked: the server is gone */
  ASSERT_OK(green_sleep(2.2 - (test_now() - start)));
  expect_error("a.test", AF_INET, EAI_AGAIN);
  expect_error("nope.test", AF_INET, EAI_NONAME);
}

TEST_CASE(dnsmasq_cache_off) {
  ASSERT_OK(setenv("GREEN_DNS_CACHE", "0", 1));
  start_dnsmasq();
  expect_addresses("a.test", AF_INET, 0, "127.0.0.10");
  dnsmasq_stop();
  expect_error("a.test", AF_INET, EAI_AGAIN);
}

static void *resolve_many(void *arg) {
  static const char *const names[] = {"a.test", "x.y.test", "both.test"};
  static const char *const want[] = {"127.0.0.10", "127.0.0.12", "127.0.0.11"};
  int i = (int)(intptr_t)arg % 3;
  expect_addresses(names[i], AF_INET, 0, want[i]);
  return NULL;
}

TEST_CASE(dnsmasq_concurrent) {
  green_t *g[300];
  int i;
  ASSERT_OK(setenv("GREEN_DNS_CACHE", "0", 1));
  start_dnsmasq();
  for (i = 0; i < 300; i++) ASSERT_PTR_NE(g[i] = green_spawn(resolve_many, (void *)(intptr_t)i), NULL);
  ASSERT_OK(green_joinall(g, 300, 20));
  dnsmasq_stop();
}

static void *lookup_forever(void *arg) {
  (void)arg;
  expect_error("a.test", AF_INET6, EAI_NODATA); /* parked here when its thread ends */
  return NULL;
}

static void *thread_main(void *arg) {
  (void)arg;
  expect_addresses("a.test", AF_INET, 0, "127.0.0.10");
  ASSERT_PTR_NE(green_spawn(lookup_forever, NULL), NULL);
  green_yield(); /* it submits its query and parks */
  return NULL;    /* the thread's hub goes, its channel and the pending query with it */
}

/* Each thread has its own channel, freed with its hub (LeakSanitizer checks in the ASan
 * build), pending queries included. */
TEST_CASE(dnsmasq_thread_exit) {
  pthread_t t;
  ASSERT_OK(setenv("GREEN_DNS_CACHE", "0", 1));
  start_dnsmasq();
  ASSERT_EQ(pthread_create(&t, NULL, thread_main, NULL), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  expect_addresses("a.test", AF_INET, 0, "127.0.0.10"); /* this thread's channel is its own */
  dnsmasq_stop();
}

static int resolved_at_exit;

static void resolve_at_exit(void *value) {
  (void)value;
  expect_addresses("a.test", AF_INET, 0, "127.0.0.10");
  resolved_at_exit++;
}

static void *thread_resolving_at_exit(void *arg) {
  green_local_t key;
  ASSERT_OK(green_local_create(&key, resolve_at_exit));
  ASSERT_OK(green_local_set(key, &resolved_at_exit));
  return arg;
}

/* The hub's teardowns run before the thread's own greenlet ends; a destructor of its values
 * that resolves a name sets up a channel after them, which is freed with the hub all the same
 * (LeakSanitizer checks in the ASan build). */
TEST_CASE(dnsmasq_thread_exit_destructor) {
  pthread_t t;
  ASSERT_OK(setenv("GREEN_DNS_CACHE", "0", 1));
  start_dnsmasq();
  ASSERT_EQ(pthread_create(&t, NULL, thread_resolving_at_exit, NULL), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(resolved_at_exit, 1);
  dnsmasq_stop();
}
