/* SPDX-License-Identifier: MIT */
/*
 * green-fetch: fetch many URLs at once, one greenlet per URL (gevent's classic example as a
 * tool). The total time becomes about the slowest fetch instead of the sum of them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <green.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"

static const char usage[] =
    "usage: green-fetch [-c CONCURRENCY | --sequential] [-t TIMEOUT] [-o DIR] [--max-size N]\n"
    "                   [-q] [-k | --cacert FILE] [-i FILE | -i -] URL...\n"
    "Fetches every URL at once, one greenlet each (HTTP/1.1 GET, http:// and https://).\n"
    "  -c N            at most N fetches at once (default 100; fewer when the fd limit\n"
    "                  (ulimit -n) has no room for N)\n"
    "  --sequential    one fetch at a time (-c 1; default off)\n"
    "  -t SECONDS      time limit for each URL, redirects included (default 30, 0: none)\n"
    "  -o DIR          save each body as DIR/<position>-<last path segment>\n"
    "                  (default: bodies are counted, not saved)\n"
    "  --max-size N    a body over N bytes is an error, its partial file removed\n"
    "                  (suffixes k, M, G: powers of 1024; default 1G; 0: no limit)\n"
    "  -k, --insecure  do not verify HTTPS certificates (default: verify)\n"
    "  --cacert FILE   verify HTTPS certificates against the CAs in FILE\n"
    "                  (default: the system's CA store)\n"
    "  -i FILE         read URLs from FILE, one per line (- for standard input; default:\n"
    "                  the command line's URLs only)\n"
    "  -q              no per-URL lines, only errors and the summary (default off)\n"
    "  -h, --help      print this help and exit 0\n"
    "  --version       print the version and exit 0\n"
    "Exit status: 0 when every URL was fetched; 1 when one or more failed; 2 on a usage\n"
    "error or when nothing could start (-o DIR cannot be made, TLS cannot be set up).\n";

#define RESERVED_FDS 16 /* for stdio, the hub, the resolver, the CA store */

typedef struct job {
  size_t index;
  int fd;          /* the -o file, -1 until the body starts */
  char *path;
  uint64_t bytes;  /* of the body so far */
} job_t;

static struct {
  fetch_client_t *client;
  char **urls;
  size_t n, concurrency;
  green_t **gs;
  size_t next, running, done, failed;
  unsigned long long bytes;
  double timeout, start;
  uint64_t max_size; /* 0: none */
  const char *outdir;
  int quiet;
  int progress;       /* stderr is a terminal: keep a live progress line there */
  int progress_shown; /* the line is on the screen now */
} run = {.concurrency = 100, .timeout = 30, .max_size = 1ULL << 30};

static void clear_progress(void) {
  if (run.progress_shown) fputs("\r\033[K", stderr);
  run.progress_shown = 0;
}

static void say(FILE *f, const char *fmt, ...) {
  va_list ap;
  clear_progress();
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
}

static void human(double bytes, char *buf, size_t size) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) bytes /= 1024, u++;
  snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static void draw_progress(void) {
  char total[32], rate[32];
  double t = green_now() - run.start;
  human((double)run.bytes, total, sizeof total);
  human(t > 0 ? (double)run.bytes / t : 0, rate, sizeof rate);
  fflush(stdout);
  fprintf(stderr, "\r\033[K%zu/%zu done, %zu failed, %s, %s/s", run.done, run.n, run.failed,
          total, rate);
  run.progress_shown = 1;
}

static void *progress(void *arg) {
  (void)arg;
  while (green_sleep(0.1) == 0) draw_progress();
  return NULL;
}

/* DIR/<position>-<last path segment of the URL>, in characters safe for a file name. */
static char *output_path(size_t index, const char *url) {
  const char *p = strstr(url, "://"), *end, *seg;
  char *path, *q;
  size_t n;
  p = p ? p + 3 : url;
  p += strcspn(p, "/?#");
  end = p + strcspn(p, "?#");
  for (seg = end; seg > p && seg[-1] != '/'; seg--) {
  }
  n = (size_t)(end - seg) < 100 ? (size_t)(end - seg) : 100;
  if (!(path = malloc(strlen(run.outdir) + n + 40))) return NULL;
  q = path + sprintf(path, "%s/%zu-", run.outdir, index + 1);
  if (n == 0) strcpy(q, "index.html");
  for (; n; n--, seg++) {
    char c = *seg;
    *q++ = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '-' || c == '_' ? c : '_';
    *q = '\0';
  }
  return path;
}

/* open(2) for a -o file, waiting while every fd is in use (the fetch's deadline bounds it). */
static int create_file(const char *path) {
  int fd;
  while ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 &&
         (errno == EMFILE || errno == ENFILE)) {
    if (green_sleep(0.01) < 0) return -1;
  }
  return fd;
}

static int save(void *arg, fetch_result_t *res, const char *data, size_t n) {
  job_t *job = arg;
  ssize_t w;
  if (run.max_size && (job->bytes += n) > run.max_size)
    return snprintf(res->error, sizeof res->error, "body larger than --max-size (%llu bytes)",
                    (unsigned long long)run.max_size), -1;
  if (!run.outdir) return 0;
  if (job->fd < 0) {
    if (!(job->path = output_path(job->index, run.urls[job->index])))
      return snprintf(res->error, sizeof res->error, "out of memory"), -1;
    if ((job->fd = create_file(job->path)) < 0) {
      snprintf(res->error, sizeof res->error, "cannot create %s: %s", job->path, strerror(errno));
      return -1;
    }
  }
  for (; n; n -= (size_t)w, data += w) {
    if ((w = write(job->fd, data, n)) < 0) {
      snprintf(res->error, sizeof res->error, "cannot write %s: %s", job->path, strerror(errno));
      return -1;
    }
  }
  return 0;
}

static void spawn_more(void);

static void *fetch_one(void *arg) {
  job_t job = {(size_t)arg, -1, NULL, 0};
  const char *url = run.urls[job.index];
  fetch_result_t res;
  int rc;
  if (!run.quiet) say(stdout, "GET: %s\n", url);
  rc = fetch_get(run.client, url, run.timeout, save, &job, &res);
  if (job.fd >= 0) {
    if (close(job.fd) < 0 && rc == 0)
      rc = -1, snprintf(res.error, sizeof res.error, "cannot write %s: %s", job.path,
                        strerror(errno));
    if (rc < 0) unlink(job.path);
  } else if (rc == 0 && run.outdir && (rc = save(&job, &res, "", 0)) == 0) {
    close(job.fd); /* an empty body: an empty file */
  }
  free(job.path);
  if (rc == 0) {
    run.bytes += res.bytes;
    if (!run.quiet) say(stdout, "%llu bytes received from %s.\n", (unsigned long long)res.bytes, url);
  } else {
    run.failed++;
    say(stderr, "error: %s: %s\n", url, res.error);
  }
  run.done++;
  run.running--;
  spawn_more();
  return NULL;
}

/* Start fetches while there are URLs left and room under the concurrency limit. */
static void spawn_more(void) {
  while (run.next < run.n && run.running < run.concurrency) {
    size_t i = run.next++;
    if ((run.gs[i] = green_spawn(fetch_one, (void *)i))) {
      run.running++;
    } else {
      say(stderr, "error: %s: cannot start a greenlet: %s\n", run.urls[i], strerror(errno));
      run.failed++;
      run.done++;
    }
  }
}

static int add_url(const char *s, size_t n) {
  static size_t cap;
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  if (n == 0 || *s == '#') return 0;
  if (run.n == cap) {
    char **u = realloc(run.urls, (cap = cap ? 2 * cap : 64) * sizeof *u);
    if (!u) return -1;
    run.urls = u;
  }
  return (run.urls[run.n++] = strndup(s, n)) ? 0 : -1;
}

static int read_urls(const char *file) {
  FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int rc = 0;
  if (!f) return -1;
  while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) rc = add_url(line, (size_t)n);
  if (ferror(f)) rc = -1;
  free(line);
  if (f != stdin) fclose(f);
  return rc;
}

static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* Fds open in this process now (16 if /proc cannot say). */
static size_t fds_in_use(void) {
  DIR *d = opendir("/proc/self/fd");
  size_t n = 0;
  if (!d) return 16;
  while (readdir(d)) n++;
  closedir(d);
  return n > 3 ? n - 3 : 0; /* ".", ".." and the directory's own fd */
}

/* Each fetch holds a socket, and a file under -o: keep the concurrency where that fits the
 * fd limit, so no fetch fails for want of an fd. */
static void fit_fd_limit(void) {
  struct rlimit rl;
  size_t per = run.outdir ? 2 : 1, used = fds_in_use() + RESERVED_FDS, cap;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY) return;
  cap = rl.rlim_cur > used + per ? (size_t)(rl.rlim_cur - used) / per : 1;
  if (run.concurrency > cap) run.concurrency = cap;
}

/* N, Nk, NM or NG (powers of 1024) into *out; -1 when s is not that. */
static int parse_size(const char *s, uint64_t *out) {
  char *end;
  unsigned long long v;
  int shift = 0;
  if (*s < '0' || *s > '9') return -1;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (*end == 'k' || *end == 'K') shift = 10, end++;
  else if (*end == 'm' || *end == 'M') shift = 20, end++;
  else if (*end == 'g' || *end == 'G') shift = 30, end++;
  if (*end || errno || v > (UINT64_MAX >> shift)) return -1;
  *out = (uint64_t)v << shift;
  return 0;
}

static int parse_args(int argc, char **argv, const char **cacert, int *insecure) {
  static const struct option longopts[] = {{"sequential", no_argument, NULL, 'S'},
                                           {"insecure", no_argument, NULL, 'k'},
                                           {"cacert", required_argument, NULL, 'C'},
                                           {"help", no_argument, NULL, 'h'},
                                           {"max-size", required_argument, NULL, 'M'},
                                           {"version", no_argument, NULL, 'V'},
                                           {NULL, 0, NULL, 0}};
  char *end;
  int opt;
  while ((opt = getopt_long(argc, argv, "c:t:o:i:kqh", longopts, NULL)) != -1) {
    switch (opt) {
    case 'c':
      run.concurrency = (size_t)strtoul(optarg, &end, 10);
      if (*end || run.concurrency < 1 || optarg[0] == '-')
        return fprintf(stderr, "green-fetch: -c wants a positive count\n"), -1;
      break;
    case 'S': run.concurrency = 1; break;
    case 't':
      run.timeout = strtod(optarg, &end);
      if (*end || !isfinite(run.timeout) || run.timeout < 0)
        return fprintf(stderr, "green-fetch: -t wants seconds (0: no limit)\n"), -1;
      if (run.timeout == 0) run.timeout = -1;
      break;
    case 'o': run.outdir = optarg; break;
    case 'M':
      if (parse_size(optarg, &run.max_size) < 0)
        return fprintf(stderr, "green-fetch: --max-size wants bytes (k, M, G suffixes)\n"), -1;
      break;
    case 'i':
      if (read_urls(optarg) < 0)
        return fprintf(stderr, "green-fetch: cannot read %s: %s\n", optarg, strerror(errno)), -1;
      break;
    case 'k': *insecure = 1; break;
    case 'C': *cacert = optarg; break;
    case 'q': run.quiet = 1; break;
    case 'h': fputs(usage, stdout); exit(0);
    case 'V':
      printf("green-fetch %d.%d.%d\n", GREEN_VERSION_MAJOR, GREEN_VERSION_MINOR,
             GREEN_VERSION_PATCH);
      exit(0);
    default: fputs(usage, stderr); return -1;
    }
  }
  for (; optind < argc; optind++)
    if (add_url(argv[optind], strlen(argv[optind])) < 0) return perror("green-fetch"), -1;
  if (run.n == 0) return fputs(usage, stderr), -1;
  return 0;
}

static int any_https(void) {
  size_t i;
  for (i = 0; i < run.n; i++)
    if (strncasecmp(run.urls[i], "https://", 8) == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  const char *cacert = NULL;
  int insecure = 0;
  char msg[256];
  green_t *bar = NULL;
  unsigned long conns;
  size_t i;
  if (parse_args(argc, argv, &cacert, &insecure) < 0) return 2;
  if (run.outdir && mkdir(run.outdir, 0755) < 0 && errno != EEXIST)
    return fprintf(stderr, "green-fetch: cannot create %s: %s\n", run.outdir, strerror(errno)), 2;
  if (!(run.client = fetch_client_new(cacert, insecure)) || !(run.gs = calloc(run.n, sizeof *run.gs)))
    return perror("green-fetch"), 2;
  if ((cacert || any_https()) && fetch_client_tls(run.client, msg, sizeof msg) < 0)
    return fprintf(stderr, "green-fetch: %s\n", msg), 2;
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  fit_fd_limit();
  run.progress = isatty(STDERR_FILENO);
  run.start = green_now();
  if (run.progress) bar = green_spawn(progress, NULL);
  spawn_more();
  for (i = 0; i < run.n; i++)
    if (run.gs[i]) green_join(run.gs[i], NULL, -1);
  if (bar) {
    green_kill(bar);
    green_join(bar, NULL, -1);
    clear_progress();
  }
  conns = fetch_client_connections(run.client);
  printf("%zu URL%s: %zu ok, %zu failed, %llu bytes in %.3f s (%lu connection%s)\n", run.n,
         run.n == 1 ? "" : "s", run.n - run.failed, run.failed, run.bytes, green_now() - run.start,
         conns, conns == 1 ? "" : "s");
  fetch_client_free(run.client);
  for (i = 0; i < run.n; i++) free(run.urls[i]);
  free(run.urls);
  free(run.gs);
  return run.failed ? 1 : 0;
}
