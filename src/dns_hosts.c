/* SPDX-License-Identifier: MIT */
/*
 * Which names /etc/hosts has, so that lookups of the others skip c-ares's hosts-file pass.
 * That pass opens and reads the whole file for every query. The file is read again when its
 * inode, size or modification time change, checked at most once a second.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dns.h"
#include "internal.h"

#define HOSTS_PATH "/etc/hosts"

struct green__dns_hosts {
  char **names;   /* lower case, sorted */
  size_t n;
  struct stat st; /* of the file read (zeroed: none) */
  double checked; /* when st was last compared with the file's */
};

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void clear(green__dns_hosts_t *t) {
  size_t i;
  for (i = 0; i < t->n; i++) free(t->names[i]);
  free(t->names);
  t->names = NULL;
  t->n = 0;
}

static void lower(char *s) {
  for (; *s; s++) *s = (char)tolower((unsigned char)*s);
}

/* Every name of every line (the fields after the address), into t. Out of memory the
 * index is marked unknown (n = SIZE_MAX): every name then takes the hosts-file pass. */
static void load(green__dns_hosts_t *t, FILE *f) {
  char line[1024], **grown;
  size_t cap = 0;
  while (fgets(line, sizeof line, f)) {
    char *p = strchr(line, '#'), *tok, *save;
    if (p) *p = 0;
    if (!(tok = strtok_r(line, " \t\r\n", &save))) continue; /* the address */
    while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
      if (t->n == cap) {
        cap = cap ? 2 * cap : 64;
        if (!(grown = realloc(t->names, cap * sizeof *grown))) goto nomem;
        t->names = grown;
      }
      if (!(t->names[t->n] = strdup(tok))) goto nomem;
      lower(t->names[t->n++]);
    }
  }
  qsort(t->names, t->n, sizeof *t->names, cmp);
  return;
nomem:
  clear(t);
  t->n = (size_t)-1;
}

static void refresh(green__dns_hosts_t *t, double now) {
  struct stat st;
  FILE *f;
  if (now - t->checked < 1.0) return;
  t->checked = now;
  memset(&st, 0, sizeof st);
  if (stat(HOSTS_PATH, &st) == 0 && st.st_ino == t->st.st_ino && st.st_size == t->st.st_size &&
      st.st_mtim.tv_sec == t->st.st_mtim.tv_sec && st.st_mtim.tv_nsec == t->st.st_mtim.tv_nsec)
    return;
  if (t->n != (size_t)-1) clear(t);
  t->n = 0;
  t->st = st;
  if ((f = fopen(HOSTS_PATH, "re"))) {
    load(t, f);
    fclose(f);
  }
}

green__dns_hosts_t *green__dns_hosts_new(void) { return calloc(1, sizeof(green__dns_hosts_t)); }

void green__dns_hosts_free(green__dns_hosts_t *t) {
  if (!t) return;
  if (t->n != (size_t)-1) clear(t);
  free(t);
}

int green__dns_hosts_may_have(green__dns_hosts_t *t, const char *name, double now) {
  char key[256], *k = key;
  size_t len = strlen(name);
  if (!t) return 1;
  refresh(t, now);
  if (t->n == (size_t)-1 || len == 0 || len >= sizeof key) return 1;
  memcpy(key, name, len + 1);
  if (key[len - 1] == '.') key[len - 1] = 0;
  lower(key);
  /* c-ares answers localhost names itself when the file lacks them (RFC 6761) */
  if (strcmp(key, "localhost") == 0 || (len > 10 && strstr(key, ".localhost") == key + strlen(key) - 10))
    return 1;
  return bsearch(&k, t->names, t->n, sizeof *t->names, cmp) != NULL;
}
