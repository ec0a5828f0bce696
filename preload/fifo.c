/* SPDX-License-Identifier: MIT */
/*
 * open() of a FIFO for reading only or writing only, without O_NONBLOCK: natively it waits
 * for the other end (fifo(7)). The shim opens with O_NONBLOCK instead. A reader's open then
 * succeeds at once. A writer's fails with ENXIO while there is no reader. The shim waits on
 * retry.c's back-off timer, and its own FIFO opens kick it. Once the other end is there, the
 * new description gets the blocking mode back: nobody else can share it yet.
 *
 * The writer retries its open. The reader is open from the start. So is a reader the kernel
 * parks: it counts as a reader at once, and a writer's open succeeds. The reader waits until
 * a writer opened since. The kernel's poll cannot say so while the writer has written
 * nothing. So the reader asks tee(2) on the FIFO, non-blocking, into a scratch pipe. EAGAIN
 * means a writer is there and nothing has been written; 0 means there is none. Data or
 * POLLHUP end the wait too; POLLHUP means a writer came and went since our open. tee copies
 * without taking anything.
 *
 * Only paths that stat as a FIFO take this way. That costs one fstatat more for each blocking
 * open for reading or writing only. A path may be replaced by something else between the
 * stat and the open. It is opened non-blocking and given the blocking mode back.
 */
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "retry.h"

/* Whether an open with these flags may wait for a FIFO's other end. */
static int may_wait(int fl) {
  int acc = fl & O_ACCMODE;
  return !(fl & (O_NONBLOCK | O_PATH | O_DIRECTORY)) && (acc == O_RDONLY || acc == O_WRONLY) &&
         (fl & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL) && (fl & O_TMPFILE) != O_TMPFILE;
}

static int is_fifo_path(int dir, const char *path, int fl) {
  struct stat st;
  return fstatat(dir, path, &st, fl & O_NOFOLLOW ? AT_SYMLINK_NOFOLLOW : 0) == 0 &&
         S_ISFIFO(st.st_mode);
}

static int is_fifo_fd(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* The fresh description back in blocking mode; fd, or -1 (closed) when that fails. */
static int blocking(int fd) {
  int fl = green__real.fcntl(fd, F_GETFL, NULL);
  if (fl >= 0 && green__real.fcntl(fd, F_SETFL, (void *)(intptr_t)(fl & ~O_NONBLOCK)) == 0)
    return fd;
  int e = errno;
  green__real.close(fd);
  return green__fail(-e);
}

/* Whether a writer opened the reader fd's FIFO since fd was opened (see the top). */
static int writer_came(int fd, int scratch) {
  struct pollfd p = {fd, POLLIN, 0};
  ssize_t n;
  if (green__real.poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP))) return 1;
  n = tee(fd, scratch, 1, SPLICE_F_NONBLOCK);
  return n != 0; /* -1 EAGAIN: a writer, no data; > 0: data came; another error: stop */
}

static int open_reader(struct green__hub *h, int fd) {
  double step = GREEN__RETRY_FIRST;
  int scratch[2], r = 0;
  if (green__real.pipe2(scratch, O_NONBLOCK | O_CLOEXEC) < 0) return blocking(fd);
  green__shim_retry_kick(); /* a writer of this thread waiting for a reader can go on */
  while (!writer_came(fd, scratch[1]))
    if ((r = green__shim_retry_park(h, &step, INFINITY, GREEN__INTR_RESTART, 1, "open")) < 0)
      break;
  green__real.close(scratch[0]);
  green__real.close(scratch[1]);
  if (r < 0) {
    green__real.close(fd);
    return green__shim_retry_fail(h, r);
  }
  return blocking(fd);
}

/* The open itself, non-blocking. */
static int try_open(int dir, const char *path, int fl, mode_t mode) {
  return green__real.openat(dir, path, fl | O_NONBLOCK, mode);
}

static int open_writer(struct green__hub *h, int dir, const char *path, int fl, mode_t mode) {
  double step = GREEN__RETRY_FIRST;
  int fd, r;
  while ((fd = try_open(dir, path, fl, mode)) < 0) {
    if (errno != ENXIO) return -1;
    if ((r = green__shim_retry_park(h, &step, INFINITY, GREEN__INTR_RESTART, 1, "open")) < 0)
      return green__shim_retry_fail(h, r);
  }
  return blocking(fd);
}

struct green__hub *green__shim_fifo_hub(int dir, const char *path, int fl) {
  struct green__hub *h;
  int saved = errno;
  if (!may_wait(fl) || !path || !(h = green__shim_hub())) return NULL;
  if (!is_fifo_path(dir, path, fl)) h = NULL;
  errno = saved;
  return h;
}

int green__shim_open_fifo(struct green__hub *h, int dir, const char *path, int fl, mode_t mode) {
  int fd, saved = errno;
  if ((fl & O_ACCMODE) == O_WRONLY) fd = open_writer(h, dir, path, fl, mode);
  else if ((fd = try_open(dir, path, fl, mode)) >= 0)
    fd = is_fifo_fd(fd) ? open_reader(h, fd) : blocking(fd);
  if (fd >= 0) green__shim_retry_kick(); /* the other end may wait in this thread */
  return (int)green__shim_done(fd, saved);
}
