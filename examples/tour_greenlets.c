/* SPDX-License-Identifier: MIT */
/*
 * tour_greenlets: step 5 of the tour (docs/guide.md). One greenlet per page, on one OS thread.
 * The fetch is step 1's, with green_ in front of each call that may wait. Such a call parks
 * only its greenlet; the hub runs the others and the libev loop of step 4 underneath.
 *
 *   tour_greenlets PORT [PAGES [DELAY_MS]]
 */
#include <green.h>

#include "tour.h"

static tour_t t;

static void *fetch(void *arg) {
  page_t *p = arg;
  char answer[4096];
  size_t n = 0;
  ssize_t r;
  int fd = green_socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return NULL;
  if (green_connect(fd, (const struct sockaddr *)&t.addr, sizeof t.addr) == 0 &&
      green_write(fd, p->request, strlen(p->request)) == (ssize_t)strlen(p->request)) {
    while (n < sizeof answer && (r = green_read(fd, answer + n, sizeof answer - n)) > 0)
      n += (size_t)r;
    tour_answer(p, answer, n);
  }
  green_close(fd);
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
  return tour_finish(&t, "greenlets");
}
