/* SPDX-License-Identifier: MIT */
/*
 * averager: a running average as a coroutine (Fluent Python's averager). Each value sent in
 * gets the average so far back; the end marker (NULL, i.e. green_gen_next) makes it return
 * its count and average: the StopIteration value.
 *
 *   averager [VALUE...]     (default: 10 30 5)
 */
#include <green.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct result {
  int count;
  double average;
} result_t;

/* arg: where to put the result, which must outlive the generator's stack. */
static void *averager(green_gen_t *gen, void *arg) {
  result_t *res = arg;
  double total = 0, average = 0;
  void *term;
  int count = 0;
  for (;;) {
    if (green_gen_yield(gen, count ? &average : NULL, &term) < 0) return NULL; /* closed */
    if (!term) break; /* the end marker */
    total += *(double *)term;
    average = total / ++count;
  }
  res->count = count;
  res->average = average;
  return res;
}

int main(int argc, char **argv) {
  static const char *dflt[] = {"10", "30", "5"};
  const char **args = argc > 1 ? (const char **)argv + 1 : dflt;
  int n = argc > 1 ? argc - 1 : 3, i;
  result_t res;
  green_gen_t *avg = green_gen_new(averager, &res);
  void *v;
  if (!avg || green_gen_next(avg, NULL) != 1) { /* prime it */
    perror("averager");
    return 1;
  }
  for (i = 0; i < n; i++) {
    double x = strtod(args[i], NULL);
    if (green_gen_send(avg, &x, &v) != 1) {
      perror("send");
      return 1;
    }
    printf("sent %g: average %g\n", x, *(double *)v);
  }
  if (green_gen_next(avg, &v) != 0 || v != &res) { /* the end marker: it returns */
    fprintf(stderr, "averager did not stop\n");
    return 1;
  }
  printf("Result(count=%d, average=%g)\n", res.count, res.average);
  green_gen_free(avg);
  return 0;
}
