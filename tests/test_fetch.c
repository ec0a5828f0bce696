/* SPDX-License-Identifier: MIT */
/* green-fetch end to end: the real green-fetch and green-httpd programs, started by the test
 * and stopped by PID, bodies compared by checksum with what green-httpd logged it served;
 * broken servers (malformed responses, silence, early closes) run in this process as
 * greenlets while green-fetch runs beside them. Loopback only. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "test.h"
#include "tls.h"

/* ---- processes, files ------------------------------------------------------------------ */

static char tmpdir[64];

static void make_tmpdir(void) {
  strcpy(tmpdir, "/tmp/green-fetch-test.XXXXXX");
  ASSERT_TRUE(mkdtemp(tmpdir) != NULL);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void remove_tmpdir(void) { ASSERT_OK(nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS)); }

static char *tmp_path(const char *name) {
  static char bufs[8][256];
  static int next;
  char *p = bufs[next++ % 8];
  snprintf(p, 256, "%s/%s", tmpdir, name);
  return p;
}

/* The whole file as a string ("" if it does not exist). */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0, cap = 0, r;
  do {
    if (!(buf = realloc(buf, cap += 65536))) TEST_FAIL("out of memory");
    r = f ? fread(buf + n, 1, cap - n - 1, f) : 0;
    n += r;
  } while (r);
  if (f) fclose(f);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

/* When non-zero, the fd limit (soft and hard: the programs raise the soft one) of the
 * processes spawned next, as `ulimit -n` would set it. */
static rlim_t child_nofile;

/* fork + exec with stdout/stderr to files (NULL: /dev/null) and stdin from a file; the child
 * dies with the test. */
static pid_t spawn_process(char *const argv[], const char *in, const char *out, const char *err) {
  pid_t pid = fork();
  ASSERT_OK(pid);
  if (pid == 0) {
    int i = open(in ? in : "/dev/null", O_RDONLY);
    int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct rlimit rl = {child_nofile, child_nofile};
    if (child_nofile && setrlimit(RLIMIT_NOFILE, &rl) < 0) _exit(126);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (i < 0 || o < 0 || e < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(126);
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

/* ---- green-httpd ----------------------------------------------------------------------- */

typedef struct httpd {
  pid_t pid;
  int port;
  char log[256];
  char err[256]; /* its standard error */
} httpd_t;

/* Starts green-httpd with the extra arguments (NULL-terminated) and waits for its port. */
static httpd_t start_httpd(const char *first, ...) {
  static int count;
  char *argv[16], name[32], *out;
  httpd_t h = {0};
  va_list ap;
  int n = 0;
  double t0 = test_now();
  snprintf(name, sizeof name, "httpd%d", count);
  snprintf(h.log, sizeof h.log, "%s", tmp_path(name));
  snprintf(name, sizeof name, "httpd%d.err", count);
  snprintf(h.err, sizeof h.err, "%s", tmp_path(name));
  snprintf(name, sizeof name, "httpd%d.out", count++);
  out = strdup(tmp_path(name));
  argv[n++] = GREEN_HTTPD_BIN;
  argv[n++] = "-l";
  argv[n++] = h.log;
  va_start(ap, first);
  for (const char *a = first; a && n < 14; a = va_arg(ap, const char *)) argv[n++] = (char *)a;
  va_end(ap);
  argv[n] = NULL;
  h.pid = spawn_process(argv, NULL, out, h.err);
  while (test_now() - t0 < 10) {
    char *text = slurp(out, NULL), *p = strstr(text, "PORT ");
    if (p && strchr(p, '\n')) h.port = atoi(p + 5);
    free(text);
    if (h.port) break;
    ASSERT_EQ(waitpid(h.pid, NULL, WNOHANG), 0); /* still running */
    usleep(5000);
  }
  free(out);
  ASSERT_GT(h.port, 0);
  return h;
}

static void stop_httpd(httpd_t *h) {
  int status;
  ASSERT_OK(kill(h->pid, SIGTERM));
  ASSERT_EQ(waitpid(h->pid, &status, 0), h->pid);
}

/* How many responses to `path` the log shows; the last one's size and checksum. */
static int served(const httpd_t *h, const char *path, unsigned long long *bytes,
                  unsigned long long *sum) {
  char *log = slurp(h->log, NULL), *line, *save = NULL, want[300];
  int count = 0;
  snprintf(want, sizeof want, " path=%s", path);
  for (line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *p = strstr(line, want);
    if (!p || p[strlen(want)] != '\0') continue;
    count++;
    if (bytes) ASSERT_EQ(sscanf(strstr(line, "bytes="), "bytes=%llu fnv=%llx", bytes, sum), 2);
  }
  free(log);
  return count;
}

/* The distinct connections the log shows. */
static int served_connections(const httpd_t *h) {
  char *log = slurp(h->log, NULL), *p = log;
  unsigned long max = 0, id;
  while ((p = strstr(p, "conn="))) {
    id = strtoul(p + 5, &p, 10);
    if (id > max) max = id;
  }
  free(log);
  return (int)max;
}

/* ---- running green-fetch --------------------------------------------------------------- */

typedef struct fetch_run {
  int status;  /* exit status */
  char *out;   /* standard output */
  char *err;   /* standard error */
  double wall; /* seconds */
} fetch_run_t;

/* Runs green-fetch with argv (NULL-terminated, without the program) while this process's
 * greenlets go on serving: the wait parks in green_sleep. */
static fetch_run_t run_fetch_in(const char *stdin_file, const char *const *args) {
  char *argv[64];
  fetch_run_t r;
  int n = 0, status;
  double t0 = test_now();
  pid_t pid;
  argv[n++] = GREEN_FETCH_BIN;
  while (*args && n < 63) argv[n++] = (char *)*args++;
  argv[n] = NULL;
  pid = spawn_process(argv, stdin_file, tmp_path("fetch.out"), tmp_path("fetch.err"));
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (test_now() - t0 > 60) {
      kill(pid, SIGKILL);
      TEST_FAIL("green-fetch still running after 60 s");
    }
    ASSERT_OK(green_sleep(0.002));
  }
  r.wall = test_now() - t0;
  ASSERT_TRUE(WIFEXITED(status)); /* no crash, no sanitizer abort */
  r.status = WEXITSTATUS(status);
  r.out = slurp(tmp_path("fetch.out"), NULL);
  r.err = slurp(tmp_path("fetch.err"), NULL);
  return r;
}

#define RUN_FETCH(...) run_fetch_in(NULL, (const char *const[]){__VA_ARGS__, NULL})

static void free_run(fetch_run_t *r) {
  free(r->out);
  free(r->err);
}

#define ASSERT_CONTAINS(hay, needle)                                                       \
  do {                                                                                     \
    if (!strstr((hay), (needle)))                                                          \
      TEST_FAIL("\"%s\" not found in:\n%s", (needle), (hay));                              \
  } while (0)

#define ASSERT_LACKS(hay, needle)                                                          \
  do {                                                                                     \
    if (strstr((hay), (needle))) TEST_FAIL("\"%s\" unexpected in:\n%s", (needle), (hay));  \
  } while (0)

static char *url(int port, const char *path) {
  static char bufs[32][512];
  static int next;
  char *p = bufs[next++ % 32];
  snprintf(p, 512, "http://127.0.0.1:%d%s", port, path);
  return p;
}

static char *line_of(const char *fmt, const char *u) {
  static char buf[512];
  snprintf(buf, sizeof buf, fmt, u);
  return buf;
}

static unsigned long long fnv_file(const char *path, size_t *len) {
  size_t n, i;
  unsigned char *p = (unsigned char *)slurp(path, &n);
  unsigned long long h = 0xcbf29ce484222325ULL;
  for (i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
  free(p);
  *len = n;
  return h;
}

/* The body saved under -o for the URL at `position` (1-based) matches what was served. */
static void assert_saved_body(const httpd_t *h, const char *outdir, int position,
                              const char *path) {
  char file[512];
  unsigned long long bytes, sum;
  size_t len;
  ASSERT_EQ(served(h, path, &bytes, &sum), 1);
  snprintf(file, sizeof file, "%s/%d-%s", outdir, position, strrchr(path, '/') + 1);
  if (fnv_file(file, &len) != sum) TEST_FAIL("%s: checksum differs from the served body", file);
  ASSERT_EQ(len, bytes);
}

/* ---- bodies ---------------------------------------------------------------------------- */

static void bodies(const char *kind) {
  static const char *sizes[] = {"0", "1", "1000", "65536", "100000", "3000000"};
  char paths[6][64];
  const char *args[16];
  httpd_t h;
  fetch_run_t r;
  int i, n = 0;
  make_tmpdir();
  h = start_httpd(NULL);
  args[n++] = "-o";
  args[n++] = tmp_path("out");
  for (i = 0; i < 6; i++) {
    snprintf(paths[i], sizeof paths[i], "/%s/%s", kind, sizes[i]);
    args[n++] = url(h.port, paths[i]);
  }
  args[n] = NULL;
  r = run_fetch_in(NULL, args);
  ASSERT_EQ(r.status, 0);
  ASSERT_CONTAINS(r.out, "6 URLs: 6 ok, 0 failed, 3166537 bytes in");
  for (i = 0; i < 6; i++) {
    char want[200];
    ASSERT_CONTAINS(r.out, line_of("GET: %s\n", url(h.port, paths[i])));
    snprintf(want, sizeof want, "%s bytes received from %s.\n", sizes[i], url(h.port, paths[i]));
    ASSERT_CONTAINS(r.out, want);
    assert_saved_body(&h, tmp_path("out"), i + 1, paths[i]);
  }
  ASSERT_EQ(r.err[0], '\0'); /* piped: plain lines, no progress line */
  ASSERT_LACKS(r.out, "\033[");
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

TEST_CASE(content_length_bodies) { bodies("bytes"); }

TEST_CASE(chunked_bodies) { bodies("chunked"); }

/* ---- redirects, statuses ---------------------------------------------------------------- */

TEST_CASE(redirects) {
  httpd_t h;
  fetch_run_t r;
  char file[300];
  make_tmpdir();
  h = start_httpd(NULL);
  r = RUN_FETCH("-o", tmp_path("out"), url(h.port, "/redirect/5"));
  ASSERT_EQ(r.status, 0);
  ASSERT_CONTAINS(r.out, line_of("15 bytes received from %s.\n", url(h.port, "/redirect/5")));
  /* Locations of all three kinds: absolute (5, 2), path-absolute (4, 1), relative (3). */
  for (int i = 0; i <= 5; i++) {
    char path[32];
    snprintf(path, sizeof path, "/redirect/%d", i);
    ASSERT_EQ(served(&h, path, NULL, NULL), 1);
  }
  snprintf(file, sizeof file, "%s/1-5", tmp_path("out"));
  char *body = slurp(file, NULL);
  ASSERT_TRUE(strcmp(body, "redirects done\n") == 0);
  free(body);
  ASSERT_EQ(served_connections(&h), 1); /* one kept-alive connection for all six */
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

TEST_CASE(redirect_loop_stops_at_5) {
  httpd_t h;
  fetch_run_t r;
  make_tmpdir();
  h = start_httpd(NULL);
  r = RUN_FETCH(url(h.port, "/loop"), url(h.port, "/redirect/6"), url(h.port, "/redirect/5"));
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.err, line_of("error: %s: too many redirects (more than 5)\n",
                                 url(h.port, "/loop")));
  ASSERT_CONTAINS(r.err, line_of("error: %s: too many redirects (more than 5)\n",
                                 url(h.port, "/redirect/6")));
  ASSERT_CONTAINS(r.out, line_of("15 bytes received from %s.\n", url(h.port, "/redirect/5")));
  ASSERT_EQ(served(&h, "/loop", NULL, NULL), 6); /* the request and 5 redirects, no more */
  ASSERT_EQ(served(&h, "/redirect/0", NULL, NULL), 1); /* from /redirect/5 only */
  ASSERT_CONTAINS(r.out, "3 URLs: 1 ok, 2 failed");
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

TEST_CASE(http_error_statuses) {
  httpd_t h;
  fetch_run_t r;
  make_tmpdir();
  h = start_httpd(NULL);
  r = RUN_FETCH("-o", tmp_path("out"), url(h.port, "/status/404"), url(h.port, "/status/500"),
                url(h.port, "/nothing/here"), url(h.port, "/status/204"));
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.err, line_of("error: %s: HTTP 404 Not Found\n", url(h.port, "/status/404")));
  ASSERT_CONTAINS(r.err, line_of("error: %s: HTTP 500 Internal Server Error\n",
                                 url(h.port, "/status/500")));
  ASSERT_CONTAINS(r.err, line_of("error: %s: HTTP 404 Not Found\n", url(h.port, "/nothing/here")));
  ASSERT_CONTAINS(r.out, line_of("0 bytes received from %s.\n", url(h.port, "/status/204")));
  ASSERT_CONTAINS(r.out, "4 URLs: 1 ok, 3 failed");
  /* Error bodies are not saved as if they were the resource. */
  ASSERT_TRUE(access(tmp_path("out/1-404"), F_OK) < 0);
  ASSERT_TRUE(access(tmp_path("out/4-204"), F_OK) == 0);
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

/* ---- keep-alive, concurrency -------------------------------------------------------------- */

TEST_CASE(keepalive_reuses_connections) {
  const char *args[32];
  httpd_t h;
  fetch_run_t r;
  int i, n = 0;
  make_tmpdir();
  h = start_httpd(NULL);
  args[n++] = "-c";
  args[n++] = "2";
  for (i = 0; i < 20; i++) args[n++] = url(h.port, "/bytes/100");
  args[n] = NULL;
  r = run_fetch_in(NULL, args);
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(served(&h, "/bytes/100", NULL, NULL), 20);
  ASSERT_EQ(served_connections(&h), 2);
  ASSERT_CONTAINS(r.out, "20 URLs: 20 ok, 0 failed, 2000 bytes in");
  ASSERT_CONTAINS(r.out, "(2 connections)");
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

TEST_CASE(concurrent_total_is_the_slowest) {
  const char *args[32];
  httpd_t h;
  fetch_run_t r;
  int i, n = 0;
  make_tmpdir();
  h = start_httpd(NULL);
  for (i = 0; i < 20; i++) args[n++] = url(h.port, "/delay/500");
  args[n] = NULL;
  r = run_fetch_in(NULL, args); /* 10 s one after another */
  ASSERT_EQ(r.status, 0);
  ASSERT_RANGE(r.wall, 0.5, 5.0);
  free_run(&r);
  r = RUN_FETCH("-c", "2", url(h.port, "/delay/200"), url(h.port, "/delay/200"),
                url(h.port, "/delay/200"), url(h.port, "/delay/200"));
  ASSERT_EQ(r.status, 0);
  ASSERT_RANGE(r.wall, 0.4, 10.0); /* two at a time: two rounds */
  free_run(&r);
  r = RUN_FETCH("--sequential", url(h.port, "/delay/150"), url(h.port, "/delay/150"),
                url(h.port, "/delay/150"));
  ASSERT_EQ(r.status, 0);
  ASSERT_RANGE(r.wall, 0.45, 10.0);
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

TEST_CASE(urls_from_file_and_stdin) {
  httpd_t h;
  fetch_run_t r;
  FILE *f;
  make_tmpdir();
  h = start_httpd(NULL);
  ASSERT_TRUE((f = fopen(tmp_path("urls"), "w")) != NULL);
  fprintf(f, "# a comment\n%s\n\n  %s  \r\n", url(h.port, "/bytes/11"), url(h.port, "/bytes/22"));
  fclose(f);
  r = RUN_FETCH("-i", tmp_path("urls"), url(h.port, "/bytes/33"));
  ASSERT_EQ(r.status, 0);
  ASSERT_CONTAINS(r.out, "3 URLs: 3 ok, 0 failed, 66 bytes in");
  free_run(&r);
  r = run_fetch_in(tmp_path("urls"), (const char *const[]){"-i", "-", NULL});
  ASSERT_EQ(r.status, 0);
  ASSERT_CONTAINS(r.out, line_of("22 bytes received from %s.\n", url(h.port, "/bytes/22")));
  ASSERT_CONTAINS(r.out, "2 URLs: 2 ok, 0 failed, 33 bytes in");
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

TEST_CASE(bad_arguments) {
  fetch_run_t r;
  make_tmpdir();
  r = RUN_FETCH("-c", "0", "http://127.0.0.1:1/");
  ASSERT_EQ(r.status, 2);
  free_run(&r);
  r = run_fetch_in(NULL, (const char *const[]){NULL}); /* no URL */
  ASSERT_EQ(r.status, 2);
  ASSERT_CONTAINS(r.err, "usage:");
  free_run(&r);
  r = RUN_FETCH("ftp://127.0.0.1/x", "http://[::1/", "http://127.0.0.1:99999/");
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.err, "error: ftp://127.0.0.1/x: unsupported scheme");
  ASSERT_CONTAINS(r.err, "error: http://[::1/: bad IPv6 address in URL");
  ASSERT_CONTAINS(r.err, "error: http://127.0.0.1:99999/: bad port in URL");
  free_run(&r);
  remove_tmpdir();
}

/* ---- IPv6 ------------------------------------------------------------------------------ */

static int ipv6_loopback(void) {
  struct sockaddr_in6 a = {0};
  int fd = socket(AF_INET6, SOCK_STREAM, 0), ok;
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

TEST_CASE(ipv6) {
  httpd_t h;
  fetch_run_t r;
  char u[128];
  if (!ipv6_loopback()) {
    printf("note: no IPv6 loopback here (::1 cannot be bound): nothing to test\n");
    return;
  }
  make_tmpdir();
  h = start_httpd("-a", "::1", NULL);
  snprintf(u, sizeof u, "http://[::1]:%d/bytes/5000", h.port);
  r = RUN_FETCH("-o", tmp_path("out"), u);
  ASSERT_EQ(r.status, 0);
  assert_saved_body(&h, tmp_path("out"), 1, "/bytes/5000");
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

/* ---- failures: refused, silent servers, malformed responses ------------------------------ */

/* A loopback port nobody listens on. */
static int closed_port(void) {
  struct sockaddr_in a = test_loopback(0);
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_OK(bind(fd, (struct sockaddr *)&a, sizeof a));
  ASSERT_OK(getsockname(fd, (struct sockaddr *)&a, &len));
  close(fd);
  return ntohs(a.sin_port);
}

TEST_CASE(connection_refused) {
  fetch_run_t r;
  int port = closed_port();
  make_tmpdir();
  r = RUN_FETCH(url(port, "/"));
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.err, line_of("error: %s: connection refused\n", url(port, "/")));
  ASSERT_CONTAINS(r.out, "1 URL: 0 ok, 1 failed");
  free_run(&r);
  remove_tmpdir();
}

/* The in-process server: answers each request by its path with canned bytes. */
typedef struct bad_server {
  int lfd, port;
  green_t *acceptor;
  green_t *conns[64];
  int nconns;
} bad_server_t;

static int write_str(int fd, const char *s) {
  return green_write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
}

static const struct canned {
  const char *path, *response, *error;
} canned[] = {
    {"/good", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", NULL},
    {"/bad-status-line", "HTTX/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "malformed status line"},
    {"/bad-status-code", "HTTP/1.1 2x0 OK\r\n\r\n", "malformed status code"},
    {"/garbage", "\x16\x03\x01\x02\xff\x01\xfe\x01\xfc\x03\x03\r\n\r\n", "malformed status line"},
    {"/short-body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
     "connection closed before the end of the body"},
    {"/bad-length", "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n", "bad Content-Length"},
    {"/two-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
     "conflicting Content-Length headers"},
    {"/bad-chunk-size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
     "bad chunk size"},
    {"/huge-chunk-size",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nhello\r\n",
     "bad chunk size"},
    {"/chunk-overrun", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello!!\r\n0\r\n\r\n",
     "no line ending after chunk data"},
    {"/chunked-cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
     "connection closed before the end of the body"},
    {"/gzip-only", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx",
     "unsupported Transfer-Encoding"},
    {"/folded", "HTTP/1.1 200 OK\r\nX-A: b\r\n  folded\r\nContent-Length: 0\r\n\r\n",
     "folded header line"},
    {"/empty", "", "connection closed before any response"},
    {"/head-cut", "HTTP/1.1 200 OK\r\nContent-Le", "connection closed in the response head"},
    {"/endless-headers", NULL, "response head too large"},
    {"/length-and-chunked",
     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
     "both Content-Length and Transfer-Encoding"},
    {"/to-javascript", "HTTP/1.1 302 Found\r\nLocation: javascript:alert(1)\r\nContent-Length: 0\r\n\r\n",
     "bad redirect: unsupported scheme (http and https only)"},
    {"/to-data", "HTTP/1.1 302 Found\r\nLocation: data:text/html,hi\r\nContent-Length: 0\r\n\r\n",
     "bad redirect: unsupported scheme (http and https only)"},
    {"/to-file", "HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n",
     "bad redirect: unsupported scheme (http and https only)"},
    {"/to-ftp", "HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/f\r\nContent-Length: 0\r\n\r\n",
     "bad redirect: unsupported scheme (http and https only)"},
};

static const struct canned *find_canned(const char *req) {
  size_t i, n;
  for (i = 0; i < sizeof canned / sizeof canned[0]; i++) {
    n = strlen(canned[i].path);
    if (strncmp(req + 4, canned[i].path, n) == 0 && req[4 + n] == ' ') return &canned[i];
  }
  return NULL;
}

/* Reads one request head; NULL at EOF or on an error (ECANCELED when the test ends). */
static char *read_request(int fd, char *buf, size_t size) {
  size_t n = 0;
  ssize_t r;
  buf[0] = '\0';
  while (!strstr(buf, "\r\n\r\n")) {
    if (n + 1 >= size || (r = green_read(fd, buf + n, size - n - 1)) <= 0) return NULL;
    buf[n += (size_t)r] = '\0';
  }
  return buf;
}

static void *bad_conn(void *arg) {
  int fd = (int)(intptr_t)arg, i;
  char buf[4096];
  const struct canned *c;
  char *req;
  while ((req = read_request(fd, buf, sizeof buf))) {
    if (strncmp(req, "GET /hang ", 10) == 0) continue; /* never answers */
    if (strncmp(req, "GET /stall ", 11) == 0) {         /* a part of the body, then silence */
      write_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes.");
      continue;
    }
    if (strncmp(req, "GET /continue-forever ", 22) == 0) { /* interim heads, never a final */
      for (i = 0; i < 100000 && write_str(fd, "HTTP/1.1 100 Continue\r\n\r\n") == 0; i++) {
      }
      break;
    }
    if (strncmp(req, "GET /endless ", 13) == 0) { /* a body until the close, 256 MiB at most */
      static const char block[16384];
      write_str(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
      for (i = 0; i < 16384 && green_write(fd, block, sizeof block) == sizeof block; i++) {
      }
      break;
    }
    if (strncmp(req, "GET /once ", 10) == 0) { /* keep-alive promised, then closed */
      write_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nonce");
      break;
    }
    if (!(c = find_canned(req))) break;
    if (c->response) {
      write_str(fd, c->response);
      if (strcmp(c->path, "/good") == 0) continue;
      break;
    }
    write_str(fd, "HTTP/1.1 200 OK\r\n"); /* endless headers: 1 MiB at most */
    for (i = 0; i < 1024 && write_str(fd, "X-Endless: yes, more headers are coming....\r\n") == 0;
         i++) {
    }
    break;
  }
  green_close(fd);
  return NULL;
}

static void *bad_accept(void *arg) {
  bad_server_t *s = arg;
  int fd;
  while ((fd = green_accept(s->lfd, NULL, NULL)) >= 0) {
    ASSERT_LT(s->nconns, 64);
    ASSERT_TRUE((s->conns[s->nconns++] = green_spawn(bad_conn, (void *)(intptr_t)fd)) != NULL);
  }
  ASSERT_EQ(errno, ECANCELED);
  return NULL;
}

static void bad_server_start(bad_server_t *s) {
  struct sockaddr_in a = test_loopback(0);
  socklen_t len = sizeof a;
  memset(s, 0, sizeof *s);
  ASSERT_OK(s->lfd = green_socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_OK(bind(s->lfd, (struct sockaddr *)&a, sizeof a));
  ASSERT_OK(listen(s->lfd, 64));
  ASSERT_OK(getsockname(s->lfd, (struct sockaddr *)&a, &len));
  s->port = ntohs(a.sin_port);
  ASSERT_TRUE((s->acceptor = green_spawn(bad_accept, s)) != NULL);
}

/* Kills what still runs (the silent connections) and joins everything. */
static void bad_server_stop(bad_server_t *s) {
  int i;
  ASSERT_OK(green_kill(s->acceptor));
  ASSERT_OK(green_join(s->acceptor, NULL, -1));
  for (i = 0; i < s->nconns; i++) {
    ASSERT_OK(green_kill(s->conns[i]));
    ASSERT_OK(green_join(s->conns[i], NULL, -1));
  }
  ASSERT_OK(green_close(s->lfd));
}

TEST_CASE(malformed_responses) {
  const size_t n = sizeof canned / sizeof canned[0];
  const char *args[64];
  bad_server_t s;
  fetch_run_t r;
  size_t i, k = 0;
  char summary[64];
  make_tmpdir();
  bad_server_start(&s);
  args[k++] = "-t";
  args[k++] = "20";
  for (i = 0; i < n; i++) args[k++] = url(s.port, canned[i].path);
  args[k] = NULL;
  r = run_fetch_in(NULL, args);
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.out, line_of("2 bytes received from %s.\n", url(s.port, "/good")));
  for (i = 1; i < n; i++) {
    char want[300];
    snprintf(want, sizeof want, "error: %s: %s\n", url(s.port, canned[i].path), canned[i].error);
    ASSERT_CONTAINS(r.err, want);
  }
  snprintf(summary, sizeof summary, "%zu URLs: 1 ok, %zu failed", n, n - 1);
  ASSERT_CONTAINS(r.out, summary);
  ASSERT_LT(r.wall, 15); /* every one of them fails at once, none waits for the timeout */
  free_run(&r);
  bad_server_stop(&s);
  remove_tmpdir();
}

TEST_CASE(timeout_on_silent_servers) {
  bad_server_t s;
  fetch_run_t r;
  make_tmpdir();
  bad_server_start(&s);
  r = RUN_FETCH("-t", "0.5", url(s.port, "/hang"), url(s.port, "/stall"), url(s.port, "/good"));
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.err, line_of("error: %s: timed out\n", url(s.port, "/hang")));
  ASSERT_CONTAINS(r.err, line_of("error: %s: timed out\n", url(s.port, "/stall")));
  ASSERT_CONTAINS(r.out, "3 URLs: 1 ok, 2 failed");
  ASSERT_RANGE(r.wall, 0.5, 10.0);
  free_run(&r);
  bad_server_stop(&s);
  remove_tmpdir();
}

/* A kept-alive connection the server has closed meanwhile is replaced, not an error. */
TEST_CASE(stale_keepalive_connection_retried) {
  bad_server_t s;
  fetch_run_t r;
  make_tmpdir();
  bad_server_start(&s);
  r = RUN_FETCH("--sequential", url(s.port, "/once"), url(s.port, "/once"), url(s.port, "/once"));
  ASSERT_EQ(r.status, 0);
  ASSERT_CONTAINS(r.out, "3 URLs: 3 ok, 0 failed, 12 bytes in");
  ASSERT_CONTAINS(r.out, "(3 connections)");
  ASSERT_EQ(r.err[0], '\0');
  ASSERT_EQ(s.nconns, 3);
  free_run(&r);
  bad_server_stop(&s);
  remove_tmpdir();
}

/* ---- HTTPS ----------------------------------------------------------------------------- */

static void make_certs(void) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "sh %s %s", FETCH_CERTS_SCRIPT, tmpdir);
  ASSERT_EQ(system(cmd), 0);
}

static char *https_url(const char *host, int port, const char *path) {
  static char bufs[16][128];
  static int next;
  char *p = bufs[next++ % 16];
  snprintf(p, 128, "https://%s:%d%s", host, port, path);
  return p;
}

TEST_CASE(https_with_test_ca) {
  httpd_t h;
  fetch_run_t r;
  unsigned long long bytes, sum;
  make_tmpdir();
  make_certs();
  h = start_httpd("--cert", tmp_path("server.pem"), "--key", tmp_path("server.key"), NULL);
  r = RUN_FETCH("--cacert", tmp_path("ca.pem"), "-o", tmp_path("out"),
                https_url("localhost", h.port, "/bytes/200000"),
                https_url("127.0.0.1", h.port, "/chunked/70000"),
                https_url("localhost", h.port, "/redirect/2"));
  ASSERT_EQ(r.status, 0);
  ASSERT_CONTAINS(r.out, "3 URLs: 3 ok, 0 failed, 270015 bytes in");
  assert_saved_body(&h, tmp_path("out"), 1, "/bytes/200000");
  assert_saved_body(&h, tmp_path("out"), 2, "/chunked/70000");
  ASSERT_EQ(served(&h, "/redirect/0", &bytes, &sum), 1);
  /* SNI: the name went with the handshake; an IP address is never sent as one. */
  char *log = slurp(h.log, NULL);
  ASSERT_CONTAINS(log, "sni=localhost status=200 bytes=200000");
  ASSERT_CONTAINS(log, "sni=- status=200 bytes=70000");
  free(log);
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

TEST_CASE(https_wrong_host_refused) {
  httpd_t h;
  fetch_run_t r;
  make_tmpdir();
  make_certs();
  h = start_httpd("--cert", tmp_path("wrong.pem"), "--key", tmp_path("wrong.key"), NULL);
  r = RUN_FETCH("--cacert", tmp_path("ca.pem"), https_url("localhost", h.port, "/bytes/10"),
                https_url("127.0.0.1", h.port, "/bytes/10"));
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.err, line_of("error: %s: certificate verify failed: hostname mismatch\n",
                                 https_url("localhost", h.port, "/bytes/10")));
  ASSERT_CONTAINS(r.err, line_of("error: %s: certificate verify failed: IP address mismatch\n",
                                 https_url("127.0.0.1", h.port, "/bytes/10")));
  ASSERT_EQ(served(&h, "/bytes/10", NULL, NULL), 0); /* no request went out */
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

TEST_CASE(https_untrusted_refused_unless_k) {
  httpd_t self, good;
  fetch_run_t r;
  make_tmpdir();
  make_certs();
  self = start_httpd("--cert", tmp_path("self.pem"), "--key", tmp_path("self.key"), NULL);
  good = start_httpd("--cert", tmp_path("server.pem"), "--key", tmp_path("server.key"), NULL);
  r = RUN_FETCH("--cacert", tmp_path("ca.pem"), https_url("localhost", self.port, "/bytes/10"));
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.err, "certificate verify failed: self-signed certificate\n");
  free_run(&r);
  /* The system's CA store does not know the test CA. */
  r = RUN_FETCH(https_url("localhost", good.port, "/bytes/10"));
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.err, "certificate verify failed: unable to get local issuer certificate\n");
  free_run(&r);
  ASSERT_EQ(served(&self, "/bytes/10", NULL, NULL) + served(&good, "/bytes/10", NULL, NULL), 0);
  r = RUN_FETCH("-k", https_url("localhost", self.port, "/bytes/10"),
                https_url("localhost", good.port, "/bytes/10"));
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(served(&self, "/bytes/10", NULL, NULL) + served(&good, "/bytes/10", NULL, NULL), 2);
  free_run(&r);
  stop_httpd(&self);
  stop_httpd(&good);
  remove_tmpdir();
}

/* ---- the live progress line ------------------------------------------------------------- */

TEST_CASE(progress_line_on_a_terminal) {
  httpd_t h;
  fetch_run_t r;
  char buf[8192], *pts;
  size_t got = 0;
  ssize_t n;
  int master;
  make_tmpdir();
  h = start_httpd(NULL);
  ASSERT_OK(master = posix_openpt(O_RDWR | O_NOCTTY));
  ASSERT_OK(grantpt(master));
  ASSERT_OK(unlockpt(master));
  ASSERT_TRUE((pts = ptsname(master)) != NULL);
  /* stderr on the terminal, stdout to a file */
  r = run_fetch_in(NULL, (const char *const[]){"-c", "1", url(h.port, "/delay/250"),
                                               url(h.port, "/delay/250"), NULL});
  ASSERT_LACKS(r.err, "done"); /* stderr to a file: no progress line */
  free_run(&r);
  char *argv[] = {GREEN_FETCH_BIN, "-c", "1", url(h.port, "/delay/250"), url(h.port, "/delay/250"),
                  NULL};
  pid_t pid = spawn_process(argv, NULL, tmp_path("tty.out"), pts);
  int status;
  double t0 = test_now();
  ASSERT_OK(fcntl(master, F_SETFL, O_NONBLOCK));
  while (waitpid(pid, &status, WNOHANG) == 0 && test_now() - t0 < 30) {
    if ((n = read(master, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
    usleep(10000);
  }
  while ((n = read(master, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
  buf[got] = '\0';
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_CONTAINS(buf, "\r\033[K1/2 done, 0 failed"); /* redrawn in place while it runs */
  ASSERT_TRUE(got >= 4 && strcmp(buf + got - 4, "\r\033[K") == 0); /* and wiped at the end */
  char *out = slurp(tmp_path("tty.out"), NULL);
  ASSERT_CONTAINS(out, "2 URLs: 2 ok, 0 failed");
  ASSERT_LACKS(out, "\033[");
  free(out);
  close(master);
  stop_httpd(&h);
  remove_tmpdir();
}
/* ---- names through the resolver ----------------------------------------------------------- */

/* A DNS server for the tests on 127.0.0.1 (UDP): fetch.test has the address 127.0.0.1 (A),
 * no IPv6 address, and every other name does not exist (NXDOMAIN). */
static void *dns_server(void *arg) {
  static const unsigned char known[] = "\5fetch\4test";
  static const unsigned char answer[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1};
  int fd = (int)(intptr_t)arg;
  unsigned char q[512], a[512 + sizeof answer];
  struct sockaddr_in from;
  socklen_t len = sizeof from;
  ssize_t n;
  while ((n = green_recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &len)) >= 0) {
    size_t end = 12, m;
    int is_known, type;
    while (end < (size_t)n && q[end]) end += q[end] + 1u;
    if (n < 17 || end + 5 > (size_t)n) continue; /* not a question */
    is_known = end - 12 + 1 == sizeof known && strncasecmp((char *)q + 12, (char *)known, end - 12) == 0;
    end += 5;
    type = q[end - 4] << 8 | q[end - 3];
    memcpy(a, q, end);
    a[2] = (unsigned char)(0x84 | (q[2] & 0x79)); /* a reply, authoritative, RD as asked */
    a[3] = is_known ? 0x80 : 0x83;                /* RA; NOERROR or NXDOMAIN */
    memset(a + 4, 0, 8);
    a[5] = 1; /* the one question */
    m = end;
    if (is_known && type == 1) {
      a[7] = 1;
      memcpy(a + m, answer, sizeof answer);
      m += sizeof answer;
    }
    green_sendto(fd, a, m, 0, (struct sockaddr *)&from, len);
    len = sizeof from;
  }
  return NULL;
}

TEST_CASE(names_and_unknown_host) {
  struct sockaddr_in a = test_loopback(0);
  socklen_t len = sizeof a;
  char servers[64], good[128];
  green_t *dns;
  httpd_t h;
  fetch_run_t r;
  int fd;
  make_tmpdir();
  h = start_httpd(NULL);
  ASSERT_OK(fd = green_socket(AF_INET, SOCK_DGRAM, 0));
  ASSERT_OK(bind(fd, (struct sockaddr *)&a, sizeof a));
  ASSERT_OK(getsockname(fd, (struct sockaddr *)&a, &len));
  ASSERT_TRUE((dns = green_spawn(dns_server, (void *)(intptr_t)fd)) != NULL);
  snprintf(servers, sizeof servers, "127.0.0.1:%d", ntohs(a.sin_port));
  ASSERT_OK(setenv("GREEN_DNS_SERVERS", servers, 1)); /* green-fetch asks only this server */
  snprintf(good, sizeof good, "http://fetch.test:%d/bytes/10", h.port);
  r = RUN_FETCH("nowhere.invalid/x", good);
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.err, "error: nowhere.invalid/x: unknown host nowhere.invalid\n");
  ASSERT_CONTAINS(r.out, line_of("10 bytes received from %s.\n", good));
  ASSERT_EQ(served(&h, "/bytes/10", NULL, NULL), 1);
  free_run(&r);
  ASSERT_OK(unsetenv("GREEN_DNS_SERVERS"));
  ASSERT_OK(green_kill(dns));
  ASSERT_OK(green_join(dns, NULL, -1));
  ASSERT_OK(green_close(fd));
  stop_httpd(&h);
  remove_tmpdir();
}

/* ---- hostile servers (issue 13, defect 9) ------------------------------------------------ */

/* green-fetch on the bad server's paths, each failing with its error; `good` then works. */
static void assert_fetch_errors(const char *const *paths, const char *const *errors, int n,
                                const char *extra) {
  const char *args[32];
  bad_server_t s;
  fetch_run_t r;
  char want[300];
  int i, k = 0;
  make_tmpdir();
  bad_server_start(&s);
  args[k++] = "-t";
  args[k++] = "20";
  if (extra) args[k++] = "--max-size", args[k++] = extra;
  for (i = 0; i < n; i++) args[k++] = url(s.port, paths[i]);
  args[k++] = url(s.port, "/good");
  args[k] = NULL;
  r = run_fetch_in(NULL, args);
  ASSERT_EQ(r.status, 1);
  for (i = 0; i < n; i++) {
    snprintf(want, sizeof want, "error: %s: %s\n", url(s.port, paths[i]), errors[i]);
    ASSERT_CONTAINS(r.err, want);
  }
  ASSERT_CONTAINS(r.out, line_of("2 bytes received from %s.\n", url(s.port, "/good")));
  ASSERT_LT(r.wall, 15); /* none of them runs into the timeout */
  free_run(&r);
  bad_server_stop(&s);
  remove_tmpdir();
}

TEST_CASE(interim_responses_bounded) {
  static const char *const paths[] = {"/continue-forever"};
  static const char *const errors[] = {"more than 16 interim (1xx) responses"};
  assert_fetch_errors(paths, errors, 1, NULL);
}

TEST_CASE(length_and_chunked_refused) {
  static const char *const paths[] = {"/length-and-chunked"};
  static const char *const errors[] = {"both Content-Length and Transfer-Encoding"};
  assert_fetch_errors(paths, errors, 1, NULL);
}

TEST_CASE(non_http_redirects_refused) {
  static const char *const paths[] = {"/to-javascript", "/to-data", "/to-file", "/to-ftp"};
  static const char *const errors[] = {
      "bad redirect: unsupported scheme (http and https only)",
      "bad redirect: unsupported scheme (http and https only)",
      "bad redirect: unsupported scheme (http and https only)",
      "bad redirect: unsupported scheme (http and https only)"};
  assert_fetch_errors(paths, errors, 4, NULL);
}

TEST_CASE(endless_body_stops_at_max_size) {
  static const char *const paths[] = {"/endless"};
  static const char *const errors[] = {"body larger than --max-size (2097152 bytes)"};
  assert_fetch_errors(paths, errors, 1, "2M");
}

/* -o with --max-size: a body over it is an error and leaves no partial file; the default is
 * 1 GiB; a bad size is refused. */
TEST_CASE(max_size_with_output) {
  httpd_t h;
  fetch_run_t r;
  make_tmpdir();
  h = start_httpd(NULL);
  r = RUN_FETCH("--max-size", "1M", "-o", tmp_path("out"), url(h.port, "/bytes/3000000"),
                url(h.port, "/chunked/1048577"), url(h.port, "/bytes/1048576"));
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.err, line_of("error: %s: body larger than --max-size (1048576 bytes)\n",
                                 url(h.port, "/bytes/3000000")));
  ASSERT_CONTAINS(r.err, line_of("error: %s: body larger than --max-size (1048576 bytes)\n",
                                 url(h.port, "/chunked/1048577")));
  ASSERT_TRUE(access(tmp_path("out/1-3000000"), F_OK) < 0); /* the partial file is removed */
  ASSERT_TRUE(access(tmp_path("out/2-1048577"), F_OK) < 0);
  assert_saved_body(&h, tmp_path("out"), 3, "/bytes/1048576"); /* exactly the limit: fine */
  free_run(&r);
  r = RUN_FETCH("--max-size", "12x", url(h.port, "/bytes/1"));
  ASSERT_EQ(r.status, 2);
  ASSERT_CONTAINS(r.err, "--max-size wants bytes");
  free_run(&r);
  r = RUN_FETCH("--help");
  ASSERT_EQ(r.status, 0);
  ASSERT_CONTAINS(r.out, "--max-size N");
  ASSERT_CONTAINS(r.out, "default 1G");
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

/* ---- a TLS server that closes without close_notify ----------------------------------------- */

typedef struct tls_server {
  int lfd, port;
  SSL_CTX *ctx;
  green_t *acceptor;
} tls_server_t;

/* Answers one request with a body the close delimits, then closes: with close_notify for
 * /clean, without it (a bare TCP close, as an attacker could forge) otherwise. */
static void *tls_conn(tls_server_t *s, int fd) {
  static const char response[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart of a body";
  char msg[256], buf[4096];
  size_t n = 0;
  ssize_t r;
  SSL *ssl = tls_accept(s->ctx, fd, msg, sizeof msg);
  if (!ssl) return green_close(fd), NULL;
  buf[0] = '\0';
  while (!strstr(buf, "\r\n\r\n") && n + 1 < sizeof buf &&
         (r = tls_read(ssl, buf + n, sizeof buf - 1 - n)) > 0)
    buf[n += (size_t)r] = '\0';
  if (strstr(buf, "\r\n\r\n")) tls_write(ssl, response, strlen(response));
  tls_free(ssl, strncmp(buf, "GET /clean ", 11) == 0);
  green_close(fd);
  return NULL;
}

static void *tls_accept_loop(void *arg) {
  tls_server_t *s = arg;
  int fd;
  while ((fd = green_accept(s->lfd, NULL, NULL)) >= 0) tls_conn(s, fd); /* one at a time */
  return NULL;
}

TEST_CASE(https_body_cut_without_close_notify) {
  struct sockaddr_in a = test_loopback(0);
  socklen_t len = sizeof a;
  tls_server_t s;
  fetch_run_t r;
  char msg[256];
  make_tmpdir();
  make_certs();
  ASSERT_TRUE((s.ctx = tls_server_ctx(tmp_path("server.pem"), tmp_path("server.key"), msg,
                                      sizeof msg)) != NULL);
  ASSERT_OK(s.lfd = green_socket(AF_INET, SOCK_STREAM, 0));
  ASSERT_OK(bind(s.lfd, (struct sockaddr *)&a, sizeof a));
  ASSERT_OK(listen(s.lfd, 16));
  ASSERT_OK(getsockname(s.lfd, (struct sockaddr *)&a, &len));
  s.port = ntohs(a.sin_port);
  ASSERT_TRUE((s.acceptor = green_spawn(tls_accept_loop, &s)) != NULL);
  r = RUN_FETCH("--sequential", "--cacert", tmp_path("ca.pem"),
                https_url("localhost", s.port, "/clean"), https_url("localhost", s.port, "/cut"));
  ASSERT_EQ(r.status, 1);
  ASSERT_CONTAINS(r.out, line_of("14 bytes received from %s.\n",
                                 https_url("localhost", s.port, "/clean")));
  ASSERT_CONTAINS(r.err, line_of("error: %s: body truncated: TLS connection closed without "
                                 "close_notify\n", https_url("localhost", s.port, "/cut")));
  free_run(&r);
  ASSERT_OK(green_kill(s.acceptor));
  ASSERT_OK(green_join(s.acceptor, NULL, -1));
  ASSERT_OK(green_close(s.lfd));
  SSL_CTX_free(s.ctx);
  remove_tmpdir();
}

/* ---- green-fetch at the fd limit (defect 8) ---------------------------------------------- */

static void fetch_many_at_fd_limit(int count, const char *path, int save) {
  httpd_t h;
  fetch_run_t r;
  FILE *f;
  char want[128];
  int i;
  make_tmpdir();
  h = start_httpd(NULL);
  ASSERT_TRUE((f = fopen(tmp_path("urls"), "w")) != NULL);
  for (i = 0; i < count; i++) fprintf(f, "%s\n", url(h.port, path));
  fclose(f);
  child_nofile = 64; /* ulimit -n 64 */
  if (save) r = RUN_FETCH("-q", "-c", "200", "-o", tmp_path("out"), "-i", tmp_path("urls"));
  else r = RUN_FETCH("-q", "-c", "200", "-i", tmp_path("urls"));
  child_nofile = 0;
  snprintf(want, sizeof want, "%d URLs: %d ok, 0 failed", count, count);
  ASSERT_CONTAINS(r.out, want);
  ASSERT_EQ(r.err[0], '\0');
  ASSERT_EQ(r.status, 0);
  ASSERT_EQ(served(&h, path, NULL, NULL), count);
  free_run(&r);
  stop_httpd(&h);
  remove_tmpdir();
}

TEST_CASE(fd_limit_64_with_200_at_once) { fetch_many_at_fd_limit(300, "/delay/20", 0); }

TEST_CASE(fd_limit_64_saving_files) { fetch_many_at_fd_limit(150, "/bytes/1000", 1); }

/* ---- green-httpd against hostile clients (defects 6, 7, 9) ------------------------------- */

/* Entries in /proc/PID/fd. */
static int count_fds(pid_t pid) {
  char dir[64];
  DIR *d;
  struct dirent *e;
  int n = 0;
  snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
  ASSERT_TRUE((d = opendir(dir)) != NULL);
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* Waits up to `seconds` for pid's fd count to come down to `want`; returns the last count. */
static int wait_fds(pid_t pid, int want, double seconds) {
  double t0 = test_now();
  int n;
  while ((n = count_fds(pid)) > want && test_now() - t0 < seconds) ASSERT_OK(green_sleep(0.02));
  return n;
}

static int connect_to(int port) {
  struct sockaddr_in a = test_loopback((uint16_t)port);
  int fd;
  ASSERT_OK(fd = green_socket(AF_INET, SOCK_STREAM, 0));
  if (green_connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    green_close(fd);
    return -1;
  }
  return fd;
}

/* Sends req on fd and reads one response into buf (a NUL-terminated string): through its
 * Content-Length, or to the close. The response's length, or -1 on an error or after
 * `seconds`. */
static ssize_t exchange_on(int fd, const char *req, char *buf, size_t size, double seconds) {
  green_deadline_t d;
  size_t n = 0;
  ssize_t r = 0;
  char *end, *cl;
  ASSERT_OK(green_deadline_enter(&d, seconds));
  buf[0] = '\0';
  if (write_str(fd, req) < 0) goto out;
  for (;;) {
    if ((end = strstr(buf, "\r\n\r\n")) && (cl = strcasestr(buf, "Content-Length: ")) &&
        cl < end && n >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
      break;
    if (n + 1 >= size || (r = green_read(fd, buf + n, size - n - 1)) <= 0) break;
    buf[n += (size_t)r] = '\0';
  }
out:
  ASSERT_OK(green_deadline_leave(&d));
  return r < 0 || n == 0 ? -1 : (ssize_t)n;
}

/* One request on a new connection; 1 when a 200 came back. */
static int get_ok(int port, const char *path, double seconds) {
  char req[256], buf[4096];
  int fd = connect_to(port), ok;
  if (fd < 0) return 0;
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
  ok = exchange_on(fd, req, buf, sizeof buf, seconds) > 0 && strncmp(buf, "HTTP/1.1 200 ", 13) == 0;
  green_close(fd);
  return ok;
}

TEST_CASE(httpd_refuses_other_versions) {
  static const char *const versions[] = {"HTTP/1.9", "HTTP/2.0", "HTTP/0.9", "HTTP/3.1"};
  char req[128], buf[4096];
  httpd_t h;
  size_t i;
  make_tmpdir();
  h = start_httpd(NULL);
  for (i = 0; i < sizeof versions / sizeof versions[0]; i++) {
    int fd = connect_to(h.port);
    ASSERT_OK(fd);
    snprintf(req, sizeof req, "GET /bytes/10 %s\r\nHost: x\r\n\r\n", versions[i]);
    ASSERT_GT(exchange_on(fd, req, buf, sizeof buf, 5), 0);
    if (strncmp(buf, "HTTP/1.1 505 HTTP Version Not Supported\r\n", 41) != 0)
      TEST_FAIL("%s answered:\n%s", versions[i], buf);
    ASSERT_CONTAINS(buf, "Connection: close\r\n");
    ASSERT_OK(green_close(fd));
  }
  char *log = slurp(h.log, NULL), *p = log;
  for (i = 0; (p = strstr(p, " status=505 ")); p++) i++;
  ASSERT_EQ(i, 4); /* no body was sent for any of them */
  ASSERT_LACKS(log, "status=200");
  free(log);
  ASSERT_TRUE(get_ok(h.port, "/bytes/10", 5)); /* 1.1 still works, and 1.0 */
  int fd = connect_to(h.port);
  ASSERT_GT(exchange_on(fd, "GET /bytes/10 HTTP/1.0\r\n\r\n", buf, sizeof buf, 5), 0);
  ASSERT_TRUE(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
  ASSERT_OK(green_close(fd));
  stop_httpd(&h);
  remove_tmpdir();
}

/* The absolute redirect names the address the client reached, never its Host header. */
TEST_CASE(httpd_location_ignores_host_header) {
  char buf[4096], want[128];
  httpd_t h;
  int fd;
  make_tmpdir();
  h = start_httpd(NULL);
  ASSERT_OK(fd = connect_to(h.port));
  ASSERT_GT(exchange_on(fd, "GET /redirect/2 HTTP/1.1\r\nHost: evil.example\r\n\r\n", buf,
                        sizeof buf, 5), 0);
  ASSERT_TRUE(strncmp(buf, "HTTP/1.1 302 Found\r\n", 20) == 0);
  snprintf(want, sizeof want, "Location: http://127.0.0.1:%d/redirect/1\r\n", h.port);
  ASSERT_CONTAINS(buf, want);
  ASSERT_LACKS(buf, "evil");
  ASSERT_OK(green_close(fd));
  stop_httpd(&h);
  remove_tmpdir();
}

TEST_CASE(httpd_help_and_bad_options) {
  char *argv[] = {GREEN_HTTPD_BIN, "--help", NULL}, *text;
  int status;
  pid_t pid;
  make_tmpdir();
  pid = spawn_process(argv, NULL, tmp_path("help"), NULL);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  text = slurp(tmp_path("help"), NULL);
  ASSERT_CONTAINS(text, "--send-timeout SECONDS");
  ASSERT_CONTAINS(text, "--idle-timeout SECONDS");
  free(text);
  argv[1] = "--send-timeout=0";
  pid = spawn_process(argv, NULL, NULL, NULL);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
  remove_tmpdir();
}

/* Clients that ask for a large body and never read it lose their connections after the send
 * timeout: the server's fds come back. */
TEST_CASE(httpd_send_timeout) {
  enum { CLIENTS = 20 };
  char req[] = "GET /bytes/100000000 HTTP/1.1\r\nHost: x\r\n\r\n";
  int fds[CLIENTS], i, base, peak;
  double t0;
  httpd_t h;
  make_tmpdir();
  h = start_httpd("--send-timeout", "1", NULL);
  base = count_fds(h.pid);
  for (i = 0; i < CLIENTS; i++) {
    ASSERT_OK(fds[i] = connect_to(h.port));
    ASSERT_OK(write_str(fds[i], req));
  }
  t0 = test_now();
  for (peak = 0; peak < base + CLIENTS && test_now() - t0 < 5;) {
    int n = count_fds(h.pid);
    if (n > peak) peak = n;
    ASSERT_OK(green_sleep(0.01));
  }
  ASSERT_GE(peak, base + CLIENTS / 2); /* held while their writes wait (a slow server may
                                          close the first before it accepts the last) */
  ASSERT_EQ(wait_fds(h.pid, base, 15), base);
  ASSERT_RANGE(test_now() - t0, 0.5, 20);
  for (i = 0; i < CLIENTS; i++) ASSERT_OK(green_close(fds[i]));
  ASSERT_TRUE(get_ok(h.port, "/bytes/10", 5));
  stop_httpd(&h);
  remove_tmpdir();
}

/* With 32 fds, 40 kept-alive idle clients: each new one is served at once, the oldest idle
 * connection closed to make room (not after the 60 s idle timeout). */
TEST_CASE(httpd_closes_idle_when_out_of_fds) {
  enum { CLIENTS = 40 };
  char buf[4096];
  int fds[CLIENTS], i, closed = 0;
  httpd_t h;
  make_tmpdir();
  child_nofile = 32;
  h = start_httpd(NULL);
  child_nofile = 0;
  for (i = 0; i < CLIENTS; i++) {
    ASSERT_OK(fds[i] = connect_to(h.port));
    if (exchange_on(fds[i], "GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n", buf, sizeof buf, 5) < 0)
      TEST_FAIL("client %d: no response within 5 s", i);
    ASSERT_TRUE(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
  }
  for (i = 0; i < CLIENTS; i++) { /* the oldest were closed, the newest kept */
    char c;
    ssize_t r;
    green_deadline_t d;
    ASSERT_OK(green_deadline_enter(&d, 0.05));
    r = green_read(fds[i], &c, 1);
    ASSERT_OK(green_deadline_leave(&d));
    if (r == 0 || (r < 0 && errno == ECONNRESET)) {
      if (closed++ != i) TEST_FAIL("client %d closed, yet an older one was kept", i);
    } else {
      ASSERT_TRUE(r < 0 && errno == ETIMEDOUT);
    }
    if (i == CLIENTS - 1) ASSERT_EQ(r, -1); /* the newest is still open */
  }
  ASSERT_GE(closed, CLIENTS - 32);
  for (i = 0; i < CLIENTS; i++) ASSERT_OK(green_close(fds[i]));
  stop_httpd(&h);
  remove_tmpdir();
}

/* ---- the fault injector ------------------------------------------------------------------ */

static const char *const accept_errnos[] = {
    "EAGAIN", "EBADF", "ECONNABORTED", "EFAULT", "EINTR", "EINVAL", "EMFILE", "ENFILE",
    "ENOBUFS", "ENOMEM", "ENOTSOCK", "EOPNOTSUPP", "EPERM", "EPROTO", "ENETDOWN", "ENOPROTOOPT",
    "EHOSTDOWN", "ENONET", "EHOSTUNREACH", "ENETUNREACH", NULL};
static const char *const read_errnos[] = {
    "EAGAIN", "EBADF", "EFAULT", "EINTR", "EINVAL", "EIO", "EISDIR", "ECONNREFUSED", "ENOMEM",
    "ENOTCONN", "ENOTSOCK", "ECONNRESET", "ETIMEDOUT", NULL};
static const char *const write_errnos[] = {
    "EAGAIN", "EBADF", "EDESTADDRREQ", "EDQUOT", "EFAULT", "EFBIG", "EINTR", "EINVAL", "EIO",
    "ENOSPC", "EPERM", "EPIPE", "EACCES", "EALREADY", "ECONNRESET", "EISCONN", "EMSGSIZE",
    "ENOBUFS", "ENOMEM", "ENOTCONN", "ENOTSOCK", "EOPNOTSUPP", NULL};
static const char *const connect_errnos[] = {
    "EACCES", "EPERM", "EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EAGAIN", "EALREADY",
    "EBADF", "ECONNREFUSED", "EFAULT", "EINPROGRESS", "EINTR", "EISCONN", "ENETUNREACH",
    "ENOTSOCK", "EPROTOTYPE", "ETIMEDOUT", NULL};

/* The processes spawned next run with the injector and `spec`; NULL turns it off. */
static void inject(const char *spec) {
  static char saved_asan[512];
  char asan[600];
  if (!spec) {
    ASSERT_OK(unsetenv("LD_PRELOAD"));
    ASSERT_OK(unsetenv("GREEN_INJECT"));
    ASSERT_OK(unsetenv("GREEN_INJECT_LOG"));
    ASSERT_OK(setenv("ASAN_OPTIONS", saved_asan, 1));
    return;
  }
  snprintf(saved_asan, sizeof saved_asan, "%s", getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "");
  /* under ASan the injector comes before the sanitizer's runtime: allowed, it only wraps */
  snprintf(asan, sizeof asan, "%s%sverify_asan_link_order=0", saved_asan, saved_asan[0] ? ":" : "");
  ASSERT_OK(setenv("ASAN_OPTIONS", asan, 1));
  ASSERT_OK(setenv("LD_PRELOAD", GREEN_INJECT_LIB, 1));
  ASSERT_OK(setenv("GREEN_INJECT", spec, 1));
  ASSERT_OK(setenv("GREEN_INJECT_LOG", tmp_path("inject.log"), 1));
}

static int count_lines(const char *path) {
  char *text = slurp(path, NULL), *p;
  int n = 0;
  for (p = text; *p; p++) n += *p == '\n';
  free(text);
  return n;
}

/* green-httpd with every errno of `family` injected once, `spacing` calls apart, while
 * requests come one connection at a time: it survives each, serves the next requests and
 * ends with the fds it started with. */
static void inject_httpd(const char *family, const char *const *errnos, int spacing) {
  char spec[2048];
  size_t len = 0;
  int n, i, ok = 0, requests = 0, base;
  httpd_t h;
  make_tmpdir();
  for (n = 0; errnos[n]; n++)
    len += (size_t)snprintf(spec + len, sizeof spec - len, "%s%s:%s@%d", n ? "," : "", family,
                            errnos[n], (n + 1) * spacing);
  inject(spec);
  h = start_httpd(NULL);
  inject(NULL);
  base = count_fds(h.pid);
  while (count_lines(tmp_path("inject.log")) < n && requests < 50 * n) {
    ok += get_ok(h.port, "/bytes/100", 2);
    requests++;
    ASSERT_EQ(waitpid(h.pid, NULL, WNOHANG), 0); /* still running */
  }
  if (count_lines(tmp_path("inject.log")) != n)
    TEST_FAIL("%d of %d faults injected after %d requests", count_lines(tmp_path("inject.log")),
              n, requests);
  for (i = 0; i < 5; i++) ASSERT_TRUE(get_ok(h.port, "/bytes/100", 5)); /* serves on */
  ASSERT_GE(ok, requests - n); /* a fault costs at most its request */
  ASSERT_EQ(wait_fds(h.pid, base, 5), base); /* no fd leaked */
  ASSERT_EQ(waitpid(h.pid, NULL, WNOHANG), 0);
  printf("%s: %d faults, %d requests, %d ok\n", family, n, requests + 5, ok + 5);
  stop_httpd(&h);
  if (strcmp(family, "accept") == 0) { /* each kind said once */
    char *err = slurp(h.err, NULL);
    ASSERT_EQ(count_lines(h.err), n - 1); /* one line a kind; EAGAIN only parks in libgreen */
    ASSERT_CONTAINS(err, "green-httpd: accept: No buffer space available (retrying; said once)\n");
    ASSERT_CONTAINS(err, "green-httpd: accept: Protocol error (retrying; said once)\n");
    free(err);
  }
  remove_tmpdir();
}

TEST_CASE(inject_httpd_accept) { inject_httpd("accept", accept_errnos, 3); }

TEST_CASE(inject_httpd_read) { inject_httpd("read", read_errnos, 4); }

TEST_CASE(inject_httpd_write) { inject_httpd("write", write_errnos, 2); }

/* green-fetch with one errno of `family` injected at call `at`, for each errno in turn: it
 * reports at most that URL as failed, fetches the others and exits normally. */
static void inject_fetch(const char *family, const char *const *errnos, int at) {
  char spec[64], summary[64];
  httpd_t h;
  int i;
  make_tmpdir();
  h = start_httpd(NULL);
  for (i = 0; errnos[i]; i++) {
    fetch_run_t r;
    int ok;
    unlink(tmp_path("inject.log"));
    snprintf(spec, sizeof spec, "%s:%s@%d", family, errnos[i], at);
    inject(spec);
    r = RUN_FETCH("-q", "-t", "5", "-c", "3", url(h.port, "/bytes/1000"),
                  url(h.port, "/bytes/1001"), url(h.port, "/chunked/1002"),
                  url(h.port, "/delay/10"), url(h.port, "/bytes/1003"),
                  url(h.port, "/redirect/2"), url(h.port, "/bytes/1004"),
                  url(h.port, "/bytes/1005"));
    inject(NULL);
    if (count_lines(tmp_path("inject.log")) != 1) TEST_FAIL("%s: not injected", spec);
    if (!strstr(r.out, "8 URLs: ") || sscanf(strstr(r.out, "8 URLs: "), "8 URLs: %d ok", &ok) != 1)
      TEST_FAIL("%s: no summary:\n%s%s", spec, r.out, r.err);
    if (ok < 7) TEST_FAIL("%s: %d of 8 ok:\n%s", spec, ok, r.err);
    snprintf(summary, sizeof summary, "8 URLs: %d ok, %d failed", ok, 8 - ok);
    ASSERT_CONTAINS(r.out, summary);
    ASSERT_EQ(r.status, ok == 8 ? 0 : 1);
    if (ok == 7) ASSERT_CONTAINS(r.err, "error: ");
    free_run(&r);
  }
  stop_httpd(&h);
  remove_tmpdir();
}

TEST_CASE(inject_fetch_connect) { inject_fetch("connect", connect_errnos, 2); }

TEST_CASE(inject_fetch_read) { inject_fetch("read", read_errnos, 5); }

TEST_CASE(inject_fetch_write) { inject_fetch("write", write_errnos, 3); }

/* The echo example (clients and server in one process) with each errno of `family` at call
 * `at`: it ends, no hang or crash, with at most the one client the fault hit failed (none for
 * an accept fault: the server accepts again). */
static void inject_echo(const char *family, const char *const *errnos, int at, int max_failed) {
#ifdef GREEN_ECHO_BIN
  char *argv[] = {GREEN_ECHO_BIN, "-c", "10", "-n", "20", NULL}, spec[64];
  int i;
  make_tmpdir();
  for (i = 0; errnos[i]; i++) {
    double t0 = test_now();
    int status, failed = -1;
    char *out, *p;
    pid_t pid;
    unlink(tmp_path("inject.log"));
    snprintf(spec, sizeof spec, "%s:%s@%d", family, errnos[i], at);
    inject(spec);
    pid = spawn_process(argv, NULL, tmp_path("echo.out"), NULL);
    inject(NULL);
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (test_now() - t0 > 20) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        TEST_FAIL("%s: echo still running after 20 s", spec);
      }
      usleep(2000);
    }
    if (!WIFEXITED(status)) TEST_FAIL("%s: echo died (status %d)", spec, status);
    if (count_lines(tmp_path("inject.log")) != 1) TEST_FAIL("%s: not injected", spec);
    out = slurp(tmp_path("echo.out"), NULL);
    if ((p = strstr(out, " s (")) && (p = strstr(p, "), "))) failed = atoi(p + 3);
    if (failed < 0 || failed > max_failed) TEST_FAIL("%s: %s", spec, out);
    ASSERT_EQ(WEXITSTATUS(status), failed ? 1 : 0);
    free(out);
  }
  remove_tmpdir();
#else
  (void)family, (void)errnos, (void)at, (void)max_failed;
  printf("note: the echo example is not built here\n");
#endif
}

TEST_CASE(inject_echo_accept) { inject_echo("accept", accept_errnos, 3, 0); }

TEST_CASE(inject_echo_read) { inject_echo("read", read_errnos, 30, 1); }

TEST_CASE(inject_echo_write) { inject_echo("write", write_errnos, 30, 1); }
