/* SPDX-License-Identifier: MIT */
/*
 * Private helpers shared by every file of the runtime: container_of, branch hints, the
 * fatal-error path and the errno convention. Helpers return 0 or -E... Public wrappers set
 * errno once, after their last switch.
 */
#ifndef GREEN_INTERNAL_H
#define GREEN_INTERNAL_H

#include <errno.h>
#include <stddef.h>

#define green__container_of(ptr, type, member) \
  ((type *)((char *)(ptr) - offsetof(type, member)))

#define green__likely(x) __builtin_expect(!!(x), 1)
#define green__unlikely(x) __builtin_expect(!!(x), 0)

#if defined(__SANITIZE_ADDRESS__)
#define GREEN_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GREEN_HAVE_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define GREEN_HAVE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GREEN_HAVE_TSAN 1
#endif
#endif

/* Print "libgreen: <message>" and abort: for broken invariants, never for bad input. */
__attribute__((noreturn, format(printf, 1, 2))) void green__fatal(const char *fmt, ...);

/* Set errno from a negative error code and return -1: the public wrappers' last step. */
static inline int green__fail(int neg_errno) {
  errno = -neg_errno;
  return -1;
}

/* One turn of a spin loop: tell the CPU we are waiting for another one's store. */
static inline void green__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* A timeout argument (seconds, < 0 forever) as an absolute time on green_now()'s clock;
 * -EINVAL for NaN. */
int green__timeout_to_at(double timeout, double *at);

#include "alloc.h" /* every allocation through the test seam */

#endif
