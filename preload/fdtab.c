/* SPDX-License-Identifier: MIT */
/*
 * The process-wide fd table: chunks of 1,024 entries, created on first use and never freed.
 * Entries never move, so any thread can read one without a lock. Fields are read and written
 * with relaxed atomics. The table is advice about files the kernel owns. Each call re-checks
 * what matters against the kernel's answer.
 */
#include "fdtab.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../src/hub.h"
#include "real.h"

enum { CHUNK_SHIFT = 10, CHUNK = 1 << CHUNK_SHIFT, NCHUNKS = 1024 }; /* up to 1,048,576 fds */

static green__shim_fd_t *chunks[NCHUNKS];

int green__shim_fd_fits(int fd) { return fd >= 0 && ((size_t)fd >> CHUNK_SHIFT) < NCHUNKS; }

static green__shim_fd_t *entry(int fd) {
  size_t idx = (size_t)fd >> CHUNK_SHIFT;
  green__shim_fd_t *c, *fresh = NULL;
  if (!green__shim_fd_fits(fd)) return NULL;
  c = __atomic_load_n(&chunks[idx], __ATOMIC_ACQUIRE);
  if (green__unlikely(!c)) {
    if (!(fresh = calloc(CHUNK, sizeof *fresh))) return NULL;
    if (__atomic_compare_exchange_n(&chunks[idx], &c, fresh, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
      c = fresh;
    else
      free(fresh); /* another thread installed one first; c holds it */
  }
  return &c[fd & (CHUNK - 1)];
}

static int64_t timeout_of(int fd, int opt) {
  struct timeval tv;
  socklen_t len = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) != 0) return 0;
  return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* An anonymous-inode file epoll can watch and read(2) can wait on. */
static int waitable_anon(int fd) {
  static const char *const names[] = {"anon_inode:[eventfd]", "anon_inode:[timerfd]",
                                      "anon_inode:[signalfd]", "anon_inode:inotify"};
  char path[48], target[64];
  ssize_t n;
  size_t i;
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  if ((n = readlink(path, target, sizeof target - 1)) < 0) return 0;
  target[n] = '\0';
  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(target, names[i]) == 0) return 1;
  return 0;
}

/* A terminal (isatty, with errno kept: the caller's call may succeed). A pty's master side
 * (/dev/ptmx, 5:2) cannot be reopened: reopening it makes a new pty. */
static uint32_t tty_info(int fd, const struct stat *st) {
  int e = errno, tty = isatty(fd);
  errno = e;
  if (!tty) return GREEN__KIND_PASS;
  if (major(st->st_rdev) == 5 && minor(st->st_rdev) == 2)
    return GREEN__KIND_TTY | GREEN__FDI_NOWAIT_BAD;
  return GREEN__KIND_TTY;
}

/* What fd is: one fstat and one F_GETFL (sockets: their type and timeouts too). */
static void classify(int fd, green__shim_fd_t *p) {
  struct stat st;
  uint32_t info = GREEN__KIND_PASS;
  int fl, type = 0;
  socklen_t len = sizeof type;
  int64_t rcv = 0, snd = 0;
  if (fstat(fd, &st) != 0) return; /* not open: stays unknown, the call reports EBADF */
  if (S_ISSOCK(st.st_mode) && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) {
    info = type == SOCK_STREAM ? GREEN__KIND_STREAM : GREEN__KIND_DGRAM;
    if (type == SOCK_SEQPACKET) info |= GREEN__FDI_SEQPACKET;
    rcv = timeout_of(fd, SO_RCVTIMEO);
    snd = timeout_of(fd, SO_SNDTIMEO);
  } else if (S_ISFIFO(st.st_mode)) {
    info = GREEN__KIND_PIPE;
  } else if (S_ISCHR(st.st_mode)) {
    info = tty_info(fd, &st);
  } else if ((st.st_mode & S_IFMT) == 0 && waitable_anon(fd)) {
    info = GREEN__KIND_OTHER;
  }
  if ((fl = green__real.fcntl(fd, F_GETFL, NULL)) >= 0 && (fl & O_NONBLOCK))
    info |= GREEN__FDI_NONBLOCK;
  __atomic_store_n(&p->rcvtimeo, rcv, __ATOMIC_RELAXED);
  __atomic_store_n(&p->sndtimeo, snd, __ATOMIC_RELAXED);
  __atomic_store_n(&p->info, info, __ATOMIC_RELAXED);
}

green__shim_fd_t *green__shim_fd(int fd) {
  green__shim_fd_t *p = entry(fd);
  if (p && green__unlikely(green__shim_fd_kind(p) == GREEN__KIND_UNKNOWN)) classify(fd, p);
  return p;
}

void green__shim_fd_born(int fd, uint32_t info, const green__shim_fd_t *like) {
  green__shim_fd_t *p = entry(fd);
  if (!p) return;
  __atomic_add_fetch(&p->gen, 1, __ATOMIC_RELAXED);
  __atomic_store_n(&p->rcvtimeo, like ? __atomic_load_n(&like->rcvtimeo, __ATOMIC_RELAXED) : 0,
                   __ATOMIC_RELAXED);
  __atomic_store_n(&p->sndtimeo, like ? __atomic_load_n(&like->sndtimeo, __ATOMIC_RELAXED) : 0,
                   __ATOMIC_RELAXED);
  __atomic_store_n(&p->info, info, __ATOMIC_RELAXED);
}

void green__shim_fd_forget(int fd) {
  green__shim_fd_t *p;
  size_t idx = (size_t)fd >> CHUNK_SHIFT;
  /* no chunk yet: nothing known, nothing to forget (and no memory spent on a wild fd) */
  if (fd < 0 || idx >= NCHUNKS || !__atomic_load_n(&chunks[idx], __ATOMIC_ACQUIRE)) return;
  p = entry(fd);
  __atomic_add_fetch(&p->gen, 1, __ATOMIC_RELAXED);
  __atomic_store_n(&p->info, GREEN__KIND_UNKNOWN, __ATOMIC_RELAXED);
}

void green__shim_fd_dup(int from, int to) {
  green__shim_fd_t *src = entry(from);
  if (!src || green__shim_fd_kind(src) == GREEN__KIND_UNKNOWN) {
    green__shim_fd_forget(to);
    return;
  }
  green__shim_fd_born(to, __atomic_load_n(&src->info, __ATOMIC_RELAXED), src);
}

void green__shim_fd_set_nonblock(int fd, int on) {
  green__shim_fd_t *p = entry(fd);
  if (!p || green__shim_fd_kind(p) == GREEN__KIND_UNKNOWN) return; /* learnt when first used */
  if (on) __atomic_or_fetch(&p->info, GREEN__FDI_NONBLOCK, __ATOMIC_RELAXED);
  else __atomic_and_fetch(&p->info, ~(uint32_t)GREEN__FDI_NONBLOCK, __ATOMIC_RELAXED);
}

void green__shim_fd_set_timeout(int fd, int rcv, int64_t usec) {
  green__shim_fd_t *p = entry(fd);
  if (!p || green__shim_fd_kind(p) == GREEN__KIND_UNKNOWN) return;
  __atomic_store_n(rcv ? &p->rcvtimeo : &p->sndtimeo, usec, __ATOMIC_RELAXED);
}

green__fd_t *green__shim_hub_fd(struct green__hub *h, int fd, int *err) {
  green__shim_fd_t *p = entry(fd);
  green__fd_t *f = green__fd_get(h, fd, err);
  uint32_t gen;
  if (!f || !p) return f;
  gen = __atomic_load_n(&p->gen, __ATOMIC_RELAXED);
  if (green__unlikely(f->ext_tag != gen)) {
    green__fd_reset(h, fd, 0); /* a watcher or waiters of the fd number's previous file */
    f->ext_tag = gen;
  }
  return f;
}
