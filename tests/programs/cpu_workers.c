/* SPDX-License-Identifier: MIT */
/*
 * Threads that exist for CPU parallelism: four workers hash disjoint ranges with no
 * blocking call at all, the main thread combines their results. In green mode they run one
 * after another on one OS thread and print exactly the same (only slower on a multi-core
 * machine); --threads=native gives them their cores back.
 */
#include <pthread.h>
#include <stdint.h>

#include "prog.h"

enum { WORKERS = 4, SPAN = 5000000 };

static pthread_barrier_t start;

static void *work(void *arg) {
  uint64_t id = (uint64_t)(uintptr_t)arg, h = 1469598103934665603ull, i;
  pthread_barrier_wait(&start);
  for (i = id * SPAN; i < (id + 1) * SPAN; i++) h = (h ^ i) * 1099511628211ull;
  return (void *)(uintptr_t)h;
}

int main(void) {
  pthread_t t[WORKERS];
  uint64_t all = 0;
  void *r;
  PROG_CHECK(pthread_barrier_init(&start, NULL, WORKERS + 1) == 0);
  for (int i = 0; i < WORKERS; i++)
    PROG_CHECK(pthread_create(&t[i], NULL, work, (void *)(uintptr_t)i) == 0);
  prog_report_threads();
  pthread_barrier_wait(&start);
  for (int i = 0; i < WORKERS; i++) {
    PROG_CHECK(pthread_join(t[i], &r) == 0);
    printf("worker %d: %016llx\n", i, (unsigned long long)(uintptr_t)r);
    all ^= (uint64_t)(uintptr_t)r;
  }
  printf("combined: %016llx\n", (unsigned long long)all);
  return 0;
}
