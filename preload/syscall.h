/* SPDX-License-Identifier: MIT */
/*
 * syscall() (syscall.c) and what it routes to besides the hooks: the green futex (futex.c)
 * and the thread ids (tid.c). Every argument is a long, as syscall() passes them.
 */
#ifndef GREEN_PRELOAD_SYSCALL_H
#define GREEN_PRELOAD_SYSCALL_H

#include "shim.h"

/* futex(2) with syscall()'s convention: the result, or -1 + errno. a[0..5] are uaddr, op,
 * val, timeout (or val2), uaddr2, val3. */
long green__shim_futex(const long a[6]);

/* In the child of fork: no green thread waits any more, no other OS thread exists. */
void green__shim_futex_after_fork(void);

/* waitid as the raw system call makes it, with its fifth argument (proc.c). */
long green__shim_waitid_rusage(idtype_t type, id_t id, siginfo_t *info, int opt,
                               struct rusage *ru);

/* What gettid() says on the calling thread: the green thread's id, or the kernel's. */
pid_t green__shim_gettid(void);

/* A thread id of this process as the kernel knows it. A live green thread's id becomes its
 * OS thread's. Anything else is returned unchanged. */
long green__shim_tid_of(long tid);

/* The same for a thread id that goes with a process id (tgkill). */
long green__shim_tgid_tid(long tgid, long tid);

/* tgkill: a live green thread's signal goes to its hub's OS thread, aimed at it. 0, or -1
 * with errno. */
int green__shim_tgkill(pid_t tgid, pid_t tid, int sig);

/* A path naming a green thread's /proc/.../task/<id> directory, turned into its OS
 * thread's (in buf); any other path unchanged. */
#define GREEN__TASK_PATH_MAX 256
const char *green__shim_task_path(const char *path, char *buf, size_t len);

#endif
