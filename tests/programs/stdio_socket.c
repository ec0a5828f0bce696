/* SPDX-License-Identifier: MIT */
/*
 * stdio on sockets and pipes between threads of one process: lines through fdopen'd
 * socketpair streams (fprintf + fflush one way, fgets the other, a line longer than stdio's
 * buffer too), fread of records a thread writes slowly into a pipe, getline, and fscanf of
 * numbers a thread writes in pieces that split them (fgets then reads on where it stopped).
 */
#include <ctype.h>
#include <pthread.h>
#include <sys/socket.h>

#include "prog.h"

static int sv[2], p[2], q[2], n[2];

static void *upper(void *arg) {
  FILE *in = fdopen(sv[1], "r"), *out = fdopen(dup(sv[1]), "w");
  static char line[8192];
  (void)arg;
  PROG_CHECK(in && out);
  while (fgets(line, sizeof line, in)) {
    for (char *c = line; *c; c++) *c = (char)toupper((unsigned char)*c);
    fputs(line, out);
    fflush(out);
  }
  fclose(in);
  fclose(out);
  return NULL;
}

static void *records(void *arg) {
  FILE *out = fdopen(p[1], "w");
  char rec[1000];
  (void)arg;
  PROG_CHECK(out);
  for (int i = 0; i < 3; i++) {
    memset(rec, 'a' + i, sizeof rec);
    fwrite(rec, 1, sizeof rec, out);
    fflush(out);
    usleep(50000);
  }
  fclose(out);
  return NULL;
}

static void *lines(void *arg) {
  FILE *out = fdopen(q[1], "w");
  (void)arg;
  PROG_CHECK(out);
  for (int i = 0; i < 5; i++) {
    fprintf(out, "slow line %d%s", i, i == 4 ? "" : "\n"); /* the last one without newline */
    fflush(out);
    usleep(20000);
  }
  fclose(out);
  return NULL;
}

static void *numbers(void *arg) {
  const char *pieces[] = {"1", "2 3", "4 -5", "6\nrest of ", "the line\n", "7 x\n"};
  (void)arg;
  for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
    if (write(n[1], pieces[i], strlen(pieces[i])) < 0) prog_die("numbers");
    usleep(20000);
  }
  close(n[1]);
  return NULL;
}

static void scan_numbers(void) {
  FILE *in;
  pthread_t t;
  int a = 0, b = 0, c = 0, k;
  char rest[64];
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, n) == 0 && (in = fdopen(n[0], "r")));
  PROG_CHECK(pthread_create(&t, NULL, numbers, NULL) == 0);
  k = fscanf(in, "%d %d %d", &a, &b, &c);
  printf("fscanf: %d conversions: %d %d %d\n", k, a, b, c);
  printf("fgets after it: '%s'", fgets(rest, sizeof rest, in) ? rest : "NULL\n");
  printf("fgets: '%s'", fgets(rest, sizeof rest, in) ? rest : "NULL\n");
  k = fscanf(in, "%d %d", &a, &b);
  printf("fscanf stopping at a letter: %d conversions: %d, next char '%c'\n", k, a, fgetc(in));
  k = fscanf(in, "%d", &a);
  printf("fscanf at the end: %d, eof %d\n", k, feof(in));
  PROG_CHECK(pthread_join(t, NULL) == 0);
  fclose(in);
}

int main(void) {
  pthread_t t[3];
  FILE *w, *r, *pr, *qr;
  static char reply[8192], block[3000];
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && pipe(p) == 0 && pipe(q) == 0);
  PROG_CHECK(pthread_create(&t[0], NULL, upper, NULL) == 0);
  PROG_CHECK(pthread_create(&t[1], NULL, records, NULL) == 0);
  PROG_CHECK(pthread_create(&t[2], NULL, lines, NULL) == 0);
  prog_report_threads();
  PROG_CHECK((w = fdopen(sv[0], "w")) && (r = fdopen(dup(sv[0]), "r")));
  for (int i = 0; i < 200; i++) {
    fprintf(w, "line %d: hello %d\n", i, i * i);
    fflush(w);
    PROG_CHECK(fgets(reply, sizeof reply, r));
    if (i % 40 == 0) printf("reply: %s", reply);
  }
  for (int i = 0; i < 5000; i++) fputc('a' + i % 26, w);
  fputc('\n', w);
  fflush(w);
  PROG_CHECK(fgets(reply, sizeof reply, r));
  printf("long line: %zu bytes, starts %.8s, ends %.3s", strlen(reply), reply,
         reply + strlen(reply) - 3);
  shutdown(sv[0], SHUT_WR);
  printf("after shutdown: %s\n", fgets(reply, sizeof reply, r) ? "a line" : "EOF");

  PROG_CHECK((pr = fdopen(p[0], "r")));
  size_t n = fread(block, 1, sizeof block, pr);
  printf("fread: %zu bytes, %c..%c..%c\n", n, block[0], block[1500], block[2999]);
  n = fread(block, 1, 10, pr);
  printf("fread at EOF: %zu, eof %d\n", n, feof(pr));

  PROG_CHECK((qr = fdopen(q[0], "r")));
  while ((len = getline(&line, &cap, qr)) >= 0) printf("getline: %zd: %s%s", len, line,
                                                        line[len - 1] == '\n' ? "" : "\n");
  free(line);
  for (int i = 0; i < 3; i++) PROG_CHECK(pthread_join(t[i], NULL) == 0);
  scan_numbers();
  fclose(w);
  fclose(r);
  fclose(pr);
  fclose(qr);
  return 0;
}
