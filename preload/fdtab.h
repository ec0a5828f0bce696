/* SPDX-License-Identifier: MIT */
/*
 * What the shim knows of each fd, process-wide:
 * - Its kind. The kind decides how a call can be tried without blocking.
 * - Whether the program set O_NONBLOCK. If it did, its calls pass through untouched.
 * - Its SO_RCVTIMEO and SO_SNDTIMEO.
 * - A generation that changes whenever the fd number gets a new file. Each hub's watcher
 *   entry remembers the generation it was set up for.
 * The shim never changes an fd's kernel-level mode. So stdio, and everything else that
 * bypasses the hooks, sees the fd exactly as the program left it.
 */
#ifndef GREEN_PRELOAD_FDTAB_H
#define GREEN_PRELOAD_FDTAB_H

#include <stdint.h>

#include "../src/fd.h"

enum {
  GREEN__KIND_UNKNOWN, /* not looked at since it was opened */
  GREEN__KIND_PASS,    /* regular file, directory, device: always passes through */
  GREEN__KIND_STREAM,  /* SOCK_STREAM socket */
  GREEN__KIND_DGRAM,   /* datagram, raw or seqpacket socket */
  GREEN__KIND_PIPE,    /* pipe or FIFO */
  GREEN__KIND_OTHER,   /* eventfd, timerfd, signalfd, inotify: epoll can watch them */
  GREEN__KIND_TTY,     /* a terminal or either side of a pty */
};

enum {
  GREEN__FDI_KIND = 0x0f,
  GREEN__FDI_NONBLOCK = 0x10,  /* the program made the fd non-blocking */
  GREEN__FDI_SEQPACKET = 0x20, /* write() adds MSG_EOR */
  GREEN__FDI_NOWAIT_BAD = 0x40,/* the file refuses RWF_NOWAIT (a tty: cannot be reopened
                                  non-blocking): poll, then the plain call */
};

typedef struct green__shim_fd {
  uint32_t info;      /* kind | GREEN__FDI_* flags */
  uint32_t gen;
  int64_t rcvtimeo;   /* microseconds, 0: none */
  int64_t sndtimeo;
} green__shim_fd_t;

/* fd's entry. If the shim has not seen fd since it was opened, it looks (fstat, F_GETFL).
 * NULL for a negative or huge fd, or when out of memory; the call then passes through. */
green__shim_fd_t *green__shim_fd(int fd);

/* Whether the table has a place for fd: for such an fd, a NULL entry means out of memory. */
int green__shim_fd_fits(int fd);

static inline int green__shim_fd_kind(const green__shim_fd_t *p) {
  return (int)(__atomic_load_n(&p->info, __ATOMIC_RELAXED) & GREEN__FDI_KIND);
}

/* Whether calls on fd are tried green: a socket, pipe or the like the program did not make
 * non-blocking. */
static inline int green__shim_fd_green(const green__shim_fd_t *p) {
  uint32_t i = __atomic_load_n(&p->info, __ATOMIC_RELAXED);
  return (i & GREEN__FDI_KIND) >= GREEN__KIND_STREAM && !(i & GREEN__FDI_NONBLOCK);
}

/* A new file has the fd number (socket, accept, pipe). It gets `info` as given. It gets no
 * timeouts, or those of `like`: an accepted socket inherits its listener's. */
void green__shim_fd_born(int fd, uint32_t info, const green__shim_fd_t *like);

/* The fd was closed, or got a file the shim knows nothing of. Such files come from open, or
 * from dup2 when the source is unknown (the target). */
void green__shim_fd_forget(int fd);

/* `to` is now a duplicate of `from` (dup, dup2, dup3, F_DUPFD). */
void green__shim_fd_dup(int from, int to);

/* The program set or cleared O_NONBLOCK on fd's file (fcntl F_SETFL, ioctl FIONBIO). */
void green__shim_fd_set_nonblock(int fd, int on);

/* The program set SO_RCVTIMEO (rcv) or SO_SNDTIMEO on fd. */
void green__shim_fd_set_timeout(int fd, int rcv, int64_t usec);

/* The calling hub's watcher entry for fd. It is reset first if it belongs to an older file
 * of the fd number: the entry's ext_tag keeps the generation it was last used with.
 * NULL with -errno in *err. */
green__fd_t *green__shim_hub_fd(struct green__hub *h, int fd, int *err);

#endif
