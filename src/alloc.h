/* SPDX-License-Identifier: MIT */
/*
 * The allocation seam. Every malloc, calloc, realloc, strdup and mmap of the runtime goes
 * through it. So do those of the layers built with it: internal.h renames the calls. A test can
 * then fail the Nth allocation and drive each ENOMEM path. Disarmed, it costs one load and one
 * branch. Each call site is named by its "file:line" and its function. They name the path a
 * failure took.
 */
#ifndef GREEN_ALLOC_H
#define GREEN_ALLOC_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

void *green__malloc(size_t size, const char *site, const char *fn);
void *green__calloc(size_t n, size_t size, const char *site, const char *fn);
void *green__realloc(void *p, size_t size, const char *site, const char *fn);
char *green__strdup(const char *s, const char *site, const char *fn);
void *green__mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
                  const char *site, const char *fn);

/* Counts one allocation at site, in function fn; 1 when it is the one to fail (errno is then
 * ENOMEM). For allocators outside the runtime that a test routes through the seam (c-ares). */
int green__fault_alloc_fails(const char *site, const char *fn);

/* Test hook: the calling thread's nth allocation from now fails, once; 0 disarms. Programs
 * that cannot call it set GREEN_FAULT_ALLOC=n: plain programs run under a layer on top. The
 * process's nth allocation then fails, once, and a line on stderr names its site.
 * GREEN_FAULT_ALLOC=fn[:k] fails the process's kth allocation (the 1st without :k) made in
 * function fn, once. */
void green__fault_alloc_at(long n);
/* The calling thread's allocations counted since its last green__fault_alloc_at. */
long green__fault_alloc_count(void);
/* The site of the failure injected in the calling thread since its last
 * green__fault_alloc_at, or NULL. *fn (if fn is not NULL) gets its function. */
const char *green__fault_alloc_failed(const char **fn);

#define GREEN__SITE_STR(x) #x
#define GREEN__SITE_LINE(x) GREEN__SITE_STR(x)
#define GREEN__SITE __FILE__ ":" GREEN__SITE_LINE(__LINE__)

#define malloc(n) green__malloc((n), GREEN__SITE, __func__)
#define calloc(n, size) green__calloc((n), (size), GREEN__SITE, __func__)
#define realloc(p, n) green__realloc((p), (n), GREEN__SITE, __func__)
#define strdup(s) green__strdup((s), GREEN__SITE, __func__)
#define mmap(a, len, prot, flags, fd, off)                                                   \
  green__mmap((a), (len), (prot), (flags), (fd), (off), GREEN__SITE, __func__)

#endif
