/* SPDX-License-Identifier: MIT */
/*
 * Which of the program's pthread objects and semaphores are green (objects.c). Objects shared
 * between processes stay libc's: PTHREAD_PROCESS_SHARED, robust mutexes, sem_init with
 * pshared, sem_open. Their addresses are kept in a small set. Every call on them goes to libc,
 * and a wait there blocks the OS thread. A process-shared object initialised by another
 * process is not in the set, so the shim takes it for a green one.
 */
#ifndef GREEN_PRELOAD_OBJECTS_H
#define GREEN_PRELOAD_OBJECTS_H

#include <errno.h>

#include "shim.h"

extern size_t green__shim_libc_count; /* how many objects are libc's */

/* The lookup behind green__shim_libc_has, under the set's lock. */
int green__shim_libc_find(const void *p);

/* Whether p is one of libc's objects: one load while there are none. */
static inline int green__shim_libc_has(const void *p) {
  return __atomic_load_n(&green__shim_libc_count, __ATOMIC_ACQUIRE) && green__shim_libc_find(p);
}

/* Note p as libc's: 0, or ENOMEM when there is no room. On ENOMEM the caller undoes its libc
 * object; the hooks would otherwise take it for a green one. */
int green__shim_libc_add(const void *p);

/* p is no longer libc's (destroyed, or initialised again). */
void green__shim_libc_remove(const void *p);

/* After libc's destroy of p returned r: p is forgotten when it succeeded. Returns r. */
int green__shim_libc_destroyed(const void *p, int r);

/* Whether a call on object p is green: green mode and not one of libc's. */
static inline int green__shim_green_object(const void *p) {
  green__real_ready();
  return !green__shim_config.native && !green__shim_libc_has(p);
}

/* The same, for a call that may park or wake. The shim makes the thread's hub first, with
 * the hooks held off. Otherwise libgreen would make it as the call's side effect. */
static inline int green__shim_green_waitable(const void *p) {
  if (!green__shim_green_object(p)) return 0;
  green__shim_hub_attach();
  return 1;
}

/* A green library call's outcome as a pthread error number, errno left alone. */
static inline int green__shim_pthread_error(int r, int saved) {
  int e = r < 0 ? errno : 0;
  errno = saved;
  return e;
}

#endif
