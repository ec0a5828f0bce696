/* SPDX-License-Identifier: MIT */
/*
 * tour_threads: step 3 of the tour (docs/guide.md). One thread per page, each running the
 * same blocking fetch. Threads share memory, so each fills in its page directly. Each thread
 * is an OS thread: a kernel task with its own stack (8 MiB of address space by default).
 *
 *   tour_threads PORT [PAGES [DELAY_MS]]
 */
#include <pthread.h>

#include "tour.h"

static tour_t t;

static void *fetch(void *arg) {
  tour_fetch(&t, arg);
  return NULL;
}

int main(int argc, char **argv) {
  tour_start(&t, argc, argv);
  pthread_t *thread = calloc((size_t)t.pages, sizeof *thread);
  if (!thread) return 1;
  for (int i = 0; i < t.pages; i++)
    if (pthread_create(&thread[i], NULL, fetch, &t.page[i]) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      return 1;
    }
  for (int i = 0; i < t.pages; i++) pthread_join(thread[i], NULL);
  free(thread);
  return tour_finish(&t, "threads");
}
