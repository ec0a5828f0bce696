/* SPDX-License-Identifier: MIT */
/*
 * tour.h: what the steps of the tour share (docs/guide.md). Every step fetches the same pages
 * from green-httpd on 127.0.0.1 and prints the same lines. Only the way the waits overlap
 * differs: one after another, processes, threads, callbacks, greenlets.
 *
 *   tour_<step> PORT [PAGES [DELAY_MS]]      defaults: 100 pages, 100 ms
 *
 * Page i (from 0) is /delay/<DELAY_MS + i % 7>: the server waits that many ms, then answers
 * "delayed <ms> ms\n". Each page is one HTTP/1.0 GET on its own connection, read until the
 * server closes it. stdout gets one line per page (body size, FNV-1a checksum) and a total;
 * stderr gets the wall time and the CPU time (the children's too). The exit status is 0 when
 * every page came back with 200.
 */
#ifndef TOUR_H
#define TOUR_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct page {
  char path[32];
  char request[96]; /* the whole GET */
  int ok;           /* 1 once a 200 answer came */
  size_t bytes;     /* of the body */
  uint64_t sum;     /* FNV-1a 64 of the body */
} page_t;

typedef struct tour {
  struct sockaddr_in addr; /* green-httpd's */
  int pages;
  page_t *page;
  double start;
} tour_t;

static inline double tour_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Read the arguments, lay out the pages and start the clock. Exits on bad usage. */
static inline void tour_start(tour_t *t, int argc, char **argv) {
  int delay = argc > 3 ? atoi(argv[3]) : 100;
  if (argc < 2 || argc > 4 || atoi(argv[1]) <= 0 || delay < 0) {
    fprintf(stderr, "usage: %s PORT [PAGES [DELAY_MS]]\n", argv[0]);
    exit(2);
  }
  t->addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  t->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  t->pages = argc > 2 ? atoi(argv[2]) : 100;
  if (t->pages <= 0 || t->pages > 10000) exit(2);
  t->page = calloc((size_t)t->pages, sizeof *t->page);
  if (!t->page) exit(1);
  for (int i = 0; i < t->pages; i++) {
    page_t *p = &t->page[i];
    snprintf(p->path, sizeof p->path, "/delay/%d", delay + i % 7);
    snprintf(p->request, sizeof p->request, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", p->path);
  }
  t->start = tour_now();
}

/* Take a whole answer (head and body): check its status, measure its body. */
static inline void tour_answer(page_t *p, const char *answer, size_t n) {
  const char *body = memmem(answer, n, "\r\n\r\n", 4);
  if (!body || n < 12 || memcmp(answer + 8, " 200 ", 5) != 0) return;
  body += 4;
  p->bytes = n - (size_t)(body - answer);
  p->sum = 14695981039346656037ull;
  for (size_t i = 0; i < p->bytes; i++) p->sum = (p->sum ^ (uint8_t)body[i]) * 1099511628211ull;
  p->ok = 1;
}

static inline double tour_tv(struct timeval tv) {
  return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* User and system CPU time of the process and of its children waited for, in seconds. */
static inline double tour_cpu(void) {
  struct rusage self, children;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &children);
  return tour_tv(self.ru_utime) + tour_tv(self.ru_stime) + tour_tv(children.ru_utime) +
         tour_tv(children.ru_stime);
}

/* Print the pages in order (stdout) and the times taken (stderr); the exit status. */
static inline int tour_finish(const tour_t *t, const char *step) {
  double seconds = tour_now() - t->start;
  size_t bytes = 0;
  int failed = 0;
  for (int i = 0; i < t->pages; i++) {
    const page_t *p = &t->page[i];
    if (p->ok)
      printf("page %d %s: %zu bytes, fnv1a %016llx\n", i, p->path, p->bytes,
             (unsigned long long)p->sum);
    else printf("page %d %s: failed\n", i, p->path);
    bytes += p->bytes;
    failed += !p->ok;
  }
  printf("%d pages, %zu bytes, %d failed\n", t->pages, bytes, failed);
  fprintf(stderr, "%s: %d pages in %.3f s, %.3f s of CPU\n", step, t->pages, seconds, tour_cpu());
  return failed ? 1 : 0;
}

/* Fetch one page with plain blocking calls: each of them waits, and the caller with it. */
static inline void tour_fetch(const tour_t *t, page_t *p) {
  char answer[4096];
  size_t n = 0;
  ssize_t r;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  if (connect(fd, (const struct sockaddr *)&t->addr, sizeof t->addr) == 0 &&
      write(fd, p->request, strlen(p->request)) == (ssize_t)strlen(p->request)) {
    while (n < sizeof answer && (r = read(fd, answer + n, sizeof answer - n)) > 0) n += (size_t)r;
    tour_answer(p, answer, n);
  }
  close(fd);
}

#endif /* TOUR_H */
