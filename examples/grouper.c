/* SPDX-License-Identifier: MIT */
/*
 * grouper: delegation to sub-generators (Python's `yield from`), Fluent Python's example:
 *
 *   def grouper(results, key):
 *       while True:
 *           results[key] = yield from averager()
 *
 *   for key, values in data.items():
 *       group = grouper(results, key); next(group)
 *       for value in values: group.send(value)
 *       group.send(None)            # the end marker: this averager returns, the next starts
 *   report(results)
 *
 * The caller only ever talks to the grouper; every value goes through it to the averager it
 * delegates to, and each averager's result lands in the results table.
 */
#include <green.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct result {
  int count;
  double average;
} result_t;

typedef struct entry { /* the results "dict" */
  const char *key;
  result_t result;
} entry_t;

typedef struct group {
  entry_t *entry;
  result_t scratch; /* where the current averager puts its result */
} group_t;

static void *averager(green_gen_t *gen, void *arg) {
  result_t *res = arg;
  double total = 0, average = 0;
  void *term;
  int count = 0;
  for (;;) {
    if (green_gen_yield(gen, count ? &average : NULL, &term) < 0) return NULL;
    if (!term) break;
    total += *(double *)term;
    average = total / ++count;
  }
  res->count = count;
  res->average = average;
  return res;
}

static void *grouper(green_gen_t *gen, void *arg) {
  group_t *g = arg;
  for (;;) {
    green_gen_t *avg = green_gen_new(averager, &g->scratch);
    void *res;
    int r = avg ? green_gen_yield_from(gen, avg, &res) : -1;
    green_gen_free(avg);
    if (r < 0) return NULL; /* closed (or out of memory) */
    g->entry->result = *(result_t *)res;
  }
}

static const struct {
  const char *key;
  double values[10];
  int n;
} data[] = {
  {"girls;kg", {40.9, 38.5, 44.3, 42.2, 45.2, 41.7, 44.5, 38.0, 40.6, 44.5}, 10},
  {"girls;m", {1.6, 1.51, 1.4, 1.3, 1.41, 1.39, 1.33, 1.46, 1.45, 1.43}, 10},
  {"boys;kg", {39.0, 40.8, 43.2, 40.8, 43.1, 38.6, 41.4, 40.6, 36.3}, 9},
  {"boys;m", {1.38, 1.5, 1.32, 1.25, 1.37, 1.48, 1.25, 1.49, 1.46}, 9},
};
enum { NKEYS = sizeof data / sizeof data[0] };

static int by_key(const void *a, const void *b) {
  return strcmp(((const entry_t *)a)->key, ((const entry_t *)b)->key);
}

static void report(entry_t *results, int n) {
  int i;
  qsort(results, (size_t)n, sizeof *results, by_key);
  for (i = 0; i < n; i++) {
    const char *semi = strchr(results[i].key, ';');
    printf("%2d %-5.*s averaging %.2f%s\n", results[i].result.count,
           (int)(semi - results[i].key), results[i].key, results[i].result.average, semi + 1);
  }
}

int main(void) {
  entry_t results[NKEYS];
  group_t groups[NKEYS];
  int i, j;
  for (i = 0; i < NKEYS; i++) {
    green_gen_t *group;
    results[i].key = data[i].key;
    groups[i].entry = &results[i];
    if (!(group = green_gen_new(grouper, &groups[i])) || green_gen_next(group, NULL) != 1) {
      perror("grouper");
      return 1;
    }
    for (j = 0; j < data[i].n; j++) green_gen_send(group, (void *)&data[i].values[j], NULL);
    green_gen_send(group, NULL, NULL); /* this averager ends; the grouper starts another */
    green_gen_free(group);             /* closes the grouper, which closes that averager */
  }
  report(results, NKEYS);
  return 0;
}
