/* SPDX-License-Identifier: MIT */
/*
 * fetch_blocking: the URL fetcher written the plain way — one pthread per URL, each doing a
 * blocking getaddrinfo, connect, write and read. No libgreen call: run it under greenrun
 * (scripts/demo does) and its threads are greenlets of one OS thread, every blocking call
 * parks only its thread, and it fetches as fast as green-fetch does.
 *
 * usage: fetch_blocking [-o DIR] [-q] [-i FILE] URL...
 *   -o DIR   save each body as DIR/<position>-<last path segment> (green-fetch's names)
 *   -q       no per-URL lines, only errors and the summary
 *   -i FILE  read URLs from FILE, one per line
 * http:// URLs only; the answer's body as it comes (Content-Length, chunked or until close);
 * no redirects.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct job {
  const char *url;
  size_t index;
  int status;            /* HTTP status, 0 on failure */
  size_t bytes;          /* of the body */
  char error[128];
} job_t;

static const char *outdir;

/* The kernel's count of this process's threads. */
static int os_threads(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  int n = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "Threads:", 8) == 0) n = atoi(line + 8);
  if (f) fclose(f);
  return n;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* http://host[:port]/path → its parts; 0 or -1. */
static int parse_url(const char *url, char *host, size_t hlen, char *port, size_t plen,
                     const char **path) {
  const char *h, *end, *colon;
  if (strncmp(url, "http://", 7) != 0) return -1;
  h = url + 7;
  end = h + strcspn(h, "/?#");
  *path = *end ? end : "/";
  colon = memchr(h, ':', (size_t)(end - h));
  if ((size_t)((colon ? colon : end) - h) >= hlen || end == h) return -1;
  snprintf(host, hlen, "%.*s", (int)((colon ? colon : end) - h), h);
  snprintf(port, plen, "%.*s", colon ? (int)(end - colon - 1) : 2, colon ? colon + 1 : "80");
  return 0;
}

static int dial(job_t *job, const char *host, const char *port) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
  int fd = -1, r = getaddrinfo(host, port, &hints, &res);
  if (r != 0) {
    snprintf(job->error, sizeof job->error, "%.80s: %s", host, gai_strerror(r));
    return -1;
  }
  for (ai = res; ai && fd < 0; ai = ai->ai_next) {
    if ((fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      snprintf(job->error, sizeof job->error, "connect: %s", strerror(errno));
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  return fd;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

/* The whole answer, read until the server closes, NUL-terminated. */
static char *read_all(int fd, size_t *len) {
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap + 1), *grown;
  ssize_t r;
  if (!buf) return NULL;
  while ((r = read(fd, buf + n, cap - n)) > 0) {
    n += (size_t)r;
    if (n == cap) {
      if (!(grown = realloc(buf, 2 * cap + 1))) {
        free(buf);
        return NULL;
      }
      buf = grown;
      cap *= 2;
    }
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* Decode a chunked body in place; its length, or -1 when malformed. */
static long unchunk(char *body, size_t len) {
  char *in = body, *out = body, *end = body + len;
  for (;;) {
    char *nl;
    unsigned long size = strtoul(in, &nl, 16);
    if (nl == in || !(nl = memchr(nl, '\n', (size_t)(end - nl)))) return -1;
    in = nl + 1;
    if (size == 0) return out - body;
    if (size > (size_t)(end - in)) return -1;
    memmove(out, in, size);
    out += size, in += size;
    if (in < end && *in == '\r') in++;
    if (in < end && *in == '\n') in++;
  }
}

/* DIR/<position>-<last path segment of the URL>, as green-fetch names it. */
static void save(job_t *job, const char *body, size_t n) {
  const char *p = strstr(job->url, "://"), *end, *seg;
  char path[4096], *q;
  size_t len;
  int fd;
  p = p ? p + 3 : job->url;
  p += strcspn(p, "/?#");
  end = p + strcspn(p, "?#");
  for (seg = end; seg > p && seg[-1] != '/'; seg--) {
  }
  len = (size_t)(end - seg) < 100 ? (size_t)(end - seg) : 100;
  q = path + snprintf(path, sizeof path - 110, "%s/%zu-", outdir, job->index + 1);
  if (len == 0) strcpy(q, "index.html");
  for (; len; len--, seg++) {
    char c = *seg;
    *q++ = isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' ? c : '_';
    *q = '\0';
  }
  if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 || write_all(fd, body, n) != 0)
    snprintf(job->error, sizeof job->error, "%.80s: %s", path, strerror(errno));
  if (fd >= 0) close(fd);
}

static void *fetch(void *arg) {
  job_t *job = arg;
  char host[256], port[16], req[4096], *resp, *body;
  const char *path;
  size_t len;
  long blen;
  int fd;
  if (parse_url(job->url, host, sizeof host, port, sizeof port, &path) != 0) {
    snprintf(job->error, sizeof job->error, "not an http:// URL");
    return NULL;
  }
  if ((fd = dial(job, host, port)) < 0) return NULL;
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
  if (write_all(fd, req, strlen(req)) != 0 || !(resp = read_all(fd, &len))) {
    snprintf(job->error, sizeof job->error, "%s", strerror(errno));
    close(fd);
    return NULL;
  }
  close(fd);
  if (len < 12 || strncmp(resp, "HTTP/1.", 7) != 0 || !(body = strstr(resp, "\r\n\r\n"))) {
    snprintf(job->error, sizeof job->error, "not an HTTP answer");
    free(resp);
    return NULL;
  }
  body += 4;
  blen = (long)(len - (size_t)(body - resp));
  *(body - 2) = '\0'; /* the headers, for the search below */
  if (strcasestr(resp, "\r\ntransfer-encoding: chunked") && (blen = unchunk(body, (size_t)blen)) < 0) {
    snprintf(job->error, sizeof job->error, "bad chunked body");
    free(resp);
    return NULL;
  }
  job->status = atoi(resp + 9);
  job->bytes = (size_t)blen;
  if (outdir) save(job, body, (size_t)blen);
  free(resp);
  return NULL;
}

/* The URLs of a file, one per line (blank lines skipped). */
static size_t read_urls(const char *file, char ***urls, size_t n) {
  FILE *f = fopen(file, "r");
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  if (!f) {
    perror(file);
    exit(2);
  }
  while ((len = getline(&line, &cap, f)) > 0) {
    while (len && isspace((unsigned char)line[len - 1])) line[--len] = '\0';
    if (!len) continue;
    *urls = realloc(*urls, (n + 1) * sizeof **urls);
    (*urls)[n++] = strdup(line);
  }
  free(line);
  fclose(f);
  return n;
}

int main(int argc, char **argv) {
  char **urls = NULL;
  size_t n = 0, i, failed = 0, bytes = 0;
  int quiet = 0, opt, busiest;
  pthread_t *threads;
  job_t *jobs;
  double t0;
  while ((opt = getopt(argc, argv, "o:qi:")) != -1) {
    if (opt == 'o') outdir = optarg;
    else if (opt == 'q') quiet = 1;
    else if (opt == 'i') n = read_urls(optarg, &urls, n);
    else {
      fprintf(stderr, "usage: %s [-o DIR] [-q] [-i FILE] URL...\n", argv[0]);
      return 2;
    }
  }
  for (; optind < argc; optind++) {
    urls = realloc(urls, (n + 1) * sizeof *urls);
    urls[n++] = strdup(argv[optind]);
  }
  if (outdir && mkdir(outdir, 0755) != 0 && errno != EEXIST) {
    perror(outdir);
    return 2;
  }
  threads = calloc(n ? n : 1, sizeof *threads);
  jobs = calloc(n ? n : 1, sizeof *jobs);
  t0 = now();
  for (i = 0; i < n; i++) {
    jobs[i].url = urls[i];
    jobs[i].index = i;
    if (pthread_create(&threads[i], NULL, fetch, &jobs[i]) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  busiest = os_threads(); /* every URL's thread exists now */
  for (i = 0; i < n; i++) {
    pthread_join(threads[i], NULL);
    if (!jobs[i].status) {
      failed++;
      fprintf(stderr, "%s: %s\n", jobs[i].url, jobs[i].error);
    } else if (!quiet) {
      printf("%d %zu %s\n", jobs[i].status, jobs[i].bytes, jobs[i].url);
    }
    bytes += jobs[i].bytes;
  }
  printf("%zu URLs, %zu failed, %zu bytes in %.3f s (one thread per URL, %d OS thread%s)\n", n,
         failed, bytes, now() - t0, busiest, busiest == 1 ? "" : "s");
  for (i = 0; i < n; i++) free(urls[i]);
  free(urls);
  free(threads);
  free(jobs);
  return failed ? 1 : 0;
}
