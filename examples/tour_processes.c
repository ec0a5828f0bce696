/* SPDX-License-Identifier: MIT */
/*
 * tour_processes: step 2 of the tour (docs/guide.md). One child process per page, each
 * running the same blocking fetch. The kernel runs the children side by side, so the waits
 * overlap. Processes share no memory: the pages live in a shared mapping, where each child
 * fills in its own.
 *
 *   tour_processes PORT [PAGES [DELAY_MS]]
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include "tour.h"

static tour_t t;

int main(int argc, char **argv) {
  tour_start(&t, argc, argv);
  page_t *shared = mmap(NULL, (size_t)t.pages * sizeof *shared, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return 1;
  memcpy(shared, t.page, (size_t)t.pages * sizeof *shared);
  free(t.page);
  t.page = shared;
  fflush(stdout); /* the children must not print what the parent buffered */
  for (int i = 0; i < t.pages; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      tour_fetch(&t, &t.page[i]);
      _exit(0);
    }
    if (pid < 0) perror("fork");
  }
  while (wait(NULL) > 0) {
  }
  return tour_finish(&t, "processes");
}
