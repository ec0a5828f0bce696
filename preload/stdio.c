/* SPDX-License-Identifier: MIT */
/*
 * stdio input on sockets, pipes and ttys, in green mode. glibc's stdio refills a FILE's buffer
 * with its own internal read(), which no hook sees. On a blocking socket that read would
 * block the OS thread, and with it every green thread. Say a thread reads lines from a
 * socketpair, and another green thread writes the other end. The reader would wait forever.
 * So the input functions are hooked. Whenever the FILE's buffer is empty, they park the green
 * thread until the fd is readable. Then they let stdio refill once: one read(2), which now
 * returns what has come without blocking. What is buffered they take in pieces that never
 * need a refill. The functions and their results are stdio's own; only the waiting is green.
 *
 * The scanf family reads through stdio's internals too, and may need more than one refill.
 * So a green scan runs libc's vfscanf on a private unbuffered stream (fopencookie). That
 * stream takes each byte from the program's FILE through the green refill. Afterwards it
 * gives the byte the scan looked ahead at back to the program's FILE.
 *
 * The wide-character input functions park the same way (below). Output: stdio_out.c.
 */
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "fdtab.h"
#include "shim.h"

/* The hub, when fp reads from a socket or pipe the program left blocking; else NULL. */
static struct green__hub *green_stream(FILE *fp) {
  struct green__hub *h;
  green__shim_fd_t *p;
  green__real_ready();
  if (!fp || !(h = green__shim_gate(GREEN__GATE_GREEN))) return NULL;
  return (p = green__shim_fd(fp->_fileno)) && green__shim_fd_green(p) ? h : NULL;
}

static size_t buffered(const FILE *fp) {
  return fp->_IO_read_ptr < fp->_IO_read_end ? (size_t)(fp->_IO_read_end - fp->_IO_read_ptr) : 0;
}

/* Park until a refill of fp cannot block: it has buffered input, or its fd is readable. If
 * the wait fails (a signal), stdio's own call will meet the same condition itself. */
static void ready(struct green__hub *h, FILE *fp, const char *call) {
  struct pollfd pfd = {fp->_fileno, POLLIN, 0};
  if (buffered(fp) || green__real.poll(&pfd, 1, 0) != 0) return;
  green__shim_wait_fd(h, fp->_fileno, GREEN_READ, INFINITY, GREEN__INTR_RESTART, call);
}

/* ---- one character ---------------------------------------------------------------------- */

#define CHAR_HOOK(name)                                      \
  GREEN__SHIM_EXPORT int name(FILE *fp) {                    \
    struct green__hub *h = green_stream(fp);                 \
    if (h) ready(h, fp, #name);                              \
    return green__real.name(fp);                             \
  }
CHAR_HOOK(fgetc)
CHAR_HOOK(getc)
CHAR_HOOK(_IO_getc)
CHAR_HOOK(fgetc_unlocked)
CHAR_HOOK(getc_unlocked)
CHAR_HOOK(__uflow) /* getc_unlocked's macro, when the buffer is empty */
CHAR_HOOK(__underflow)

GREEN__SHIM_EXPORT int getchar(void) { return getc(stdin); }
GREEN__SHIM_EXPORT int getchar_unlocked(void) { return getc_unlocked(stdin); }

/* ---- lines and blocks ------------------------------------------------------------------- */

/* fgets over green refills: each piece comes from the buffer alone. */
static char *fgets_green(struct green__hub *h, char *s, int n, FILE *fp,
                         char *(*real)(char *, int, FILE *), int (*getc_fn)(FILE *)) {
  int got = 0;
  while (got < n - 1) {
    size_t avail;
    ready(h, fp, "fgets");
    if (!(avail = buffered(fp))) { /* one refill through stdio */
      int c = getc_fn(fp);
      if (c == EOF) break;
      s[got++] = (char)c;
      if (c == '\n') break;
      continue;
    }
    if (avail > (size_t)(n - 1 - got)) avail = (size_t)(n - 1 - got);
    if (!real(s + got, (int)avail + 1, fp)) break;
    got += (int)strlen(s + got);
    if (s[got - 1] == '\n') break;
  }
  if (got == 0 || ferror(fp)) return NULL;
  s[got] = '\0';
  return s;
}

GREEN__SHIM_EXPORT char *fgets(char *restrict s, int n, FILE *restrict fp) {
  struct green__hub *h = green_stream(fp);
  if (!h || n <= 1 || !s) return green__real.fgets(s, n, fp);
  return fgets_green(h, s, n, fp, green__real.fgets, green__real.fgetc);
}

GREEN__SHIM_EXPORT char *fgets_unlocked(char *restrict s, int n, FILE *restrict fp) {
  struct green__hub *h = green_stream(fp);
  if (!h || n <= 1 || !s) return green__real.fgets_unlocked(s, n, fp);
  return fgets_green(h, s, n, fp, green__real.fgets_unlocked, green__real.fgetc_unlocked);
}

static size_t fread_green(struct green__hub *h, void *ptr, size_t size, size_t n, FILE *fp,
                          size_t (*real)(void *, size_t, size_t, FILE *), int (*getc_fn)(FILE *)) {
  size_t want = size * n, got = 0, avail;
  char *p = ptr;
  if (size && want / size != n) return real(ptr, size, n, fp); /* overflow: stdio's answer */
  while (got < want) {
    ready(h, fp, "fread");
    if (!(avail = buffered(fp))) {
      int c = getc_fn(fp);
      if (c == EOF) break;
      p[got++] = (char)c;
      continue;
    }
    if (avail > want - got) avail = want - got;
    got += real(p + got, 1, avail, fp);
  }
  return size ? got / size : 0;
}

GREEN__SHIM_EXPORT size_t fread(void *restrict ptr, size_t size, size_t n, FILE *restrict fp) {
  struct green__hub *h = green_stream(fp);
  if (!h || !size || !n) return green__real.fread(ptr, size, n, fp);
  return fread_green(h, ptr, size, n, fp, green__real.fread, green__real.fgetc);
}

GREEN__SHIM_EXPORT size_t fread_unlocked(void *restrict ptr, size_t size, size_t n,
                                         FILE *restrict fp) {
  struct green__hub *h = green_stream(fp);
  if (!h || !size || !n) return green__real.fread_unlocked(ptr, size, n, fp);
  return fread_green(h, ptr, size, n, fp, green__real.fread_unlocked, green__real.fgetc_unlocked);
}

/* Room for len + more + 1 bytes in *lp (getdelim grows the line as glibc does). */
static int grow(char **lp, size_t *cap, size_t need) {
  size_t c = *cap ? *cap : 120;
  char *p;
  if (*lp && need <= *cap) return 0;
  while (c < need) c *= 2;
  if (!(p = realloc(*lp, c))) return -1;
  *lp = p;
  *cap = c;
  return 0;
}

GREEN__SHIM_EXPORT ssize_t getdelim(char **restrict lp, size_t *restrict cap, int delim,
                                    FILE *restrict fp) {
  struct green__hub *h = green_stream(fp);
  size_t len = 0, avail, take;
  const char *end;
  if (!h || !lp || !cap) return green__real.getdelim(lp, cap, delim, fp);
  if (grow(lp, cap, 1) < 0) return -1;
  for (;;) {
    ready(h, fp, "getdelim");
    if (!(avail = buffered(fp))) {
      int c = green__real.fgetc(fp);
      if (c == EOF) break;
      if (grow(lp, cap, len + 2) < 0) return -1;
      (*lp)[len++] = (char)c;
      if (c == delim) break;
      continue;
    }
    end = memchr(fp->_IO_read_ptr, delim, avail);
    take = end ? (size_t)(end - fp->_IO_read_ptr) + 1 : avail;
    if (grow(lp, cap, len + take + 1) < 0) return -1;
    len += green__real.fread(*lp + len, 1, take, fp);
    if (end) break;
  }
  if (len == 0 || ferror(fp)) return -1;
  (*lp)[len] = '\0';
  return (ssize_t)len;
}

GREEN__SHIM_EXPORT ssize_t __getdelim(char **restrict lp, size_t *restrict cap, int delim,
                                      FILE *restrict fp) {
  return getdelim(lp, cap, delim, fp);
}

GREEN__SHIM_EXPORT ssize_t getline(char **restrict lp, size_t *restrict cap, FILE *restrict fp) {
  return getdelim(lp, cap, '\n', fp);
}

/* ---- the scanf family ------------------------------------------------------------------- */

typedef struct scan_source {
  struct green__hub *h;
  FILE *fp;
} scan_source_t;

/* The private stream's refill: what the program's FILE has buffered. When it has nothing,
 * one green refill comes first. So whatever the scan leaves unread still sits in that FILE's
 * buffer, just before its read pointer. */
static ssize_t scan_read(void *cookie, char *buf, size_t n) {
  scan_source_t *src = cookie;
  FILE *fp = src->fp;
  size_t avail;
  int c;
  if (n == 0) return 0;
  ready(src->h, fp, "fscanf");
  if (!(avail = buffered(fp))) {
    if ((c = green__real.fgetc(fp)) == EOF) return ferror(fp) ? -1 : 0;
    buf[0] = (char)c;
    return 1;
  }
  return (ssize_t)green__real.fread(buf, 1, avail < n ? avail : n, fp);
}

/* Give fp back what the scan took but left unread: the rest of the last refill, with the
 * byte it looked ahead at. Those bytes are still fp's, just before its read pointer. Step
 * back over them, and clear fp's end-of-file mark as ungetc would. Should they not be there,
 * push them back one by one. */
static void scan_give_back(FILE *scan, FILE *fp) {
  size_t k = (size_t)(scan->_IO_read_end - scan->_IO_read_ptr);
  if (!k) return;
  if ((size_t)(fp->_IO_read_ptr - fp->_IO_read_base) >= k &&
      memcmp(fp->_IO_read_ptr - k, scan->_IO_read_ptr, k) == 0) {
    fp->_IO_read_ptr -= k;
    fp->_flags &= ~_IO_EOF_SEEN;
    return;
  }
  while (scan->_IO_read_end > scan->_IO_read_ptr) ungetc((unsigned char)*--scan->_IO_read_end, fp);
}

static int vfscanf_green(struct green__hub *h, FILE *fp, const char *fmt, va_list ap,
                         int (*real)(FILE *, const char *, va_list)) {
  scan_source_t src = {h, fp};
  cookie_io_functions_t io = {.read = scan_read};
  char buf[512];
  int r, e;
  FILE *scan = fopencookie(&src, "r", io);
  if (!scan) return real(fp, fmt, ap); /* out of memory: the plain scan */
  setvbuf(scan, buf, _IOFBF, sizeof buf);
  r = real(scan, fmt, ap);
  e = errno;
  scan_give_back(scan, fp);
  green__real.fclose(scan);
  errno = e;
  return r;
}

/* glibc's headers turn fscanf into __isoc99_fscanf (and so on). Each hook is named by an asm
 * label, so both the plain and the ISO C99 symbols are defined. */
#define SCAN_HOOKS(fsym, vsym)                                                                 \
  int hook_##vsym(FILE *restrict fp, const char *restrict fmt, va_list ap) __asm__(#vsym);     \
  GREEN__SHIM_EXPORT int hook_##vsym(FILE *restrict fp, const char *restrict fmt, va_list ap) { \
    struct green__hub *h = green_stream(fp);                                                   \
    if (!h) return green__real.vsym(fp, fmt, ap);                                              \
    return vfscanf_green(h, fp, fmt, ap, green__real.vsym);                                    \
  }                                                                                            \
  int hook_##fsym(FILE *restrict fp, const char *restrict fmt, ...) __asm__(#fsym);            \
  GREEN__SHIM_EXPORT int hook_##fsym(FILE *restrict fp, const char *restrict fmt, ...) {       \
    va_list ap;                                                                                \
    int r;                                                                                     \
    va_start(ap, fmt);                                                                         \
    r = hook_##vsym(fp, fmt, ap);                                                              \
    va_end(ap);                                                                                \
    return r;                                                                                  \
  }
SCAN_HOOKS(fscanf, vfscanf)
SCAN_HOOKS(__isoc99_fscanf, __isoc99_vfscanf)

#define STDIN_SCAN_HOOKS(fsym, vsym, vfsym)                                                    \
  int hook_##vsym(const char *restrict fmt, va_list ap) __asm__(#vsym);                        \
  GREEN__SHIM_EXPORT int hook_##vsym(const char *restrict fmt, va_list ap) {                   \
    return hook_##vfsym(stdin, fmt, ap);                                                       \
  }                                                                                            \
  int hook_##fsym(const char *restrict fmt, ...) __asm__(#fsym);                               \
  GREEN__SHIM_EXPORT int hook_##fsym(const char *restrict fmt, ...) {                          \
    va_list ap;                                                                                \
    int r;                                                                                     \
    va_start(ap, fmt);                                                                         \
    r = hook_##vfsym(stdin, fmt, ap);                                                          \
    va_end(ap);                                                                                \
    return r;                                                                                  \
  }
STDIN_SCAN_HOOKS(scanf, vscanf, vfscanf)
STDIN_SCAN_HOOKS(__isoc99_scanf, __isoc99_vscanf, __isoc99_vfscanf)

/* ---- wide characters ----------------------------------------------------------------------
 * A wide stream converts from its byte buffer into a buffer of wchar_t. It needs a refill
 * when both are empty. The green forms park until one holds something or the fd is
 * readable. Then they call libc's; one refill cannot block. fgetws goes a character at a
 * time that way. A multibyte character split across two refills can still block. So can a
 * wide scan that needs a second refill. fopencookie's streams cannot be wide, so the narrow
 * scan's private stream has no wide form. */

typedef struct wide_head { /* glibc's struct _IO_wide_data starts so (stable ABI) */
  wchar_t *read_ptr, *read_end;
} wide_head_t;

static void ready_wide(struct green__hub *h, FILE *fp, const char *call) {
  const wide_head_t *w = (const wide_head_t *)fp->_wide_data;
  if (fp->_mode > 0 && w && w->read_ptr < w->read_end) return; /* only a wide one's is valid */
  ready(h, fp, call);
}

#define WCHAR_HOOK(name)                                     \
  GREEN__SHIM_EXPORT wint_t name(FILE *fp) {                 \
    struct green__hub *h = green_stream(fp);                 \
    if (h) ready_wide(h, fp, #name);                         \
    return green__real.name(fp);                             \
  }
WCHAR_HOOK(fgetwc)
WCHAR_HOOK(getwc)
WCHAR_HOOK(fgetwc_unlocked)
WCHAR_HOOK(getwc_unlocked)

GREEN__SHIM_EXPORT wint_t getwchar(void) { return getwc(stdin); }
GREEN__SHIM_EXPORT wint_t getwchar_unlocked(void) { return getwc_unlocked(stdin); }

static wchar_t *fgetws_green(struct green__hub *h, wchar_t *s, int n, FILE *fp,
                             wint_t (*getwc_fn)(FILE *)) {
  int got = 0;
  wint_t c;
  while (got < n - 1) {
    ready_wide(h, fp, "fgetws");
    if ((c = getwc_fn(fp)) == WEOF) break;
    s[got++] = (wchar_t)c;
    if (c == L'\n') break;
  }
  if (got == 0 || ferror(fp)) return NULL;
  s[got] = L'\0';
  return s;
}

GREEN__SHIM_EXPORT wchar_t *fgetws(wchar_t *restrict s, int n, FILE *restrict fp) {
  struct green__hub *h = green_stream(fp);
  if (!h || n <= 1 || !s) return green__real.fgetws(s, n, fp);
  return fgetws_green(h, s, n, fp, green__real.fgetwc);
}

GREEN__SHIM_EXPORT wchar_t *fgetws_unlocked(wchar_t *restrict s, int n, FILE *restrict fp) {
  struct green__hub *h = green_stream(fp);
  if (!h || n <= 1 || !s) return green__real.fgetws_unlocked(s, n, fp);
  return fgetws_green(h, s, n, fp, green__real.fgetwc_unlocked);
}

#define WSCAN_HOOKS(fsym, vsym)                                                                \
  int hook_##vsym(FILE *restrict fp, const wchar_t *restrict fmt, va_list ap) __asm__(#vsym);  \
  GREEN__SHIM_EXPORT int hook_##vsym(FILE *restrict fp, const wchar_t *restrict fmt,            \
                                     va_list ap) {                                             \
    struct green__hub *h = green_stream(fp);                                                   \
    if (h) ready_wide(h, fp, "fwscanf");                                                       \
    return green__real.vsym(fp, fmt, ap);                                                      \
  }                                                                                            \
  int hook_##fsym(FILE *restrict fp, const wchar_t *restrict fmt, ...) __asm__(#fsym);         \
  GREEN__SHIM_EXPORT int hook_##fsym(FILE *restrict fp, const wchar_t *restrict fmt, ...) {    \
    va_list ap;                                                                                \
    int r;                                                                                     \
    va_start(ap, fmt);                                                                         \
    r = hook_##vsym(fp, fmt, ap);                                                              \
    va_end(ap);                                                                                \
    return r;                                                                                  \
  }
WSCAN_HOOKS(fwscanf, vfwscanf)
WSCAN_HOOKS(__isoc99_fwscanf, __isoc99_vfwscanf)

#define STDIN_WSCAN_HOOKS(fsym, vsym, vfsym)                                                   \
  int hook_##vsym(const wchar_t *restrict fmt, va_list ap) __asm__(#vsym);                     \
  GREEN__SHIM_EXPORT int hook_##vsym(const wchar_t *restrict fmt, va_list ap) {                \
    return hook_##vfsym(stdin, fmt, ap);                                                       \
  }                                                                                            \
  int hook_##fsym(const wchar_t *restrict fmt, ...) __asm__(#fsym);                            \
  GREEN__SHIM_EXPORT int hook_##fsym(const wchar_t *restrict fmt, ...) {                       \
    va_list ap;                                                                                \
    int r;                                                                                     \
    va_start(ap, fmt);                                                                         \
    r = hook_##vfsym(stdin, fmt, ap);                                                          \
    va_end(ap);                                                                                \
    return r;                                                                                  \
  }
STDIN_WSCAN_HOOKS(wscanf, vwscanf, vfwscanf)
STDIN_WSCAN_HOOKS(__isoc99_wscanf, __isoc99_vwscanf, __isoc99_vfwscanf)

/* ---- the fortified forms ---------------------------------------------------------------- */

GREEN__SHIM_EXPORT char *__fgets_chk(char *s, size_t size, int n, FILE *fp) {
  green__real_ready();
  if ((size_t)n > size) return green__real.__fgets_chk(s, size, n, fp);
  return fgets(s, n, fp);
}

GREEN__SHIM_EXPORT char *__fgets_unlocked_chk(char *s, size_t size, int n, FILE *fp) {
  green__real_ready();
  if ((size_t)n > size) return green__real.__fgets_unlocked_chk(s, size, n, fp);
  return fgets_unlocked(s, n, fp);
}

GREEN__SHIM_EXPORT wchar_t *__fgetws_chk(wchar_t *s, size_t size, int n, FILE *fp) {
  green__real_ready();
  if ((size_t)n > size) return green__real.__fgetws_chk(s, size, n, fp);
  return fgetws(s, n, fp);
}

GREEN__SHIM_EXPORT wchar_t *__fgetws_unlocked_chk(wchar_t *s, size_t size, int n, FILE *fp) {
  green__real_ready();
  if ((size_t)n > size) return green__real.__fgetws_unlocked_chk(s, size, n, fp);
  return fgetws_unlocked(s, n, fp);
}

GREEN__SHIM_EXPORT size_t __fread_chk(void *restrict ptr, size_t ptrlen, size_t size, size_t n,
                                      FILE *restrict fp) {
  green__real_ready();
  if (size && n > ptrlen / size) return green__real.__fread_chk(ptr, ptrlen, size, n, fp);
  return fread(ptr, size, n, fp);
}

GREEN__SHIM_EXPORT size_t __fread_unlocked_chk(void *restrict ptr, size_t ptrlen, size_t size,
                                               size_t n, FILE *restrict fp) {
  green__real_ready();
  if (size && n > ptrlen / size)
    return green__real.__fread_unlocked_chk(ptr, ptrlen, size, n, fp);
  return fread_unlocked(ptr, size, n, fp);
}

/* ---- FILE locks the program holds ------------------------------------------------------
 * flockfile's lock belongs to the OS thread, which all green threads share. While a green
 * thread holds one, nothing preempts it: not the timer signal (src/tick.c), not a hooked call
 * (the gate, shim.c). Otherwise another green thread would take the same lock as its owner.
 * It would write into the FILE half-way through. The holder yields once it lets go. */
static void count_file_lock(int delta) {
  struct green__hub *h = green__hub_peek();
  if (h && (delta > 0 || h->current->nopreempt)) /* a lock taken before the hub: not counted */
    h->current->nopreempt = (uint16_t)(h->current->nopreempt + delta);
}

GREEN__SHIM_EXPORT void flockfile(FILE *f) {
  green__real_ready();
  green__real.flockfile(f);
  count_file_lock(1);
}

GREEN__SHIM_EXPORT int ftrylockfile(FILE *f) {
  int r;
  green__real_ready();
  if ((r = green__real.ftrylockfile(f)) == 0) count_file_lock(1);
  return r;
}

GREEN__SHIM_EXPORT void funlockfile(FILE *f) {
  green__real_ready();
  count_file_lock(-1);
  green__real.funlockfile(f);
}
