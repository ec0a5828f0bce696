/* SPDX-License-Identifier: MIT */
/*
 * tour_blocked: the mistake the watchdog finds (docs/guide.md, "Debugging"). Step 5 with step
 * 1's fetch: the greenlets call libc's connect, write and read, not green_connect,
 * green_write and green_read. libc's calls block the OS thread, and with it the hub and every
 * other greenlet, so the pages come one after another again. Run it with GREEN_WATCHDOG_MS=50
 * and the watchdog names the call that holds the hub.
 *
 *   tour_blocked PORT [PAGES [DELAY_MS]]
 */
#include <green.h>

#include "tour.h"

static tour_t t;

static void *fetch(void *arg) {
  tour_fetch(&t, arg); /* the mistake: blocking libc calls inside a greenlet */
  return NULL;
}

int main(int argc, char **argv) {
  tour_start(&t, argc, argv);
  green_t **g = calloc((size_t)t.pages, sizeof *g);
  if (!g) return 1;
  for (int i = 0; i < t.pages; i++)
    if (!(g[i] = green_spawn(fetch, &t.page[i]))) {
      perror("green_spawn");
      return 1;
    }
  for (int i = 0; i < t.pages; i++) green_join(g[i], NULL, -1);
  free(g);
  return tour_finish(&t, "blocked");
}
