/* SPDX-License-Identifier: MIT */
/*
 * The runtime's fds under the shim (ownfd.c): moved out of the program's way when the
 * runtime makes them through a hooked call, hidden from its listings and refused to its
 * close and dup2.
 */
#ifndef GREEN_PRELOAD_OWNFD_H
#define GREEN_PRELOAD_OWNFD_H

#include "../src/ownfd.h"
#include "shim.h"

/* A new fd from a hooked creating call: moved when the runtime is making it (libev's loop),
 * else the program's new file for the number. */
int green__shim_ownfd_created(int fd);

/* Whether the program's close, close_range or dup2 must leave fd alone: it is the runtime's
 * and the runtime is not the caller. Such a call acts as on a number with no file (EBADF). */
int green__shim_ownfd_refused(int fd);

#endif
