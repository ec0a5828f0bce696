/* SPDX-License-Identifier: MIT */
/*
 * The per-hub answer cache: a small hash table with least-recently-used eviction. Positive
 * answers live for their smallest TTL. Hosts-file answers carry no TTL and are never kept, so
 * edits to the file show at once. NXDOMAIN and no-data answers live for NEGATIVE_TTL. The reason:
 * c-ares 1.18's getaddrinfo does not hand over the SOA record that would say how long.
 * GREEN_DNS_CACHE=0 turns it off.
 */
#include <ctype.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "internal.h"
#include "list.h"

enum { BUCKETS = 256, MAX_ENTRIES = 512, NEGATIVE_TTL = 5 };

typedef struct entry {
  green__list_t lru;           /* most recently used first */
  struct entry *next;          /* in its bucket */
  uint32_t hash;
  int family;
  int status;                  /* 0 or the negative EAI_* answer */
  double expires;
  green__dns_answer_t *answer; /* status 0 only */
  char name[];                 /* lower case */
} entry_t;

struct green__dns_cache {
  entry_t *buckets[BUCKETS];
  green__list_t lru;
  size_t count;
};

green__dns_cache_t *green__dns_cache_new(void) {
  const char *env = getenv("GREEN_DNS_CACHE");
  green__dns_cache_t *c;
  if (env && strcmp(env, "0") == 0) return NULL;
  if (!(c = calloc(1, sizeof *c))) return NULL;
  green__list_init(&c->lru);
  return c;
}

static uint32_t hash_of(const char *name, int family) {
  uint32_t h = 2166136261u ^ (uint32_t)family;
  for (; *name; name++) h = (h ^ (uint32_t)tolower((unsigned char)*name)) * 16777619u;
  return h;
}

static entry_t **find(green__dns_cache_t *c, const char *name, int family, uint32_t hash) {
  entry_t **pp = &c->buckets[hash % BUCKETS], *e;
  while ((e = *pp) && !(e->hash == hash && e->family == family && strcasecmp(e->name, name) == 0))
    pp = &e->next;
  return pp;
}

static void drop(green__dns_cache_t *c, entry_t **pp) {
  entry_t *e = *pp;
  *pp = e->next;
  green__list_remove(&e->lru);
  green__dns_answer_release(e->answer);
  free(e);
  c->count--;
}

void green__dns_cache_free(green__dns_cache_t *c) {
  size_t i;
  if (!c) return;
  for (i = 0; i < BUCKETS; i++)
    while (c->buckets[i]) drop(c, &c->buckets[i]);
  free(c);
}

int green__dns_cache_get(green__dns_cache_t *c, const char *name, int family, double now,
                         int *status, green__dns_answer_t **out) {
  entry_t **pp = find(c, name, family, hash_of(name, family)), *e = *pp;
  if (!e) return 0;
  if (now >= e->expires) {
    drop(c, pp);
    return 0;
  }
  green__list_remove(&e->lru);
  green__list_push_front(&c->lru, &e->lru);
  *status = e->status;
  if (!e->status) {
    e->answer->refs++;
    *out = e->answer;
  }
  return 1;
}

static void evict_oldest(green__dns_cache_t *c) {
  entry_t *e = green__container_of(c->lru.prev, entry_t, lru);
  drop(c, find(c, e->name, e->family, e->hash));
}

void green__dns_cache_put(green__dns_cache_t *c, const char *name, int family, double now,
                          int status, green__dns_answer_t *a) {
  uint32_t hash = hash_of(name, family);
  size_t len = strlen(name), i;
  int ttl = status ? NEGATIVE_TTL : a->ttl;
  entry_t **pp, *e;
  if (ttl <= 0) return;
  if (*(pp = find(c, name, family, hash))) drop(c, pp);
  if (c->count == MAX_ENTRIES) evict_oldest(c);
  if (!(e = malloc(sizeof *e + len + 1))) return;
  for (i = 0; i <= len; i++) e->name[i] = (char)tolower((unsigned char)name[i]);
  e->hash = hash;
  e->family = family;
  e->status = status;
  e->expires = now + ttl;
  e->answer = status ? NULL : a;
  if (a && !status) a->refs++;
  e->next = c->buckets[hash % BUCKETS];
  c->buckets[hash % BUCKETS] = e;
  green__list_push_front(&c->lru, &e->lru);
  c->count++;
}
