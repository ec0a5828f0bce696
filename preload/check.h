/* SPDX-License-Identifier: MIT */
/*
 * greenrun --check (GREEN_CHECK=1): Syscall User Dispatch traps every system call a checked
 * thread makes. Each blocking call that reached the kernel without passing a hook is reported
 * once per call site. check.c explains the design; preload/README.md lists what it found.
 */
#ifndef GREEN_PRELOAD_CHECK_H
#define GREEN_PRELOAD_CHECK_H

/* main() starts on the calling (managed) thread: install the SIGSYS handler and load the
 * unwinder once, then check this thread. Says so on stderr when the kernel refuses. */
void green__check_start(void);

/* A managed thread of native mode starts: check it too. */
void green__check_thread(void);

/* main() returned or exit() was called: this thread's calls reach the kernel untrapped. */
void green__check_stop(void);

#endif
