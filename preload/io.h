/* SPDX-License-Identifier: MIT */
/*
 * read, write and the recv/send family under the shim (io.c). The gate and the fd table
 * decide whether a call is green. The engine in src/io.c runs it with the shim's policy.
 */
#ifndef GREEN_PRELOAD_IO_H
#define GREEN_PRELOAD_IO_H

#include "../src/io.h"
#include "fdtab.h"

/* The call, green when the gate and the fd allow, else libc's. -1 + errno on failure. */
ssize_t green__shim_io(int fd, green__io_t *io);

/* The engine's policy for a green call on p's fd. It holds the program's SO_RCVTIMEO (input)
 * or SO_SNDTIMEO and what the table knows of the file. Its park is the shim's (signals,
 * cancellation, GREEN_DEBUG). */
green__io_policy_t green__shim_io_policy(const green__shim_fd_t *p, int input);

#endif
