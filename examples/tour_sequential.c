/* SPDX-License-Identifier: MIT */
/*
 * tour_sequential: step 1 of the tour (docs/guide.md). The pages one after another: each
 * connect, write and read waits, and the program with it. The time is the sum of the server's
 * delays.
 *
 *   tour_sequential PORT [PAGES [DELAY_MS]]
 */
#include "tour.h"

static tour_t t;

int main(int argc, char **argv) {
  tour_start(&t, argc, argv);
  for (int i = 0; i < t.pages; i++) tour_fetch(&t, &t.page[i]);
  return tour_finish(&t, "sequential");
}
