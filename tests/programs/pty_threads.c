/* SPDX-License-Identifier: MIT */
/*
 * A pty between threads of one process: one thread writes 1 MiB into the slave side (raw
 * mode) with write(2), then 300 KB with fprintf, far more than the pty holds, while another
 * reads the master side slowly; then, in canonical mode, a thread reads lines from the
 * slave (read(2) and fgets) that the main thread types into the master one at a time. The
 * slave's mode (O_NONBLOCK) and termios stay the program's. Natively each side waits for
 * the other; under a shim that passes ttys through, the first full write or the first read
 * of a line not yet typed blocks the one OS thread for good.
 */
#include <fcntl.h>
#include <stdint.h>
#include <termios.h>

#include "prog.h"

enum { BIG = 1 << 20, LINES = 5 };

static int master, slave;

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

typedef struct job {
  size_t want, got;
  uint64_t sum;
} job_t;

static void *read_master(void *arg) {
  job_t *j = arg;
  unsigned char buf[4096];
  int k = 0;
  j->sum = 1469598103934665603ULL;
  while (j->got < j->want) {
    ssize_t n = read(master, buf, sizeof buf);
    PROG_CHECK(n > 0);
    j->sum = fnv(j->sum, buf, (size_t)n);
    j->got += (size_t)n;
    if (++k % 8 == 0) usleep(1000);
  }
  return NULL;
}

static unsigned char *pattern(size_t n) {
  unsigned char *b = malloc(n);
  PROG_CHECK(b);
  for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(i * 131 + i / 977);
  return b;
}

static void raw_case(void) {
  unsigned char *data = pattern(BIG);
  job_t j = {.want = BIG};
  pthread_t t;
  size_t off = 0;
  PROG_CHECK(pthread_create(&t, NULL, read_master, &j) == 0);
  prog_report_threads();
  while (off < BIG) {
    ssize_t n = write(slave, data + off, BIG - off < 65536 ? BIG - off : 65536);
    PROG_CHECK(n > 0);
    off += (size_t)n;
  }
  PROG_CHECK(pthread_join(t, NULL) == 0);
  printf("write to the slave: %zu bytes; master read %zu, checksum %s\n", off, j.got,
         j.sum == fnv(1469598103934665603ULL, data, BIG) ? "ok" : "WRONG");
  free(data);
}

static void stdio_case(void) {
  FILE *f = fdopen(dup(slave), "w");
  job_t j = {0};
  pthread_t t;
  char line[64];
  uint64_t sum = 1469598103934665603ULL;
  PROG_CHECK(f);
  for (int i = 0; i < 10000; i++) {
    int n = snprintf(line, sizeof line, "pty line %05d of 10000 .........\n", i);
    sum = fnv(sum, (unsigned char *)line, (size_t)n);
    j.want += (size_t)n;
  }
  PROG_CHECK(pthread_create(&t, NULL, read_master, &j) == 0);
  for (int i = 0; i < 10000; i++) fprintf(f, "pty line %05d of 10000 .........\n", i);
  fclose(f);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  printf("fprintf to the slave: master read %zu of %zu bytes, checksum %s\n", j.got, j.want,
         j.sum == sum ? "ok" : "WRONG");
}

static void *read_lines(void *arg) {
  FILE *in = fdopen(dup(slave), "r");
  char buf[256];
  (void)arg;
  PROG_CHECK(in);
  for (int i = 0; i < LINES; i++) {
    ssize_t n = read(slave, buf, sizeof buf - 1);
    PROG_CHECK(n > 0);
    buf[n] = '\0';
    printf("read from the slave: %s", buf);
    PROG_CHECK(fgets(buf, sizeof buf, in));
    printf("fgets from the slave: %s", buf);
  }
  fclose(in);
  return NULL;
}

static void canonical_case(const struct termios *cooked) {
  pthread_t t;
  char line[64];
  PROG_CHECK(tcsetattr(slave, TCSANOW, cooked) == 0);
  PROG_CHECK(pthread_create(&t, NULL, read_lines, NULL) == 0);
  for (int i = 0; i < 2 * LINES; i++) {
    usleep(10000); /* the reader waits for a line that is not there yet */
    int n = snprintf(line, sizeof line, "typed line %d\n", i);
    PROG_CHECK(write(master, line, (size_t)n) == n);
  }
  PROG_CHECK(pthread_join(t, NULL) == 0);
}

int main(void) {
  struct termios cooked, raw;
  PROG_CHECK((master = posix_openpt(O_RDWR | O_NOCTTY)) >= 0);
  PROG_CHECK(grantpt(master) == 0 && unlockpt(master) == 0);
  PROG_CHECK((slave = open(ptsname(master), O_RDWR | O_NOCTTY)) >= 0);
  PROG_CHECK(tcgetattr(slave, &cooked) == 0);
  cooked.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
  raw = cooked;
  cfmakeraw(&raw);
  PROG_CHECK(tcsetattr(slave, TCSANOW, &raw) == 0);
  raw_case();
  stdio_case();
  canonical_case(&cooked);
  PROG_CHECK(tcgetattr(slave, &raw) == 0);
  printf("slave: O_NONBLOCK %d, ICANON %d\n", !!(fcntl(slave, F_GETFL) & O_NONBLOCK),
         !!(raw.c_lflag & ICANON));
  close(slave);
  close(master);
  return 0;
}
