/*
 * Lookups per second against a DNS server, by libgreen (greenlets on one thread, each
 * looping green_getaddrinfo) or by glibc (threads looping getaddrinfo). Names h0.bench ..
 * h<n-1>.bench are asked in turn, AF_INET + SOCK_STREAM: one A query per lookup on both
 * sides. Both read the same resolv.conf; scripts/bench gives them one that points at its
 * dnsmasq. Prints RESULT dns_<mode>_per_s=... (lookups per second) and dns_<mode>_cpu_us=...
 * (user + system CPU of the whole process per lookup), and the failures seen.
 *
 * usage: dns_bench -m green|glibc [-c concurrency] [-d seconds] [-n names]
 */
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "green.h"

static int names = 1000;
static double deadline;
static atomic_long done, failed, next_name;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int one(int use_green) {
  struct addrinfo h, *res = NULL;
  char name[32];
  int r;
  memset(&h, 0, sizeof h);
  h.ai_family = AF_INET;
  h.ai_socktype = SOCK_STREAM;
  snprintf(name, sizeof name, "h%ld.bench", atomic_fetch_add(&next_name, 1) % names);
  r = use_green ? green_getaddrinfo(name, "80", &h, &res) : getaddrinfo(name, "80", &h, &res);
  if (r == 0) {
    if (use_green) green_freeaddrinfo(res);
    else freeaddrinfo(res);
  }
  return r;
}

static void *worker(void *arg) {
  int use_green = arg != NULL;
  while (now() < deadline) {
    if (one(use_green) == 0) atomic_fetch_add(&done, 1);
    else atomic_fetch_add(&failed, 1);
  }
  return NULL;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static void run(const char *mode, int concurrency, double seconds) {
  int use_green = strcmp(mode, "green") == 0, i;
  green_t **gs = NULL;
  pthread_t *ts = NULL;
  double t0, cpu0;
  one(use_green); /* warm up: the resolver's set-up is not counted */
  atomic_store(&done, 0);
  cpu0 = cpu_seconds();
  t0 = now();
  deadline = t0 + seconds;
  if (use_green) {
    gs = calloc((size_t)concurrency, sizeof *gs);
    for (i = 0; i < concurrency; i++)
      if (!(gs[i] = green_spawn(worker, (void *)1))) exit(1);
    if (green_joinall(gs, (size_t)concurrency, seconds + 30) < 0) perror("green_joinall"), exit(1);
  } else {
    ts = calloc((size_t)concurrency, sizeof *ts);
    for (i = 0; i < concurrency; i++)
      if (pthread_create(&ts[i], NULL, worker, NULL) != 0) exit(1);
    for (i = 0; i < concurrency; i++) pthread_join(ts[i], NULL);
  }
  t0 = now() - t0;
  printf("%s, %d %s: %ld lookups in %.2f s, %ld failed\n", mode, concurrency,
         use_green ? "greenlets on one thread" : "threads", atomic_load(&done), t0,
         atomic_load(&failed));
  printf("RESULT dns_%s_per_s=%.0f\n", mode, (double)atomic_load(&done) / t0);
  if (atomic_load(&done))
    printf("RESULT dns_%s_cpu_us=%.1f\n", mode,
           (cpu_seconds() - cpu0) * 1e6 / (double)atomic_load(&done));
  free(gs);
  free(ts);
}

int main(int argc, char **argv) {
  const char *mode = "green";
  int concurrency = 1000, c;
  double seconds = 2;
  while ((c = getopt(argc, argv, "m:c:d:n:")) != -1) {
    switch (c) {
    case 'm': mode = optarg; break;
    case 'c': concurrency = atoi(optarg); break;
    case 'd': seconds = atof(optarg); break;
    case 'n': names = atoi(optarg); break;
    default: fprintf(stderr, "usage: %s -m green|glibc [-c n] [-d s] [-n names]\n", argv[0]); return 2;
    }
  }
  if (concurrency < 1 || names < 1 || seconds <= 0) return 2;
  run(mode, concurrency, seconds);
  return atomic_load(&done) ? 0 : 1;
}
