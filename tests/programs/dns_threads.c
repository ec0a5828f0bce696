/* SPDX-License-Identifier: MIT */
/*
 * N threads resolve n<i>.test with getaddrinfo at once, against a DNS server that answers
 * each question after a delay (tests/preload/slow_dns.py): the lookups overlap, so they
 * take about one delay in all, not N. Prints each thread's answer.
 *
 *   dns_threads N
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>

#include "prog.h"

static long started;

typedef struct lookup {
  long id;
  int rc;
  char addr[INET_ADDRSTRLEN];
} lookup_t;

static void *resolve(void *arg) {
  lookup_t *l = arg;
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
  char name[32];
  snprintf(name, sizeof name, "n%ld.test", l->id);
  __atomic_add_fetch(&started, 1, __ATOMIC_RELEASE);
  if ((l->rc = getaddrinfo(name, "80", &hints, &res)) == 0) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, l->addr, sizeof l->addr);
    freeaddrinfo(res);
  }
  return NULL;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100;
  pthread_t *t;
  lookup_t *l;
  struct addrinfo hints = {.ai_family = AF_INET}, *res;
  double t0;
  PROG_CHECK(n > 0 && (t = calloc((size_t)n, sizeof *t)) && (l = calloc((size_t)n, sizeof *l)));
  t0 = prog_now();
  for (long i = 0; i < n; i++) {
    l[i].id = i;
    PROG_CHECK(pthread_create(&t[i], NULL, resolve, &l[i]) == 0);
  }
  while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < n) usleep(1000);
  usleep(100000); /* the lookups are under way */
  prog_report_threads();
  for (long i = 0; i < n; i++) PROG_CHECK(pthread_join(t[i], NULL) == 0);
  printf("TOOK %.3f\n", prog_now() - t0);
  for (long i = 0; i < n; i++)
    printf("n%ld.test: %s\n", i, l[i].rc ? gai_strerror(l[i].rc) : l[i].addr);
  printf("unknown.test: %s\n", gai_strerror(getaddrinfo("unknown.test", NULL, &hints, &res)));
  free(t);
  free(l);
  return 0;
}
