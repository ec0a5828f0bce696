/* SPDX-License-Identifier: MIT */
/*
 * Lookups per second against a DNS server, by libgreen (greenlets on one thread, each
 * looping green_getaddrinfo) or by glibc (threads looping getaddrinfo). Names h0.bench ..
 * h<n-1>.bench are asked in turn, AF_INET + SOCK_STREAM: one A query per lookup on both
 * sides. Both read the same resolv.conf; scripts/bench gives them one that points at its
 * dnsmasq. Prints RESULT dns_<mode>_per_s=... (lookups per second) and dns_<mode>_cpu_us=...
 * (user + system CPU of the whole process per lookup), and the failures seen. With -s, the
 * server's process too (from /proc/<pid>/schedstat): its CPU per lookup
 * (dns_<mode>_server_cpu_us), the cores both processes had between them (dns_<mode>_cores),
 * and how long the server waited for a CPU while it had work: on a shared machine the other
 * load, not the resolver, may be what each side waits for. Also the UDP datagrams that found
 * a socket's receive buffer full meanwhile (the network namespace's RcvbufErrors): each is a
 * lookup that waits a whole timeout for its retransmission.
 *
 * usage: dns_bench -m green|glibc [-c concurrency] [-d seconds] [-n names] [-s server-pid]
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
static int server_pid;
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

/* 1 with the server's CPU time and run-queue wait so far, in seconds; 0 when unknown. */
static int server_sched(double *cpu, double *wait) {
  char path[64];
  unsigned long long c, w;
  FILE *f;
  int ok;
  snprintf(path, sizeof path, "/proc/%d/schedstat", server_pid);
  if (!server_pid || !(f = fopen(path, "r"))) return 0;
  ok = fscanf(f, "%llu %llu", &c, &w) == 2;
  fclose(f);
  *cpu = (double)c * 1e-9;
  *wait = (double)w * 1e-9;
  return ok;
}

/* The UDP datagrams dropped so far for want of receive buffer (/proc/net/snmp), or -1. */
static long rcvbuf_errors(void) {
  char head[512], vals[512], *h, *v, *hs, *vs;
  long r = -1;
  FILE *f = fopen("/proc/net/snmp", "r");
  if (!f) return -1;
  while (fgets(head, sizeof head, f) && fgets(vals, sizeof vals, f)) {
    if (strncmp(head, "Udp:", 4) != 0) continue;
    h = strtok_r(head, " \n", &hs);
    v = strtok_r(vals, " \n", &vs);
    while (h && v && strcmp(h, "RcvbufErrors") != 0) {
      h = strtok_r(NULL, " \n", &hs);
      v = strtok_r(NULL, " \n", &vs);
    }
    if (h && v) r = atol(v);
    break;
  }
  fclose(f);
  return r;
}

static void run(const char *mode, int concurrency, double seconds) {
  int use_green = strcmp(mode, "green") == 0, i;
  green_t **gs = NULL;
  pthread_t *ts = NULL;
  double t0, cpu0, cpu, scpu0 = 0, swait0 = 0, scpu, swait;
  long n, drops0, drops;
  int server;
  one(use_green); /* warm up: the resolver's set-up is not counted */
  atomic_store(&done, 0);
  server = server_sched(&scpu0, &swait0);
  drops0 = rcvbuf_errors();
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
  cpu = cpu_seconds() - cpu0;
  server = server && server_sched(&scpu, &swait);
  drops = rcvbuf_errors();
  n = atomic_load(&done);
  printf("%s, %d %s: %ld lookups in %.2f s, %ld failed\n", mode, concurrency,
         use_green ? "greenlets on one thread" : "threads", n, t0, atomic_load(&failed));
  if (server)
    printf("server: %.2f s of CPU, %.2f s runnable but waiting for a CPU\n", scpu - scpu0,
           swait - swait0);
  if (drops0 >= 0 && drops >= 0)
    printf("UDP datagrams dropped, receive buffer full: %ld\n", drops - drops0);
  printf("RESULT dns_%s_per_s=%.0f\n", mode, (double)n / t0);
  if (n) printf("RESULT dns_%s_cpu_us=%.1f\n", mode, cpu * 1e6 / (double)n);
  if (n && server) {
    printf("RESULT dns_%s_server_cpu_us=%.1f\n", mode, (scpu - scpu0) * 1e6 / (double)n);
    printf("RESULT dns_%s_cores=%.2f\n", mode, (cpu + scpu - scpu0) / t0);
  }
  free(gs);
  free(ts);
}

int main(int argc, char **argv) {
  const char *mode = "green";
  int concurrency = 1000, c;
  double seconds = 2;
  while ((c = getopt(argc, argv, "m:c:d:n:s:")) != -1) {
    switch (c) {
    case 'm': mode = optarg; break;
    case 'c': concurrency = atoi(optarg); break;
    case 'd': seconds = atof(optarg); break;
    case 'n': names = atoi(optarg); break;
    case 's': server_pid = atoi(optarg); break;
    default:
      fprintf(stderr, "usage: %s -m green|glibc [-c n] [-d s] [-n names] [-s server-pid]\n",
              argv[0]);
      return 2;
    }
  }
  if (concurrency < 1 || names < 1 || seconds <= 0) return 2;
  run(mode, concurrency, seconds);
  return atomic_load(&done) ? 0 : 1;
}
