/* SPDX-License-Identifier: MIT */
/*
 * producer_consumer: the classic Python coroutine example, with a generator as the consumer.
 *
 *   def consumer():                          def produce(c):
 *       r = ''                                   c.send(None)
 *       while True:                              for n in range(1, 6):
 *           n = yield r                              print('[PRODUCER] Producing %s...' % n)
 *           if not n:                                r = c.send(n)
 *               return                               print('[PRODUCER] Consumer return: %s' % r)
 *           print('[CONSUMER] Consuming %s...' % n)  c.close()
 *           r = '200 OK'
 *
 * The producer and the consumer hand the CPU to each other directly: no scheduler, no queue.
 */
#include <green.h>
#include <stdint.h>
#include <stdio.h>

static void *consumer(green_gen_t *gen, void *arg) {
  const char *r = "";
  void *n;
  (void)arg;
  while (green_gen_yield(gen, (void *)r, &n) == 0) {
    if (!n) return NULL;
    printf("[CONSUMER] Consuming %d...\n", (int)(intptr_t)n);
    r = "200 OK";
  }
  return NULL; /* closed */
}

static int produce(green_gen_t *c) {
  void *r;
  int n;
  if (green_gen_next(c, NULL) != 1) return -1; /* prime it: run to its first yield */
  for (n = 1; n <= 5; n++) {
    printf("[PRODUCER] Producing %d...\n", n);
    if (green_gen_send(c, (void *)(intptr_t)n, &r) != 1) return -1;
    printf("[PRODUCER] Consumer return: %s\n", (const char *)r);
  }
  return green_gen_close(c);
}

int main(void) {
  green_gen_t *c = green_gen_new(consumer, NULL);
  int r;
  if (!c) {
    perror("green_gen_new");
    return 1;
  }
  r = produce(c);
  green_gen_free(c);
  if (r < 0) perror("producer");
  return r < 0;
}
