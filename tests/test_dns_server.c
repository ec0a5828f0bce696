/* SPDX-License-Identifier: MIT */
/* The resolver against a DNS server of our own (tests/dns_server.h) that answers late, not at
 * all, or wrongly: concurrency on one thread, timeouts, kill and deadlines, truncated,
 * malformed and oversized answers. */
#include <netdb.h>
#include <stdint.h>

#include "test.h"
#include "dns_server.h"

#include "../src/posix.h" /* the gethostbyname family the shim uses */

static dns_server_t server;

/* The server started in mode, and the resolver pointed at it with resolv.conf's options
 * (RES_OPTIONS). */
static void start(dns_mode_t mode, double delay, const char *res_options) {
  char servers[32];
  dns_server_start(&server, mode, delay);
  snprintf(servers, sizeof servers, "127.0.0.1:%u", server.port);
  ASSERT_OK(setenv("GREEN_DNS_SERVERS", servers, 1));
  if (res_options) ASSERT_OK(setenv("RES_OPTIONS", res_options, 1));
}

/* getaddrinfo(name, AF_INET): its code, and the address in *addr on success. */
static int lookup(const char *name, struct in_addr *addr) {
  struct addrinfo h, *res = NULL;
  int r;
  memset(&h, 0, sizeof h);
  h.ai_family = AF_INET;
  h.ai_socktype = SOCK_DGRAM;
  r = green_getaddrinfo(name, "53", &h, &res);
  if (r == 0) {
    if (addr) *addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    ASSERT_PTR_EQ(res->ai_next, NULL);
    green_freeaddrinfo(res);
  }
  return r;
}

static void *lookup_indexed(void *arg) {
  int i = (int)(intptr_t)arg;
  char name[32];
  struct in_addr a;
  snprintf(name, sizeof name, "n%d.test", i);
  ASSERT_EQ(lookup(name, &a), 0);
  ASSERT_EQ(ntohl(a.s_addr), 0x7f000000u | (unsigned)(i / 250) << 8 | (unsigned)(i % 250 + 1));
  return NULL;
}

/* 500 lookups answered after 200 ms each: sequentially 100 s; 64 at a time (a thread's
 * queries in flight), 8 rounds of 0.2 s. */
TEST_CASE(slow_500_concurrent) {
  enum { N = 500 };
  static green_t *g[N];
  double t0;
  int i;
  start(DNS_ANSWER, 0.2, NULL);
  t0 = test_now();
  for (i = 0; i < N; i++) ASSERT_PTR_NE(g[i] = green_spawn(lookup_indexed, (void *)(intptr_t)i), NULL);
  ASSERT_OK(green_joinall(g, N, 10));
  ASSERT_RANGE(test_now() - t0, 1.5, 5.0);
  ASSERT_EQ(server.queries, N);
  ASSERT_EQ(server.max_outstanding, 64);
  dns_server_stop(&server);
}

static void *ticker(void *arg) {
  int *ticks = arg;
  while (green_sleep(0.01) == 0) ++*ticks;
  return NULL;
}

/* While a greenlet waits for an answer, the others run. */
TEST_CASE(lookup_parks_only_its_greenlet) {
  int ticks = 0;
  green_t *t;
  struct hostent *he;
  start(DNS_ANSWER, 0.3, NULL);
  ASSERT_PTR_NE(t = green_spawn(ticker, &ticks), NULL);
  ASSERT_PTR_NE(he = green__gethostbyname("n7.test"), NULL);
  ASSERT_EQ(((struct in_addr *)he->h_addr_list[0])->s_addr, htonl(0x7f000008));
  ASSERT_GE(ticks, 10);
  ASSERT_OK(green_kill(t));
  ASSERT_OK(green_join(t, NULL, 1));
  dns_server_stop(&server);
}

/* timeout:1 attempts:2 in resolv.conf's terms: a try of 1 s, a second of 2 s, then EAI_AGAIN. */
TEST_CASE(silent_server_timeout) {
  double t0;
  start(DNS_SILENT, 0, "timeout:1 attempts:2");
  t0 = test_now();
  ASSERT_EQ(lookup("n1.test", NULL), EAI_AGAIN);
  ASSERT_RANGE(test_now() - t0, 2.9, 5.0);
  ASSERT_EQ(server.queries, 2);
  dns_server_stop(&server);
}

static void *lookup_result(void *arg) {
  int r = lookup((const char *)arg, NULL);
  return (void *)(intptr_t)(r == EAI_SYSTEM ? -errno : r);
}

/* A killed greenlet returns at once, and its query is cancelled: no retransmission. */
TEST_CASE(kill_cancels_query) {
  green_t *g;
  void *r;
  double t0;
  start(DNS_SILENT, 0, "timeout:1 attempts:3");
  ASSERT_PTR_NE(g = green_spawn(lookup_result, "n1.test"), NULL);
  ASSERT_OK(green_sleep(0.2));
  ASSERT_EQ(server.queries, 1);
  t0 = test_now();
  ASSERT_OK(green_kill(g));
  ASSERT_OK(green_join(g, &r, 1));
  ASSERT_EQ((intptr_t)r, -ECANCELED);
  ASSERT_RANGE(test_now() - t0, 0, 0.1);
  ASSERT_OK(green_sleep(1.5)); /* past the first retransmission */
  ASSERT_EQ(server.queries, 1);
  dns_server_stop(&server);
}

/* Killing one of two waiters leaves the other's query alone. */
TEST_CASE(kill_one_of_two) {
  green_t *a, *b;
  void *ra, *rb;
  start(DNS_SILENT, 0, "timeout:1 attempts:1");
  ASSERT_PTR_NE(a = green_spawn(lookup_result, "n1.test"), NULL);
  ASSERT_PTR_NE(b = green_spawn(lookup_result, "n2.test"), NULL);
  ASSERT_OK(green_sleep(0.1));
  ASSERT_OK(green_kill(a));
  ASSERT_OK(green_join(a, &ra, 1));
  ASSERT_EQ((intptr_t)ra, -ECANCELED);
  ASSERT_OK(green_join(b, &rb, 3));
  ASSERT_EQ((intptr_t)rb, EAI_AGAIN);
  dns_server_stop(&server);
}

TEST_CASE(scoped_deadline) {
  green_deadline_t d;
  double t0;
  start(DNS_SILENT, 0, "timeout:5 attempts:1");
  t0 = test_now();
  ASSERT_OK(green_deadline_enter(&d, 0.3));
  ASSERT_EQ(lookup("n1.test", NULL), EAI_SYSTEM);
  ASSERT_EQ(errno, ETIMEDOUT);
  ASSERT_TRUE(green_deadline_expired(&d));
  ASSERT_OK(green_deadline_leave(&d));
  ASSERT_RANGE(test_now() - t0, 0.3, 1.0);
  dns_server_stop(&server);
}

/* TC over UDP: c-ares asks again over TCP and gets the answer there. */
TEST_CASE(truncated_retries_over_tcp) {
  struct in_addr a;
  start(DNS_TRUNCATED, 0, "timeout:1 attempts:1");
  ASSERT_EQ(lookup("n3.test", &a), 0);
  ASSERT_EQ(ntohl(a.s_addr), 0x7f000004u);
  ASSERT_EQ(server.queries, 1);
  ASSERT_EQ(server.tcp_queries, 1);
  dns_server_stop(&server);
}

TEST_CASE(truncated_then_tcp_garbage) {
  start(DNS_TRUNCATED, 0, "timeout:1 attempts:1");
  server.tcp_mode = DNS_GARBAGE;
  ASSERT_EQ(lookup("n3.test", NULL), EAI_AGAIN); /* the connection breaks: no answer */
  ASSERT_GE(server.tcp_queries, 1);
  dns_server_stop(&server);
}

/* Every kind of malformed answer gives an error, never a crash (AddressSanitizer watches);
 * answers c-ares cannot match to the query are dropped, so those time out. */
TEST_CASE(malformed_answers) {
  static const struct {
    dns_mode_t mode;
    int expected;
  } cases[] = {{DNS_SHORT, EAI_AGAIN},        {DNS_BAD_COUNT, EAI_FAIL},
               {DNS_POINTER_LOOP, EAI_FAIL},  {DNS_BAD_RDLENGTH, EAI_FAIL},
               {DNS_WRONG_QUESTION, EAI_AGAIN}, {DNS_GARBAGE, EAI_AGAIN}};
  size_t i;
  start(DNS_ANSWER, 0, "timeout:1 attempts:1");
  for (i = 0; i < sizeof cases / sizeof *cases; i++) {
    char name[16];
    int r;
    server.mode = cases[i].mode;
    snprintf(name, sizeof name, "n%d.test", (int)i);
    r = lookup(name, NULL);
    if (r != cases[i].expected)
      TEST_FAIL("mode %d: %d (%s), expected %d", cases[i].mode, r, gai_strerror(r), cases[i].expected);
  }
  server.mode = DNS_ANSWER;
  ASSERT_EQ(lookup("n9.test", NULL), 0); /* the channel is still fine */
  dns_server_stop(&server);
}

/* A 48 KB answer does not fit c-ares's UDP buffer (4 KB): it asks again over TCP, where all
 * 3,000 addresses arrive. */
TEST_CASE(oversized_answer) {
  struct addrinfo h, *res, *ai;
  int n = 0;
  start(DNS_OVERSIZED, 0, "timeout:1 attempts:1");
  server.tcp_mode = DNS_OVERSIZED;
  memset(&h, 0, sizeof h);
  h.ai_family = AF_INET;
  h.ai_socktype = SOCK_STREAM;
  ASSERT_EQ(green_getaddrinfo("n1.test", "80", &h, &res), 0);
  for (ai = res; ai; ai = ai->ai_next) n++;
  ASSERT_EQ(n, 3000);
  ASSERT_EQ(server.queries, 1);
  ASSERT_EQ(server.tcp_queries, 1);
  green_freeaddrinfo(res);
  dns_server_stop(&server);
}

/* A 64 KB answer (UDP, then TCP) that claims more records than it holds. */
TEST_CASE(huge_lying_answer) {
  start(DNS_HUGE, 0, "timeout:1 attempts:1");
  server.tcp_mode = DNS_HUGE;
  ASSERT_EQ(lookup("n1.test", NULL), EAI_FAIL);
  ASSERT_EQ(server.tcp_queries, 1);
  dns_server_stop(&server);
}

TEST_CASE(bad_server_list) {
  ASSERT_OK(setenv("GREEN_DNS_SERVERS", "127.0.0.1:x,,", 1));
  ASSERT_EQ(lookup("n1.test", NULL), EAI_SYSTEM);
  ASSERT_EQ(errno, EINVAL);
}
