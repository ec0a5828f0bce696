/* SPDX-License-Identifier: MIT */
/*
 * stdio output on sockets, pipes and ttys, in green mode. glibc's stdio flushes a FILE's
 * buffer with its own internal write(), which no hook sees. Say the fd is a full pipe whose
 * reader is another green thread. That write would block the OS thread for good. So the
 * output functions are hooked. stdio never writes to a green fd by itself.
 *
 *  - Some output fits in the FILE's buffer without a flush: there is room left and, on a
 *    line-buffered stream, no newline. It is handed to stdio's own function, which then only
 *    copies.
 *  - Otherwise the shim writes the buffered bytes and the new ones through the green write
 *    path. On a line-buffered stream it writes up to the last newline. It marks the buffer
 *    empty as stdio's own flush does, and lets stdio buffer what is left.
 *  - The printf family formats with vsnprintf first (the _chk forms with __vsnprintf_chk).
 *    Then it goes the same way. dprintf formats so, then writes it all through the green
 *    write.
 *
 * While a green thread writes a FILE's buffer out, it may park. glibc's FILE lock cannot keep
 * the other green threads of the OS thread out: it is recursive, and they all are its owner.
 * A small table of busy FILEs, each with a green mutex, does. An output call on a FILE
 * another green thread is writing out waits for it, as it would for the FILE lock.
 * Cancellation is held off while a thread owns one (a cancelled owner would keep it).
 *
 * With several hubs, the FILE lock is another hub's thread's for as long as it is held. A
 * green thread never parks holding it: the write-out lets it go, and the busy entry alone
 * keeps the other green threads out meanwhile. A green thread that finds it held by another
 * OS thread does not wait in the kernel, which would stop its hub: it parks a little and
 * tries again. The busy table is shared by every hub, under a spin lock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "fdtab.h"
#include "io.h"
#include "shim.h"
#include "stdio_out.h"
#include "threads.h"

extern int __vsnprintf_chk(char *s, size_t max, int flag, size_t slen, const char *fmt,
                           va_list ap);
extern FILE *_IO_list_all; /* glibc's list of open streams, linked by _chain */
extern void _IO_list_lock(void);   /* and its lock (recursive) */
extern void _IO_list_unlock(void);

/* glibc's FILE flags (libio.h; stable ABI, not in the installed headers) */
enum {
  IO_UNBUFFERED = 0x0002,
  IO_NO_WRITES = 0x0008,
  IO_LINE_BUF = 0x0200,
  IO_CURRENTLY_PUTTING = 0x0800,
};

/* The hub, when fp is a byte stream writing to a socket, pipe or tty the program left
 * blocking. fp must be in a state the shim knows (not reading). Else NULL: stdio's own call. */
static struct green__hub *out_stream(FILE *fp) {
  struct green__hub *h;
  green__shim_fd_t *p;
  green__real_ready();
  if (!fp || !(h = green__shim_gate(GREEN__GATE_GREEN)) || fp->_mode > 0 ||
      fp->_IO_read_ptr < fp->_IO_read_end || (fp->_flags & IO_NO_WRITES))
    return NULL;
  return (p = green__shim_fd(fp->_fileno)) && green__shim_fd_green(p) ? h : NULL;
}

/* ---- the busy FILEs ------------------------------------------------------------------------
 * Every hub's green threads come here: the table is under busy_lock, held for a few loads
 * and stores, never across a park. nbusy is also read without it, as a hint. */

enum { NBUSY = 64 };

static struct busy {
  FILE *fp;          /* NULL: free */
  unsigned users;    /* the owner and its waiters */
  green_mutex_t lock;
} busy[NBUSY];
static unsigned nbusy;
static int busy_lock;

static void busy_lock_take(void) {
  while (__atomic_exchange_n(&busy_lock, 1, __ATOMIC_ACQUIRE))
    while (__atomic_load_n(&busy_lock, __ATOMIC_RELAXED)) green__cpu_relax();
}

static void busy_unlock(void) { __atomic_store_n(&busy_lock, 0, __ATOMIC_RELEASE); }

/* fp's entry, or NULL (busy_lock held). */
static struct busy *busy_find(FILE *fp) {
  for (unsigned i = 0; nbusy && i < NBUSY; i++)
    if (busy[i].fp == fp) return &busy[i];
  return NULL;
}

/* Whether a green thread is writing fp out (or waits to). */
static int busy_now(FILE *fp) {
  int found;
  if (!__atomic_load_n(&nbusy, __ATOMIC_RELAXED)) return 0;
  busy_lock_take();
  found = busy_find(fp) != NULL;
  busy_unlock();
  return found;
}

/* fp's entry with one more user, a free one taken for it if it has none; NULL if all 64 are
 * taken. */
static struct busy *busy_join(FILE *fp) {
  struct busy *b;
  busy_lock_take();
  if (!(b = busy_find(fp)))
    for (unsigned i = 0; i < NBUSY && !b; i++)
      if (!busy[i].fp) b = &busy[i];
  if (b && !b->fp) {
    b->fp = fp;
    __atomic_store_n(&nbusy, nbusy + 1, __ATOMIC_RELAXED);
  }
  if (b) b->users++;
  busy_unlock();
  return b;
}

void green__shim_stdio_after_fork(void) {
  memset(busy, 0, sizeof busy); /* green mutexes all-zero: unlocked, unbiased */
  nbusy = 0;
  busy_lock = 0;
}

static void busy_leave(struct busy *b) {
  busy_lock_take();
  if (--b->users == 0) {
    b->fp = NULL;
    __atomic_store_n(&nbusy, nbusy - 1, __ATOMIC_RELAXED);
  }
  busy_unlock();
}

typedef struct held {
  struct busy *b;
  green__shim_thread_t *self;
  uint8_t cancel_was_disabled;
} held_t;

/* glibc's FILE lock, as stdio's own calls take it. OS threads the shim does not manage still
 * call stdio on the same FILEs: C11 threads, threads started before main(). It is recursive:
 * the other green threads of the OS thread pass it. They wait in the busy table instead.
 * Held by another OS thread (another hub's, or one the shim does not manage), the green
 * thread parks 100 µs between tries, and its hub runs the others. */
static void lock_file(FILE *fp) {
  if (!fp->_lock || (fp->_flags & _IO_USER_LOCK)) return;
  while (ftrylockfile(fp) != 0) green_sleep(0.0001);
}

static void unlock_file(FILE *fp) {
  if (fp->_lock && !(fp->_flags & _IO_USER_LOCK)) funlockfile(fp);
}

/* Take fp for a write-out: its busy entry's green mutex, then its FILE lock. */
static void hold(struct green__hub *h, FILE *fp, held_t *k) {
  struct busy *b;
  while (!(b = busy_join(fp)))
    green_sleep(0.001); /* 64 FILEs being written out at once: wait for a free entry */
  green_mutex_lock(&b->lock, -1);
  k->b = b;
  if ((k->self = green__shim_self(h))) {
    k->cancel_was_disabled = k->self->cancel_disabled;
    k->self->cancel_disabled = 1;
  }
  lock_file(fp);
}

static void release(FILE *fp, held_t *k) {
  unlock_file(fp);
  green_mutex_unlock(&k->b->lock);
  busy_leave(k->b);
  if (k->self) {
    k->self->cancel_disabled = k->cancel_was_disabled;
    if (!k->cancel_was_disabled) green__shim_cancel_point(k->self);
  }
}

/* ---- putting bytes ------------------------------------------------------------------------ */

static int putting(const FILE *fp) {
  return fp->_IO_write_base && (fp->_flags & IO_CURRENTLY_PUTTING);
}

/* Whether stdio takes n bytes into fp's buffer without writing. */
static int fits(const FILE *fp, const char *data, size_t n) {
  if (!n) return 1;
  if (!putting(fp) || (fp->_flags & IO_UNBUFFERED) ||
      n > (size_t)(fp->_IO_buf_end - fp->_IO_write_ptr))
    return 0;
  return !(fp->_flags & IO_LINE_BUF) || !memchr(data, '\n', n);
}

/* Write fp's buffered bytes and then data[0, n) through the green write path. Mark the buffer
 * empty as stdio's flush does, also after an error. An error sets fp's error flag, as
 * stdio's does. Returns the data bytes written, or -1 after an error. The caller holds fp; its
 * FILE lock is let go while the writes may park. */
static ssize_t write_out(FILE *fp, const char *data, size_t n) {
  size_t pending, total, done = 0;
  struct iovec v[2];
  int failed = 0;
  if (!putting(fp) && green__real.__overflow(fp, EOF) == EOF) return -1; /* sets up only */
  pending = (size_t)(fp->_IO_write_ptr - fp->_IO_write_base);
  total = pending + n;
  unlock_file(fp);
  while (done < total) {
    green__io_t io = {.op = GREEN__OP_WRITEV, .name = "stdio", .iov = v, .iovcnt = 0};
    ssize_t w;
    if (done < pending)
      v[io.iovcnt++] = (struct iovec){fp->_IO_write_base + done, pending - done};
    v[io.iovcnt++] = (struct iovec){(char *)data + (done > pending ? done - pending : 0),
                                    done > pending ? n - (done - pending) : n};
    if ((w = green__shim_io(fp->_fileno, &io)) <= 0) {
      failed = 1;
      break;
    }
    done += (size_t)w;
  }
  lock_file(fp);
  fp->_IO_read_base = fp->_IO_read_ptr = fp->_IO_read_end = fp->_IO_buf_base;
  fp->_IO_write_base = fp->_IO_write_ptr = fp->_IO_buf_base;
  fp->_IO_write_end =
      (fp->_flags & (IO_LINE_BUF | IO_UNBUFFERED)) ? fp->_IO_buf_base : fp->_IO_buf_end;
  if (!failed) return (ssize_t)n;
  fp->_flags |= _IO_ERR_SEEN;
  return -1;
}

/* Put n bytes on fp, which the caller holds: 0, or -1 after a write error. */
static int put(FILE *fp, const char *data, size_t n) {
  size_t cut = n;
  if (n && !putting(fp) && green__real.__overflow(fp, EOF) == EOF) return -1; /* sets up only */
  if (fits(fp, data, n)) return green__real.fwrite_unlocked(data, 1, n, fp) == n ? 0 : -1;
  if ((fp->_flags & IO_LINE_BUF) && !(fp->_flags & IO_UNBUFFERED)) {
    const char *nl = memrchr(data, '\n', n);
    cut = nl ? (size_t)(nl - data) + 1 : 0;
    if (putting(fp) && n - cut >= (size_t)(fp->_IO_buf_end - fp->_IO_buf_base)) cut = n;
  }
  if (write_out(fp, data, cut) < 0) return -1;
  if (cut < n && !fits(fp, data + cut, n - cut)) return write_out(fp, data + cut, n - cut) < 0 ? -1 : 0;
  if (cut < n) return green__real.fwrite_unlocked(data + cut, 1, n - cut, fp) == n - cut ? 0 : -1;
  return 0;
}

/* Put a then b (either may be empty) as one call: 0 or -1. The fast path takes no hold. */
static int put_green(struct green__hub *h, FILE *fp, const char *a, size_t na, const char *b,
                     size_t nb) {
  held_t k;
  int r;
  lock_file(fp);
  if (!busy_now(fp) && fits(fp, a, na) && fits(fp, b, nb) &&
      (size_t)(fp->_IO_buf_end - fp->_IO_write_ptr) >= na + nb) {
    r = green__real.fwrite_unlocked(a, 1, na, fp) == na &&
        green__real.fwrite_unlocked(b, 1, nb, fp) == nb ? 0 : -1;
    unlock_file(fp);
    return r;
  }
  unlock_file(fp);
  hold(h, fp, &k);
  r = put(fp, a, na);
  if (r == 0 && nb) r = put(fp, b, nb);
  release(fp, &k);
  return r;
}

/* ---- the hooks ---------------------------------------------------------------------------- */

static size_t fwrite_green(const void *ptr, size_t size, size_t n, FILE *fp,
                           size_t (*real)(const void *, size_t, size_t, FILE *)) {
  struct green__hub *h = out_stream(fp);
  size_t bytes = size * n;
  if (!h || !bytes || bytes / size != n) return real(ptr, size, n, fp);
  return put_green(h, fp, ptr, bytes, NULL, 0) == 0 ? n : 0;
}

GREEN__SHIM_EXPORT size_t fwrite(const void *restrict ptr, size_t size, size_t n,
                                 FILE *restrict fp) {
  return fwrite_green(ptr, size, n, fp, green__real.fwrite);
}

GREEN__SHIM_EXPORT size_t fwrite_unlocked(const void *restrict ptr, size_t size, size_t n,
                                          FILE *restrict fp) {
  return fwrite_green(ptr, size, n, fp, green__real.fwrite_unlocked);
}

GREEN__SHIM_EXPORT int fputs(const char *restrict s, FILE *restrict fp) {
  struct green__hub *h = out_stream(fp);
  if (!h) return green__real.fputs(s, fp);
  return put_green(h, fp, s, strlen(s), NULL, 0) == 0 ? 1 : EOF;
}

GREEN__SHIM_EXPORT int fputs_unlocked(const char *restrict s, FILE *restrict fp) {
  struct green__hub *h = out_stream(fp);
  if (!h) return green__real.fputs_unlocked(s, fp);
  return put_green(h, fp, s, strlen(s), NULL, 0) == 0 ? 1 : EOF;
}

GREEN__SHIM_EXPORT int puts(const char *s) {
  struct green__hub *h = out_stream(stdout);
  size_t n;
  if (!h) return green__real.puts(s);
  n = strlen(s);
  if (put_green(h, stdout, s, n, "\n", 1) < 0) return EOF;
  return n + 1 > (size_t)__INT_MAX__ ? __INT_MAX__ : (int)(n + 1);
}

#define PUTC_HOOK(name, real_call, fp_expr, params)              \
  GREEN__SHIM_EXPORT int name params {                           \
    FILE *fp_ = fp_expr;                                         \
    struct green__hub *h = out_stream(fp_);                      \
    char ch = (char)c;                                           \
    if (!h) return real_call;                                    \
    return put_green(h, fp_, &ch, 1, NULL, 0) == 0 ? (unsigned char)c : EOF; \
  }
PUTC_HOOK(fputc, green__real.fputc(c, fp), fp, (int c, FILE *fp))
PUTC_HOOK(putc, green__real.putc(c, fp), fp, (int c, FILE *fp))
PUTC_HOOK(_IO_putc, green__real._IO_putc(c, fp), fp, (int c, FILE *fp))
PUTC_HOOK(fputc_unlocked, green__real.fputc_unlocked(c, fp), fp, (int c, FILE *fp))
PUTC_HOOK(putc_unlocked, green__real.putc_unlocked(c, fp), fp, (int c, FILE *fp))
PUTC_HOOK(putchar, green__real.putchar(c), stdout, (int c))
PUTC_HOOK(putchar_unlocked, green__real.putchar_unlocked(c), stdout, (int c))

/* Write out what fp has buffered: 0 or EOF. */
static int flush_green(struct green__hub *h, FILE *fp) {
  held_t k;
  int r = 0;
  hold(h, fp, &k);
  if (putting(fp) && fp->_IO_write_ptr > fp->_IO_write_base) r = write_out(fp, NULL, 0) < 0 ? EOF : 0;
  release(fp, &k);
  return r;
}

/* putc's inline form calls this when the buffer has no room. On a line-buffered or unbuffered
 * stream it always does. With EOF it only flushes. */
GREEN__SHIM_EXPORT int __overflow(FILE *fp, int c) {
  struct green__hub *h = out_stream(fp);
  char ch = (char)c;
  if (!h) return green__real.__overflow(fp, c);
  if (c == EOF) return flush_green(h, fp);
  return put_green(h, fp, &ch, 1, NULL, 0) == 0 ? (unsigned char)c : EOF;
}

/* fflush(NULL): first the green streams with something buffered, one at a time. A write may
 * park, and the list may change meanwhile. Then stdio's own for the rest. */
static int flush_all(void) {
  int r = 0;
  for (int pass = 0; pass < 100000; pass++) {
    FILE *fp;
    struct green__hub *h = NULL;
    _IO_list_lock();
    for (fp = _IO_list_all; fp; fp = fp->_chain)
      if (putting(fp) && fp->_IO_write_ptr > fp->_IO_write_base && (h = out_stream(fp))) break;
    _IO_list_unlock(); /* not held across the write-out: it may park */
    if (!fp) break;
    if (flush_green(h, fp) == EOF) r = EOF;
  }
  return green__real.fflush(NULL) == EOF ? EOF : r;
}

GREEN__SHIM_EXPORT int fflush(FILE *fp) {
  struct green__hub *h;
  green__real_ready();
  if (!fp && green__shim_gate(GREEN__GATE_GREEN)) return flush_all();
  if (!(h = out_stream(fp))) return green__real.fflush(fp);
  return flush_green(h, fp);
}

GREEN__SHIM_EXPORT int fflush_unlocked(FILE *fp) {
  struct green__hub *h = out_stream(fp);
  if (!h) return green__real.fflush_unlocked(fp);
  return flush_green(h, fp);
}

void green__shim_stdio_close(FILE *fp) {
  struct green__hub *h = out_stream(fp);
  if (h) flush_green(h, fp);
}

/* ---- the printf family -------------------------------------------------------------------- */

/* Write all of s to fd through the green write path, as vdprintf's flush does: 0 or -1. */
static int write_all(int fd, const char *s, size_t n) {
  while (n) {
    green__io_t io = {.op = GREEN__OP_WRITE, .name = "dprintf", .buf = (void *)s, .len = n};
    ssize_t w = green__shim_io(fd, &io);
    if (w <= 0) return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Format, then put on fp; with no fp, write to fd. flag >= 0 asks for the fortified checks of
 * that level. Returns the count or -1. */
static int vprintf_green(struct green__hub *h, FILE *fp, int fd, int flag, const char *fmt,
                         va_list ap) {
  char stack[1024], *s = stack;
  va_list again;
  int n, r;
  va_copy(again, ap);
  n = flag >= 0 ? __vsnprintf_chk(stack, sizeof stack, flag, sizeof stack, fmt, ap)
                : vsnprintf(stack, sizeof stack, fmt, ap);
  if (n >= (int)sizeof stack) {
    if (!(s = malloc((size_t)n + 1))) {
      va_end(again);
      return green__fail(-ENOMEM);
    }
    n = flag >= 0 ? __vsnprintf_chk(s, (size_t)n + 1, flag, (size_t)n + 1, fmt, again)
                  : vsnprintf(s, (size_t)n + 1, fmt, again);
  }
  va_end(again);
  if (n < 0) r = -1;
  else if (fp) r = put_green(h, fp, s, (size_t)n, NULL, 0) == 0 ? n : -1;
  else r = write_all(fd, s, (size_t)n) == 0 ? n : -1;
  if (s != stack) free(s);
  return r;
}

GREEN__SHIM_EXPORT int vfprintf(FILE *restrict fp, const char *restrict fmt, va_list ap) {
  struct green__hub *h = out_stream(fp);
  return h ? vprintf_green(h, fp, -1, -1, fmt, ap) : green__real.vfprintf(fp, fmt, ap);
}

GREEN__SHIM_EXPORT int vprintf(const char *restrict fmt, va_list ap) {
  struct green__hub *h = out_stream(stdout);
  return h ? vprintf_green(h, stdout, -1, -1, fmt, ap) : green__real.vprintf(fmt, ap);
}

GREEN__SHIM_EXPORT int __vfprintf_chk(FILE *restrict fp, int flag, const char *restrict fmt,
                                      va_list ap) {
  struct green__hub *h = out_stream(fp);
  return h ? vprintf_green(h, fp, -1, flag, fmt, ap) : green__real.__vfprintf_chk(fp, flag, fmt, ap);
}

GREEN__SHIM_EXPORT int __vprintf_chk(int flag, const char *restrict fmt, va_list ap) {
  struct green__hub *h = out_stream(stdout);
  return h ? vprintf_green(h, stdout, -1, flag, fmt, ap) : green__real.__vprintf_chk(flag, fmt, ap);
}

GREEN__SHIM_EXPORT int fprintf(FILE *restrict fp, const char *restrict fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = vfprintf(fp, fmt, ap);
  va_end(ap);
  return r;
}

GREEN__SHIM_EXPORT int printf(const char *restrict fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = vfprintf(stdout, fmt, ap);
  va_end(ap);
  return r;
}

GREEN__SHIM_EXPORT int __fprintf_chk(FILE *restrict fp, int flag, const char *restrict fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = __vfprintf_chk(fp, flag, fmt, ap);
  va_end(ap);
  return r;
}

GREEN__SHIM_EXPORT int __printf_chk(int flag, const char *restrict fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = __vfprintf_chk(stdout, flag, fmt, ap);
  va_end(ap);
  return r;
}

/* ---- dprintf: a FILE of its own on the fd, flushed at once ------------------------------- */

/* The hub when a dprintf to fd is green: a socket, pipe or tty the program left blocking. */
static struct green__hub *green_fd(int fd) {
  struct green__hub *h;
  green__shim_fd_t *p;
  green__real_ready();
  if (!(h = green__shim_gate(GREEN__GATE_GREEN))) return NULL;
  return (p = green__shim_fd(fd)) && green__shim_fd_green(p) ? h : NULL;
}

GREEN__SHIM_EXPORT int vdprintf(int fd, const char *restrict fmt, va_list ap) {
  struct green__hub *h = green_fd(fd);
  return h ? vprintf_green(h, NULL, fd, -1, fmt, ap) : green__real.vdprintf(fd, fmt, ap);
}

GREEN__SHIM_EXPORT int __vdprintf_chk(int fd, int flag, const char *restrict fmt, va_list ap) {
  struct green__hub *h = green_fd(fd);
  return h ? vprintf_green(h, NULL, fd, flag, fmt, ap) : green__real.__vdprintf_chk(fd, flag, fmt, ap);
}

GREEN__SHIM_EXPORT int dprintf(int fd, const char *restrict fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = vdprintf(fd, fmt, ap);
  va_end(ap);
  return r;
}

GREEN__SHIM_EXPORT int __dprintf_chk(int fd, int flag, const char *restrict fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = __vdprintf_chk(fd, flag, fmt, ap);
  va_end(ap);
  return r;
}
