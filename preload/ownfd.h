/* SPDX-License-Identifier: MIT */
/*
 * The runtime's fds under the shim (ownfd.c). When the runtime makes one through a hooked
 * call, the shim moves it out of the program's way. The program's listings do not show
 * them, and its close and dup2 may not touch them.
 */
#ifndef GREEN_PRELOAD_OWNFD_H
#define GREEN_PRELOAD_OWNFD_H

#include "../src/ownfd.h"
#include "shim.h"

/* A new fd from a hooked creating call. It is moved when the runtime is making it (libev's
 * loop). Otherwise it is the program's new file for the number. */
int green__shim_ownfd_created(int fd);

/* Whether the program's close, close_range or dup2 must leave fd alone: fd is the runtime's
 * and the runtime is not the caller. Such a call acts as on a number with no file (EBADF). */
int green__shim_ownfd_refused(int fd);

#endif
