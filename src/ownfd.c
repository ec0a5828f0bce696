/* SPDX-License-Identifier: MIT */
/*
 * The runtime's own fds, moved out of the low numbers a program gets first. The kernel gives
 * every new fd the lowest free number. So an epoll fd made at start-up would shift every number
 * the program gets by one. Tests that compare fd numbers would tell, and so would subprocesses
 * that list the fds they inherit.
 *
 * Where: just below 64, the size of a new process's fd table. That is the last eighth of
 * min(soft RLIMIT_NOFILE, 64): 56 to 63. Higher numbers would grow the kernel's table, and a
 * program can tell its size. select() ignores fds beyond it (and fails with EBADF for closed
 * fds inside it). /proc/self/status shows it (FDSize). A program with more fds skips the few
 * numbers taken. When they are all taken, a new one goes to the next free number above. With a
 * limit under 16 nothing moves. Several hubs need more: green__ownfd_reserve widens the range
 * downwards, to at most the upper half.
 */
#include "ownfd.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

__thread int green__ownfd_depth;
uint64_t green__ownfd_bits[GREEN__OWNFD_LIMIT / 64];
static unsigned reserved; /* numbers asked for by green__ownfd_reserve; 0: the last eighth */

void green__ownfd_reserve(unsigned n) { __atomic_store_n(&reserved, n, __ATOMIC_RELAXED); }

/* The first number a moved fd may take; -1 when nothing should move. */
static int high_base(void) {
  struct rlimit rl;
  rlim_t top = 64, span, want;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < top) top = rl.rlim_cur;
  if (top < 16) return -1;
  span = top / 8;
  want = __atomic_load_n(&reserved, __ATOMIC_RELAXED);
  if (want > span) span = want < top / 2 ? want : top / 2;
  return (int)(top - span);
}

static void mark(int fd, int on) {
  uint64_t bit;
  if ((unsigned)fd >= GREEN__OWNFD_LIMIT) return;
  bit = 1ull << ((unsigned)fd % 64);
  if (on) __atomic_fetch_or(&green__ownfd_bits[(unsigned)fd / 64], bit, __ATOMIC_RELAXED);
  else __atomic_fetch_and(&green__ownfd_bits[(unsigned)fd / 64], ~bit, __ATOMIC_RELAXED);
}

int green__ownfd_move(int fd) {
  int base = high_base(), moved = -1;
  if (fd < 0) return fd;
  if (base > fd) moved = fcntl(fd, F_DUPFD_CLOEXEC, base);
  if (moved >= 0) {
    close(fd);
    fd = moved;
  } else {
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  mark(fd, 1);
  return fd;
}

void green__ownfd_forget(int fd) { mark(fd, 0); }

int green__ownfd_close(int fd) {
  mark(fd, 0);
  return close(fd);
}
