/* SPDX-License-Identifier: MIT */
/*
 * stdio output to a pipe that another thread of the same process reads slowly: fprintf,
 * fputs, fwrite (one block far larger than the pipe), fputc/putc and fflush on a fully
 * buffered, a line-buffered, an unbuffered and a big-buffered stream, then printf, puts,
 * putchar and vprintf with stdout itself on the pipe, and dprintf. Each stream's bytes are
 * compared with what the same calls put into an open_memstream. Built with _FORTIFY_SOURCE,
 * so printf and fprintf are the __printf_chk forms Debian's gcc -O2 emits. Last,
 * wide-character input (fgetwc, fgetws, fwscanf) from a pipe a thread writes UTF-8 into
 * slowly (the scan's input comes in one piece: a wide scan that needs two refills still
 * blocks). Natively the writer waits for the reader; under a shim whose stdio flush
 * blocks, the one OS thread waits for good.
 */
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <wchar.h>

#include "prog.h"

enum { BLOCK = 300000 };

static char block[BLOCK];

static uint64_t fnv(uint64_t h, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
  return h;
}

typedef struct reader {
  int fd;
  size_t got;
  uint64_t sum;
} reader_t;

static void *read_slowly(void *arg) {
  reader_t *r = arg;
  char buf[4096];
  ssize_t n;
  int k = 0;
  r->sum = 1469598103934665603ULL;
  while ((n = read(r->fd, buf, sizeof buf)) > 0) {
    r->sum = fnv(r->sum, buf, (size_t)n);
    r->got += (size_t)n;
    if (++k % 8 == 0) usleep(1000);
  }
  PROG_CHECK(n == 0);
  close(r->fd);
  return NULL;
}

static void vput(FILE *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
}

/* Everything one stream gets. */
static void write_stream(FILE *f) {
  for (int i = 0; i < 3000; i++) {
    fprintf(f, "line %d: %s %08x\n", i, i % 2 ? "odd" : "even", (unsigned)(i * 2654435761u));
    if (i % 7 == 0) fputs("a fputs line\n", f);
    if (i % 500 == 0) vput(f, "vfprintf %d of %s\n", i, "3000");
  }
  fwrite(block, 1, sizeof block, f);
  for (int i = 0; i < 50000; i++) (i % 2 ? fputc : putc)('a' + i % 26, f);
  fputs("no newline at the end", f);
  fflush(f);
}

static void *stream_writer(void *arg) {
  FILE *f = arg;
  write_stream(f);
  return NULL;
}

/* What the calls put out, from an open_memstream. */
static uint64_t expected(void (*fn)(FILE *), size_t *len) {
  char *buf = NULL;
  size_t n = 0;
  FILE *m = open_memstream(&buf, &n);
  uint64_t sum;
  PROG_CHECK(m);
  fn(m);
  fclose(m);
  sum = fnv(1469598103934665603ULL, buf, n);
  *len = n;
  free(buf);
  return sum;
}

static void check(const char *what, reader_t *r, void (*fn)(FILE *)) {
  size_t len;
  uint64_t sum = expected(fn, &len);
  printf("%s: reader got %zu bytes (%s), checksum %s\n", what, r->got,
         r->got == len ? "all" : "NOT ALL", r->sum == sum ? "ok" : "WRONG");
}

static void stream_case(const char *what, int mode, size_t size) {
  int p[2];
  pthread_t t, w;
  reader_t r = {0};
  FILE *f;
  PROG_CHECK(pipe(p) == 0 && (f = fdopen(p[1], "w")));
  if (mode >= 0) PROG_CHECK(setvbuf(f, NULL, mode, size) == 0);
  r.fd = p[0];
  PROG_CHECK(pthread_create(&t, NULL, read_slowly, &r) == 0);
  PROG_CHECK(pthread_create(&w, NULL, stream_writer, f) == 0);
  if (mode < 0) prog_report_threads();
  PROG_CHECK(pthread_join(w, NULL) == 0);
  fclose(f);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  check(what, &r, write_stream);
}

/* stdout itself on the pipe (printf, puts, putchar, vprintf). */
static void write_stdout_calls(FILE *f) {
  for (int i = 0; i < 4000; i++) {
    if (f == stdout) printf("printf %d %s\n", i, "x");
    else fprintf(f, "printf %d %s\n", i, "x");
    if (i % 3 == 0) {
      if (f == stdout) puts("puts line");
      else fputs("puts line\n", f);
    }
    if (i % 5 == 0) (f == stdout ? putchar('!') : putc('!', f));
  }
  if (f == stdout) fwrite(block, 1, sizeof block, stdout);
  else fwrite(block, 1, sizeof block, f);
}

static void *stdout_writer(void *arg) {
  (void)arg;
  write_stdout_calls(stdout);
  fflush(stdout);
  return NULL;
}

static void stdout_case(void) {
  int p[2], saved;
  pthread_t t, w;
  reader_t r = {0};
  fflush(stdout);
  PROG_CHECK(pipe(p) == 0 && (saved = dup(1)) >= 0 && dup2(p[1], 1) == 1);
  close(p[1]);
  r.fd = p[0];
  PROG_CHECK(pthread_create(&t, NULL, read_slowly, &r) == 0);
  PROG_CHECK(pthread_create(&w, NULL, stdout_writer, NULL) == 0);
  PROG_CHECK(pthread_join(w, NULL) == 0);
  fflush(stdout);
  PROG_CHECK(dup2(saved, 1) == 1);
  close(saved);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  check("stdout on a pipe", &r, write_stdout_calls);
}

/* dprintf to the pipe (a FILE of glibc's own on the fd, flushed at once). */
static int dprintf_fd = -1;

static void write_dprintf(FILE *f) {
  for (int i = 0; i < 20000; i++) {
    if (f) fprintf(f, "dprintf line %d of %d\n", i, 20000);
    else dprintf(dprintf_fd, "dprintf line %d of %d\n", i, 20000);
  }
}

static void *dprintf_writer(void *arg) {
  (void)arg;
  write_dprintf(NULL);
  close(dprintf_fd);
  return NULL;
}

static void dprintf_case(void) {
  int p[2];
  pthread_t t, w;
  reader_t r = {0};
  PROG_CHECK(pipe(p) == 0);
  r.fd = p[0];
  dprintf_fd = p[1];
  PROG_CHECK(pthread_create(&t, NULL, read_slowly, &r) == 0);
  PROG_CHECK(pthread_create(&w, NULL, dprintf_writer, NULL) == 0);
  PROG_CHECK(pthread_join(w, NULL) == 0);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  check("dprintf", &r, write_dprintf);
}

static int wide_pipe[2];

static void *write_utf8_slowly(void *arg) {
  const char *pieces[] = {"\xc3\xa9t\xc3\xa9 ", "caf\xc3\xa9\n", "na\xc3\xafve ligne\n",
                          "42 \xe2\x82\xac" "17\n"};
  (void)arg;
  for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
    usleep(20000);
    PROG_CHECK(write(wide_pipe[1], pieces[i], strlen(pieces[i])) == (ssize_t)strlen(pieces[i]));
  }
  close(wide_pipe[1]);
  return NULL;
}

static void wide_case(void) {
  pthread_t t;
  FILE *in;
  wchar_t line[64], word[16];
  wint_t c;
  int n = 0, k;
  PROG_CHECK(setlocale(LC_CTYPE, "C.UTF-8"));
  PROG_CHECK(pipe(wide_pipe) == 0 && (in = fdopen(wide_pipe[0], "r")));
  PROG_CHECK(pthread_create(&t, NULL, write_utf8_slowly, NULL) == 0);
  c = fgetwc(in);
  printf("fgetwc: U+%04X\n", (unsigned)c);
  PROG_CHECK(fgetws(line, 64, in));
  printf("fgetws: %zu wide characters, last U+%04X\n", wcslen(line),
         (unsigned)line[wcslen(line) - 2]);
  PROG_CHECK(fgetws(line, 64, in));
  printf("fgetws: %ls", line);
  k = fwscanf(in, L"%d %ls", &n, word);
  printf("fwscanf: %d conversions: %d, %zu wide characters\n", k, n, wcslen(word));
  printf("fgetwc at the end: %s\n", fgetwc(in) == L'\n' && fgetwc(in) == WEOF ? "newline, WEOF" : "?");
  PROG_CHECK(pthread_join(t, NULL) == 0);
  fclose(in);
}

int main(void) {
  for (size_t i = 0; i < sizeof block; i++) block[i] = (char)('A' + (i * 7) % 53);
  stream_case("fully buffered", -1, 0);
  stream_case("line buffered", _IOLBF, 0);
  stream_case("unbuffered", _IONBF, 0);
  stream_case("buffer of 256 KiB", _IOFBF, 256 * 1024);
  stdout_case();
  dprintf_case();
  wide_case();
  return 0;
}
