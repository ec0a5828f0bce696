/* SPDX-License-Identifier: MIT */
/*
 * What other files need from stdio_out.c (green stdio output). fclose's flush is declared in
 * shim.h.
 */
#ifndef GREEN_PRELOAD_STDIO_OUT_H
#define GREEN_PRELOAD_STDIO_OUT_H

/* In the child of fork: the busy FILEs were the parent's green threads'. None is busy now,
 * and the table's lock is free. */
void green__shim_stdio_after_fork(void);

#endif
