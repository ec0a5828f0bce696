/* SPDX-License-Identifier: MIT */
/*
 * The allocation seam (alloc.h). The parenthesized names below call libc's functions, past
 * the macros of alloc.h.
 */
#include "alloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

enum { ENV_UNREAD = -1, ENV_BY_FUNCTION = -2 };

/* Armed by GREEN_FAULT_ALLOC=n: the process's nth allocation fails, and says so on stderr.
 * GREEN_FAULT_ALLOC=function[:k]: the process's kth allocation (1st by default) made in that
 * function fails instead (ENV_BY_FUNCTION). */
static atomic_long env_fail_at = ENV_UNREAD;
static atomic_long env_counted, env_fn_counted;
static char env_fn[64];
static long env_fn_at;
/* Armed by a test: the nth allocation of the arming thread fails. Initial-exec: read at
 * every allocation, it must not cost a call to __tls_get_addr. */
static __thread long fail_at __attribute__((tls_model("initial-exec")));
static __thread long counted;
static __thread const char *failed_site, *failed_fn;

static long env_armed(void) {
  long at = atomic_load_explicit(&env_fail_at, memory_order_relaxed), unread = ENV_UNREAD;
  const char *v;
  if (__builtin_expect(at != ENV_UNREAD, 1)) return at;
  v = getenv("GREEN_FAULT_ALLOC");
  at = v ? atol(v) : 0;
  if (at < 0) at = 0;
  if (v && (*v == '_' || (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z'))) {
    size_t len = strcspn(v, ":");
    if (len >= sizeof env_fn) len = sizeof env_fn - 1;
    memcpy(env_fn, v, len);
    env_fn[len] = '\0';
    env_fn_at = v[len] == ':' ? atol(v + len + 1) : 1;
    at = env_fn_at > 0 ? ENV_BY_FUNCTION : 0;
  }
  atomic_compare_exchange_strong(&env_fail_at, &unread, at);
  return at;
}

static void say_failed(long n, const char *site, const char *fn) {
  char line[512];
  int len = snprintf(line, sizeof line,
                     "libgreen: GREEN_FAULT_ALLOC: allocation %ld failed at %s (%s)\n", n, site,
                     fn);
  if (len > 0 && write(2, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1) < 0) {
  }
}

static int fail(const char *site, const char *fn) {
  failed_site = site;
  failed_fn = fn;
  errno = ENOMEM;
  return 1;
}

int green__fault_alloc_fails(const char *site, const char *fn) {
  long at = env_armed();
  if (at > 0 && atomic_fetch_add(&env_counted, 1) + 1 == at) {
    say_failed(at, site, fn);
    return fail(site, fn);
  }
  if (at == ENV_BY_FUNCTION && strcmp(fn, env_fn) == 0 &&
      atomic_fetch_add(&env_fn_counted, 1) + 1 == env_fn_at) {
    say_failed(env_fn_at, site, fn);
    return fail(site, fn);
  }
  if (__builtin_expect(fail_at == 0, 1) || ++counted != fail_at) return 0;
  return fail(site, fn);
}

void *green__malloc(size_t size, const char *site, const char *fn) {
  return green__fault_alloc_fails(site, fn) ? NULL : (malloc)(size);
}

void *green__calloc(size_t n, size_t size, const char *site, const char *fn) {
  return green__fault_alloc_fails(site, fn) ? NULL : (calloc)(n, size);
}

void *green__realloc(void *p, size_t size, const char *site, const char *fn) {
  return green__fault_alloc_fails(site, fn) ? NULL : (realloc)(p, size);
}

char *green__strdup(const char *s, const char *site, const char *fn) {
  return green__fault_alloc_fails(site, fn) ? NULL : (strdup)(s);
}

void *green__mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
                  const char *site, const char *fn) {
  return green__fault_alloc_fails(site, fn) ? MAP_FAILED : (mmap)(addr, len, prot, flags, fd, off);
}

void green__fault_alloc_at(long n) {
  counted = 0;
  failed_site = failed_fn = NULL;
  fail_at = n > 0 ? n : 0;
}

long green__fault_alloc_count(void) { return counted; }

const char *green__fault_alloc_failed(const char **fn) {
  if (fn) *fn = failed_fn;
  return failed_site;
}
