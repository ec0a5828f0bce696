/* SPDX-License-Identifier: MIT */
/*
 * Per-fd state of a hub. Each fd has one libev watcher, registered on the first wait. It stays
 * registered between waits, since re-arming costs epoll_ctl calls. The state also holds the
 * greenlets parked on the fd. It holds what libgreen has learnt of the fd: known not ready, and
 * how to try it without waiting. Nothing here is trusted to stay true. A plain close() lets the
 * number name another file without the hub knowing. So every try is non-blocking, whatever the
 * file is (io.c).
 */
#ifndef GREEN_FD_H
#define GREEN_FD_H

#include <ev.h>
#include <stdint.h>

#include "list.h"

struct green__hub;

enum {
  GREEN__FD_IOSET = 1u << 1,      /* the watcher is bound to this fd's current file */
  GREEN__FD_RD_UNREADY = 1u << 2, /* the last read came back short: wait before reading */
  GREEN__FD_WR_UNREADY = 1u << 3, /* the last write came back short: wait before writing */
  GREEN__FD_POLLED = 1u << 4,     /* a read refused RWF_NOWAIT: poll, then the plain read */
  GREEN__FD_SOCKET = 1u << 5,     /* a socket: read and write go as recv and send */
  GREEN__FD_WAITABLE = 1u << 6,   /* epoll can watch it (not a regular file) */
  GREEN__FD_EOR = 1u << 7,        /* a seqpacket socket: write adds MSG_EOR, as write(2) does */
  GREEN__FD_DGRAM = 1u << 8,      /* keeps message boundaries: a short read says nothing */
  GREEN__FD_TTY = 1u << 9,        /* a terminal: output through a non-blocking twin (io.c) */
  GREEN__FD_NOTWIN = 1u << 10,    /* a terminal that cannot be reopened: poll, then write */
  /* what a file is, as opposed to its state */
  GREEN__FD_KIND = GREEN__FD_POLLED | GREEN__FD_SOCKET | GREEN__FD_WAITABLE | GREEN__FD_EOR |
                   GREEN__FD_DGRAM | GREEN__FD_TTY | GREEN__FD_NOTWIN,
};

typedef struct green__fd {
  ev_io io;
  green__list_t waiters; /* greenlets parked on this fd, through their wait_link */
  uint16_t flags;
  uint32_t ext_tag;      /* owned by the embedder. A layer on top may keep a word here: which
                            file the entry is for. 0 when made, never read or reset here */
  /* The file the watcher was bound to, while the hub checks for plain closes (fd.c). That is
   * st_dev and st_ino (0: not known), and when a check last found it still there. */
  uint64_t dev, ino;
  double seen_at;
} green__fd_t;

typedef struct green__fdtab {
  green__fd_t **chunks; /* fds in chunks of 256: entries never move (libev keeps pointers) */
  size_t nchunks;
  size_t active;        /* entries whose watcher is started */
  ev_timer check;       /* looks for fds closed behind the hub's back (while the watchdog is on) */
} green__fdtab_t;

void green__fdtab_init(green__fdtab_t *t);
void green__fdtab_destroy(struct green__hub *h);

/* The entry of fd, created on first use; NULL with -EBADF (not an open fd) or -ENOMEM. */
green__fd_t *green__fd_get(struct green__hub *h, int fd, int *err);

/* Park the running greenlet until fd is ready for `events` (GREEN_READ | GREEN_WRITE).
 * Returns the ready events (> 0) or -errno (-ETIMEDOUT when `at` or the deadline passed). */
int green__fd_wait(struct green__hub *h, green__fd_t *f, int fd, int events, double at);

/* fd is being closed, or was just born (accept, socket). Wake whoever still waits on the old
 * file with EBADF. Forget the watcher and all that was learnt of the file. `flags` are what is
 * known of the new one (GREEN__FD_WAITABLE for a socket). */
void green__fd_reset(struct green__hub *h, int fd, unsigned flags);

/* fd is being closed: green__fd_reset when the hub has an entry for it. A table that never saw
 * fd costs nothing: no entry is made. */
void green__fd_forget(struct green__hub *h, int fd);

/* Entry of every green I/O call: the caller is not killed and its deadline has not passed.
 * Fills *hp and *fp; returns 0 or -errno. The fd's mode is left as it is. */
int green__io_begin(struct green__hub **hp, int fd, green__fd_t **fp);

#endif
