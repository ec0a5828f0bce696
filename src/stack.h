/* SPDX-License-Identifier: MIT */
/*
 * Greenlet stacks. They are carved from mmap'd slabs, with a guard page below each: a guard
 * region, or PROT_NONE while the process's map-count budget allows. They are pooled per hub,
 * and annotated for Valgrind, AddressSanitizer and ThreadSanitizer. All stack annotations
 * live here.
 */
#ifndef GREEN_STACK_H
#define GREEN_STACK_H

#include <stddef.h>

#include "internal.h"
#include "list.h"

#if GREEN_HAVE_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if GREEN_HAVE_TSAN
#include <sanitizer/tsan_interface.h>
#endif

struct green__slab;

typedef struct green__stack {
  char *lo;                  /* lowest usable byte, just above the guard page */
  size_t size;               /* usable bytes; the first frame starts a little below lo+size */
  size_t color;              /* bytes left unused at the top so stacks differ in cache sets */
  struct green__slab *slab;  /* NULL for a stack mapped on its own (non-default size) */
  green__list_t link;        /* in the pool's hot, cold or graveyard list while free */
  unsigned valgrind_id;
  unsigned guarded : 1;
  unsigned hot : 1;          /* free with its touched pages still committed */
  int hib;                   /* GREEN__STACK_AWAKE, ..._HIBERNATED or ..._RESTORING (atomic) */
  char **hib_buf;            /* from hibernation until its owner wakes it: the saved stack
                                pointer, then the live bytes from there to the top */
} green__stack_t;

/* A stack's hibernation (hibernate.c decides when). HIBERNATED: its live bytes are in
 * hib_buf, and its pages are a guard region, released. A touch faults; the fault handler of
 * the touching hub copies the bytes back (RESTORING, then AWAKE), as does the owner's next
 * switch to it. Only the owner frees hib_buf. */
enum { GREEN__STACK_AWAKE = 0, GREEN__STACK_HIBERNATED = 1, GREEN__STACK_RESTORING = 2 };

typedef struct green__stack_pool {
  size_t size;            /* default usable size (GREEN_STACK_SIZE) */
  size_t hot_max;         /* free stacks kept committed (GREEN_STACK_POOL) */
  green__list_t hot;      /* free, pages committed: reuse costs no fault (most recent first) */
  green__list_t cold;     /* free, pages returned to the kernel */
  green__list_t slabs;
  green__list_t graveyard;/* ended non-default stacks, unmapped once nobody runs on them */
  size_t nhot, ncold, in_use, guarded, unguarded;
  size_t hibernated;      /* stacks whose bytes are in a buffer now (or were, until freed) */
  size_t hibernated_bytes; /* the heap those buffers take */
  size_t mapped;          /* bytes of address space mapped for stacks, guard pages included */
} green__stack_pool_t;

/* The default usable size of a stack when GREEN_STACK_SIZE is not set (256 KiB unless set
 * here). Pools made afterwards use it: set it before the first hub is created. */
void green__stack_set_default(size_t size);

void green__stack_pool_init(green__stack_pool_t *p);
void green__stack_pool_destroy(green__stack_pool_t *p);

/* A stack of `size` usable bytes (0: the default), or NULL with -errno in *err. */
green__stack_t *green__stack_acquire(green__stack_pool_t *p, size_t size, int *err);

/* Give back the stack of a greenlet that has ended. Safe to call while still running on it:
 * nothing here touches its pages, and unmapping waits for green__stack_trim. */
void green__stack_release(green__stack_pool_t *p, green__stack_t *s);

/* Return pages and mappings beyond the pool's bounds to the kernel. Must not run on a stack
 * of this pool that has been released. The hub calls it from its own stack when idle. */
void green__stack_trim(green__stack_pool_t *p);

/* Whether the kernel has guard regions (madvise MADV_GUARD_INSTALL, Linux 6.13). Then every
 * stack within GREEN_STACK_GUARDS is guarded, at no cost in mappings. */
int green__stack_guard_regions(void);

/* Copy the live part of s, from sp to its top, to the heap and release s's pages. sp is the
 * saved stack pointer of its greenlet, which is parked. Returns 0, -ENOMEM, or -ENOTSUP
 * where the kernel has no guard regions or s is not from a slab. */
int green__stack_hibernate(green__stack_pool_t *p, green__stack_t *s, void *sp);

/* Put the live bytes of hibernated s back in place, from any context on any thread (a fault
 * handler too). Returns at once when s is awake. Does not free the buffer. */
void green__stack_restore(green__stack_t *s);

/* The owner, before s runs again or goes back to the pool: restore it, free its buffer. */
void green__stack_wake(green__stack_pool_t *p, green__stack_t *s);

/* From the fault handler of a thread whose hub has pool p: addr is in a hibernated stack of
 * p, which is now restored. Returns 1 then, 0 for a fault that is not a hibernated stack's. */
int green__stack_fault(green__stack_pool_t *p, const void *addr);

/* Bytes of s's pages that are resident (mincore). */
size_t green__stack_resident(const green__stack_t *s);

/* Bytes resident in p's slabs and its ended non-default stacks. The non-default stacks of
 * live greenlets are not the pool's: green__stack_resident counts each. */
size_t green__stack_pool_resident(const green__stack_pool_t *p);

/* ThreadSanitizer keeps a call stack and clocks per fiber. Each greenlet gets a fiber of its
 * own (NULL without TSan). The fiber is made and freed while another one runs. */
static inline void *green__stack_fiber_new(void) {
#if GREEN_HAVE_TSAN
  return __tsan_create_fiber(0);
#else
  return NULL;
#endif
}

/* The running OS thread's own fiber: its main greenlet's, never freed. */
static inline void *green__stack_fiber_current(void) {
#if GREEN_HAVE_TSAN
  return __tsan_get_current_fiber();
#else
  return NULL;
#endif
}

/* Free a fiber, unless it is the running one (a thread that ends on a greenlet's stack). */
static inline void green__stack_fiber_free(void *fiber) {
#if GREEN_HAVE_TSAN
  if (fiber && fiber != __tsan_get_current_fiber()) __tsan_destroy_fiber(fiber);
#else
  (void)fiber;
#endif
}

/* Tell the sanitizers a switch is coming from the running stack to [lo, lo+size), whose
 * greenlet has `fiber`. *fake keeps the running stack's fake frames. A NULL fake means the
 * running stack is ending and never resumes. The switch must follow at once. */
static inline void green__stack_switch_begin(void **fake, const void *lo, size_t size,
                                             void *fiber) {
#if GREEN_HAVE_ASAN
  __sanitizer_start_switch_fiber(fake, lo, size);
#else
  (void)fake, (void)lo, (void)size;
#endif
#if GREEN_HAVE_TSAN
  if (fiber) __tsan_switch_to_fiber(fiber, 0); /* 0: the switch orders the two greenlets */
#else
  (void)fiber;
#endif
}

/* ... and that it completed, on the stack whose fake frames are `fake`. */
static inline void green__stack_switch_end(void *fake) {
#if GREEN_HAVE_ASAN
  __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
  (void)fake;
#endif
}

#endif
