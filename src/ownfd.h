/* SPDX-License-Identifier: MIT */
/*
 * The runtime's own fds live at 56 to 63 (ownfd.c), close-on-exec, out of the program's way.
 * A process that will run several hubs reserves more (green__ownfd_reserve).
 * They are the loop's epoll fd and wake-up eventfd, the resolver's sockets, and the signal fds
 * of a layer on top. A program's open() gets the number it would get without the runtime. A
 * layer that intercepts the program's calls can keep it from closing them, duping onto them or
 * seeing them in /proc/self/fd (green__ownfd_is).
 */
#ifndef GREEN_OWNFD_H
#define GREEN_OWNFD_H

#include <stdint.h>

#define GREEN__OWNFD_LIMIT 1024 /* the numbers green__ownfd_is knows */

/* Non-zero while the runtime creates or closes fds the calling thread makes through other
 * libraries (libev). A layer that intercepts those calls then moves or releases them as the
 * runtime's. */
extern __thread int green__ownfd_depth;

extern uint64_t green__ownfd_bits[GREEN__OWNFD_LIMIT / 64];

/* fd (new, the runtime's) moved to the runtime's numbers, close-on-exec, and marked as the
 * runtime's: the new number. Where that cannot be (a very low fd limit) it stays,
 * close-on-exec. */
int green__ownfd_move(int fd);

/* Keep `n` numbers below 64 for the runtime's fds, instead of the last eighth, up to half
 * of them (every hub has an epoll fd and an eventfd). Call it before the first fd moves: fds
 * moved before stay where they are. */
void green__ownfd_reserve(unsigned n);

/* The runtime is done with fd: unmark it, close it. */
int green__ownfd_close(int fd);

/* fd is being closed by the runtime: unmark it. */
void green__ownfd_forget(int fd);

/* Whether fd is one of the runtime's. */
static inline int green__ownfd_is(int fd) {
  return (unsigned)fd < GREEN__OWNFD_LIMIT &&
         (__atomic_load_n(&green__ownfd_bits[(unsigned)fd / 64], __ATOMIC_RELAXED) >>
          ((unsigned)fd % 64) & 1);
}

#endif
