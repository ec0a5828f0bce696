/* SPDX-License-Identifier: MIT */
/*
 * A program outside libgreen's tree, built against an installed prefix (tests/install_test.sh):
 * a producer greenlet feeds a bounded queue that main drains, then main joins it for its
 * result. It prints what it saw and the version green.h gives, and fails (exit 1) when the
 * version differs from the one the build system found (CONSUMER_EXPECTED_VERSION).
 */
#include <errno.h>
#include <green.h>
#include <stdio.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define HEADER_VERSION                                                                             \
  STR(GREEN_VERSION_MAJOR) "." STR(GREEN_VERSION_MINOR) "." STR(GREEN_VERSION_PATCH)

static void *producer(void *arg) {
  green_queue_t *q = arg;
  long sent = 0;
  for (long i = 1; i <= 5; i++) {
    if (green_queue_put(q, (void *)i, 1.0) < 0) return (void *)-1L;
    sent += i;
  }
  green_queue_close(q);
  return (void *)sent;
}

int main(void) {
  green_queue_t *q = green_queue_new(2); /* bounded: the producer parks while it is full */
  green_t *g;
  void *item, *result = NULL;
  long got = 0;
  if (!q || !(g = green_spawn(producer, q))) return perror("consumer"), 1;
  while (green_queue_get(q, &item, 1.0) == 0) got += (long)item;
  if (errno != EPIPE) return perror("consumer: green_queue_get"), 1;
  if (green_join(g, &result, 1.0) < 0) return perror("consumer: green_join"), 1;
  green_queue_free(q);
  printf("received %ld, producer sent %ld\n", got, (long)result);
  printf("libgreen %s\n", HEADER_VERSION);
  if (strcmp(HEADER_VERSION, CONSUMER_EXPECTED_VERSION) != 0) {
    fprintf(stderr, "consumer: green.h says %s, the package %s\n", HEADER_VERSION,
            CONSUMER_EXPECTED_VERSION);
    return 1;
  }
  return got == 15 && (long)result == 15 ? 0 : 1;
}
