/* SPDX-License-Identifier: MIT */
/* Links against the static libgreen without c-ares (install_test.sh): spawn, sleep, join and a read
 * that parks must not pull the resolver in. */
#include <green.h>
#include <stdio.h>
#include <unistd.h>

static int fds[2];

static void *writer(void *arg) {
  green_sleep(0.01); /* the reader parks first */
  if (green_write(fds[1], "x", 1) != 1) return NULL;
  return arg;
}

int main(void) {
  char c = 0;
  void *r = NULL;
  green_t *g;
  if (pipe(fds) != 0 || !(g = green_spawn(writer, (void *)7))) return 1;
  if (green_read(fds[0], &c, 1) != 1 || green_join(g, &r, -1) != 0) return 1;
  printf("read %c, writer returned %ld\n", c, (long)r);
  return 0;
}
