/* SPDX-License-Identifier: MIT */
/*
 * churn: the load driver of scripts/soak. It drives one server on 127.0.0.1 through
 * connect/close cycles, resets and held connections, and measures the server process (fds,
 * RSS, greenlets) cold, warm (after a short pass of every phase), after the churn and once it
 * has settled. Exits 1 unless the settled fds and greenlets equal the warm baseline and the
 * RSS is within the tolerance; 2 on a usage error.
 *
 *   churn -p PORT -k echo|http -P PID -L LOG [-s SIGNAL] [-n CYCLES] [-r RESETS] [-l LIVE]
 *         [-c CONCURRENCY] [-w WARM] [-S SETTLE_S] [-R RSS_KIB] [-t PHASE_S] [-N NAME]
 *
 * Greenlets are counted from the server's counters: the server runs with
 * GREEN_STATS_SIGNAL=SIGNAL (default SIGUSR2) and its stderr going to LOG; churn sends the
 * signal to its main thread and reads the "stats: greenlets N alive" line that follows in LOG.
 * (A dump, GREEN_DUMP_SIGNAL, counts them too, but writes every greenlet's backtrace: with
 * 1,000 greenlets it keeps the hub from its loop for seconds.)
 *
 * A cycle connects, makes one request (echo: 16 bytes; http: GET /bytes/64 with Connection:
 * close), reads the whole answer and closes gracefully. A reset connects and closes with
 * SO_LINGER 0, alternately mid-request (half a request sent) and mid-response (a large answer
 * started). Live connections each make one request, are held until all are open and the
 * server has been measured with them, then closed. The warm-up's live connections echo (or are sent)
 * 32 KiB each, so that every stack the server keeps in its pool has filled its read buffer once: the
 * pages the churn touches later are then already counted in the baseline. Client sockets are bound to 127.0.0.2-33
 * (IP_BIND_ADDRESS_NO_PORT), so the ports of TIME_WAIT sockets never run out.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SOURCE_ADDRS 32
#define ECHO_BYTES 16
#define BIG_ECHO (64 * 1024)

enum kind { CYCLE, RESET_HEAD, RESET_BODY, LIVE };
enum state { CONNECTING, SENDING, READING, DRAINING, HELD };

struct conn {
  int fd;
  enum kind kind;
  enum state state;
  size_t sent, got; /* request bytes sent; answer bytes received */
  int head_end;     /* http: where the answer's head ends, once seen (0 before) */
  char in[512];     /* the start of the answer */
};

typedef struct {
  long fds, rss_kib, greenlets;
} sample_t;

static long errors; /* failed connections and measures */

static struct {
  int port, http, pid, signal, concurrency;
  const char *log, *name;
  long cycles, resets, live, warm;
  double settle, phase_limit;
  long rss_tolerance_kib;
} opt = {.signal = SIGUSR2, .concurrency = 64, .name = "server", .cycles = 50000,
         .resets = 40000, .live = 1000, .warm = 2000, .settle = 10, .phase_limit = 120,
         .rss_tolerance_kib = 2048};

static int ep;
static long started, finished;
static size_t live_bytes = ECHO_BYTES; /* a live connection's message (echo) or body (http) */
static char big[BIG_ECHO];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
  fprintf(stderr, "churn: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* ---- measuring the server ------------------------------------------------------------- */

static long count_fds(void) {
  char path[64];
  DIR *d;
  struct dirent *e;
  long n = 0;
  snprintf(path, sizeof path, "/proc/%d/fd", opt.pid);
  if (!(d = opendir(path))) die(path);
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static long rss_kib(void) {
  char path[64], line[256];
  FILE *f;
  long kib = -1;
  snprintf(path, sizeof path, "/proc/%d/status", opt.pid);
  if (!(f = fopen(path, "r"))) die(path);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = strtol(line + 6, NULL, 10);
  fclose(f);
  return kib;
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The greenlets of the stats LOG holds past `from`; -1 while they are not whole. */
static long parse_stats(long from) {
  FILE *f = fopen(opt.log, "r");
  char line[1024], *p;
  long n = -1;
  if (!f) die(opt.log);
  fseek(f, from, SEEK_SET);
  while (fgets(line, sizeof line, f)) {
    if ((p = strstr(line, "stats: greenlets "))) n = strtol(p + 17, NULL, 10);
    if (n >= 0 && strstr(line, "stats: stacks ")) break; /* the last line */
  }
  if (!strstr(line, "stats: stacks ")) n = -1;
  fclose(f);
  return n;
}

/* Ask the server's main thread (its hub's) for its counters. */
static long count_greenlets(void) {
  long from = file_size(opt.log), n = -1;
  double until = now() + 10;
  if (from < 0) die(opt.log);
  if (syscall(SYS_tgkill, opt.pid, opt.pid, opt.signal) != 0) die("tgkill");
  while ((n = parse_stats(from)) < 0 && now() < until) usleep(2000);
  if (n < 0) {
    fprintf(stderr, "churn: %s wrote no stats within 10 s\n", opt.name);
    errors++;
  }
  return n;
}

static sample_t measure(void) {
  sample_t s;
  s.greenlets = count_greenlets();
  s.fds = count_fds();
  s.rss_kib = rss_kib();
  return s;
}

static void print_sample(const char *label, sample_t s) {
  printf("  %-8s fds %5ld  rss %7ld KiB  greenlets %5ld\n", label, s.fds, s.rss_kib, s.greenlets);
  fflush(stdout);
}

/* ---- connections ---------------------------------------------------------------------- */

static const char *request(enum kind k, size_t *len) {
  static const char full[] = "GET /bytes/64 HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n";
  static char alive[64];
  static const char half[] = "GET /bytes/64 HTTP/1.1\r\nHost: so";
  static const char large[] = "GET /bytes/4194304 HTTP/1.1\r\nHost: soak\r\n\r\n";
  const char *r;
  if (!opt.http) {
    *len = k == RESET_BODY ? BIG_ECHO : k == LIVE ? live_bytes : ECHO_BYTES;
    return big;
  }
  if (k == LIVE) snprintf(alive, sizeof alive, "GET /bytes/%zu HTTP/1.1\r\nHost: soak\r\n\r\n", live_bytes);
  r = k == CYCLE ? full : k == LIVE ? alive : k == RESET_HEAD ? half : large;
  *len = strlen(r);
  return r;
}

static void watch(struct conn *c, int op, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(ep, op, c->fd, &ev) != 0) die("epoll_ctl");
}

static int open_conn(struct conn *c, enum kind k) {
  struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
  int one = 1;
  memset(c, 0, sizeof *c);
  c->kind = k;
  src.sin_addr.s_addr = htonl(0x7f000002 + (uint32_t)(started % SOURCE_ADDRS));
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dst.sin_port = htons((uint16_t)opt.port);
  if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) die("socket");
  setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (bind(c->fd, (struct sockaddr *)&src, sizeof src) != 0) die("bind 127.0.0.x");
  started++;
  if (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS) {
    fprintf(stderr, "churn: connect: %s\n", strerror(errno));
    close(c->fd);
    return -1;
  }
  c->state = CONNECTING;
  watch(c, EPOLL_CTL_ADD, EPOLLOUT);
  return 0;
}

static void reset(int fd) {
  struct linger l = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

/* The connection is over: 1 (counted as finished), or 0 when it failed (counted as an error). */
static int end_conn(struct conn *c, int ok) {
  if (c->kind == RESET_HEAD || c->kind == RESET_BODY) reset(c->fd);
  else close(c->fd);
  c->fd = -1;
  if (!ok) errors++;
  else finished++;
  return ok;
}

static int fail(struct conn *c, const char *what) {
  if (errors < 5)
    fprintf(stderr, "churn: %s: %s connection %s: %s\n", opt.name,
            c->kind == CYCLE ? "cycle" : c->kind == LIVE ? "live" : "reset", what,
            errno ? strerror(errno) : "unexpected answer");
  return end_conn(c, 0);
}

/* Whether the answer read so far is whole (a cycle: at EOF, checked by the caller). */
static int answered(struct conn *c) {
  char *end;
  if (!opt.http) return c->got >= (c->kind == LIVE ? live_bytes : ECHO_BYTES);
  if (!c->head_end && (end = memmem(c->in, c->got < sizeof c->in ? c->got : sizeof c->in,
                                    "\r\n\r\n", 4)))
    c->head_end = (int)(end - c->in) + 4;
  return c->head_end && c->got >= (size_t)c->head_end + (c->kind == LIVE ? live_bytes : 64);
}

static int send_request(struct conn *c) {
  size_t len;
  const char *r = request(c->kind, &len);
  ssize_t n = send(c->fd, r + c->sent, len - c->sent, MSG_NOSIGNAL);
  if (n < 0) return errno == EAGAIN ? 0 : fail(c, "send");
  c->sent += (size_t)n;
  if (c->kind == RESET_HEAD) return end_conn(c, 1); /* half a request, or a message unread */
  if (c->sent < len && c->kind != RESET_BODY) return 0;
  c->state = READING;
  watch(c, EPOLL_CTL_MOD, EPOLLIN);
  return 0;
}

static int on_readable(struct conn *c) {
  char buf[16384];
  ssize_t n;
  while ((n = recv(c->fd, buf, sizeof buf, 0)) > 0) {
    if (c->got < sizeof c->in)
      memcpy(c->in + c->got, buf, (size_t)n < sizeof c->in - c->got ? (size_t)n : sizeof c->in - c->got);
    c->got += (size_t)n;
    if (c->kind == RESET_BODY) return end_conn(c, 1); /* the answer has started: reset */
  }
  if (n < 0 && errno != EAGAIN) return fail(c, "recv");
  if (opt.http && c->got >= 12 && memcmp(c->in, "HTTP/1.1 200", 12) != 0)
    return errno = 0, fail(c, "answer");
  if (n == 0) { /* EOF: the end of a cycle, else too early */
    if (c->state == DRAINING || (opt.http && c->kind == CYCLE && answered(c))) return end_conn(c, 1);
    return errno = 0, fail(c, "early EOF");
  }
  if (c->state != READING || !answered(c)) return 0;
  if (opt.http && c->kind == CYCLE) return 0; /* the server closes */
  if (!opt.http && memcmp(c->in, big, ECHO_BYTES) != 0) return errno = 0, fail(c, "echo");
  if (c->kind == LIVE) {
    c->state = HELD;
    watch(c, EPOLL_CTL_DEL, 0);
    finished++;
    return 1;
  }
  shutdown(c->fd, SHUT_WR); /* echo cycle: the server sees EOF and closes first */
  c->state = DRAINING;
  return 0;
}

static int on_event(struct conn *c, unsigned events) {
  int err = 0;
  socklen_t len = sizeof err;
  if (c->state == CONNECTING) {
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return errno = err, fail(c, "connect");
    c->state = SENDING;
  }
  if (c->state == SENDING) return send_request(c);
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) return on_readable(c);
  return 0;
}

/* ---- phases --------------------------------------------------------------------------- */

static enum kind kind_of(enum kind k, long i) {
  return k == RESET_HEAD && i % 2 ? RESET_BODY : k;
}

/* Run `count` connections of kind k, `concurrency` at a time. LIVE ones stay in `held`. */
static double run_phase(const char *name, enum kind k, long count, struct conn *held) {
  struct conn *slots = calloc((size_t)opt.concurrency, sizeof *slots);
  struct epoll_event evs[256];
  long i, issued = 0, inflight = 0, errors_before = errors;
  double start = now(), limit = start + opt.phase_limit;
  int n;
  if (!slots) die("calloc");
  for (i = 0; i < opt.concurrency; i++) slots[i].fd = -1;
  while ((issued < count || inflight > 0) && now() < limit) {
    for (i = 0; i < opt.concurrency && issued < count; i++) {
      struct conn *c = k == LIVE ? &held[issued] : &slots[i];
      if (k != LIVE && c->fd >= 0) continue;
      if (k == LIVE && inflight >= opt.concurrency) break;
      if (open_conn(c, kind_of(k, issued++)) == 0) inflight++;
      else errors++;
    }
    if ((n = epoll_wait(ep, evs, 256, 100)) < 0 && errno != EINTR) die("epoll_wait");
    for (i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      on_event(c, evs[i].events);
      if (c->fd < 0 || c->state == HELD) inflight--;
    }
  }
  free(slots);
  if (issued < count || inflight > 0) {
    fprintf(stderr, "churn: %s: %s phase: only %ld of %ld done in %.0f s\n", opt.name, name,
            issued - inflight, count, opt.phase_limit);
    errors++;
  }
  if (errors > errors_before)
    fprintf(stderr, "churn: %s: %s phase: %ld failed connections\n", opt.name, name,
            errors - errors_before);
  return now() - start;
}

/* The RSS alone (no dump): where, between phases, memory grows. */
static void print_rss(const char *label) {
  printf("  %-8s          rss %7ld KiB\n", label, rss_kib());
  fflush(stdout);
}

static void print_phase(const char *name, long count, double secs) {
  printf("  %-8s %ld in %.2f s (%.0f/s)\n", name, count, secs, secs > 0 ? count / secs : 0.0);
  fflush(stdout);
}

/* Open `live` connections, measure the server with them, close them. */
static double live_phase(const char *label, sample_t base, int check) {
  struct conn *held = calloc((size_t)opt.live + 1, sizeof *held);
  double secs;
  sample_t s;
  long i;
  if (!held) die("calloc");
  secs = run_phase("live", LIVE, opt.live, held);
  if (check) {
    s = measure();
    print_sample(label, s);
    if (s.fds != base.fds + opt.live || s.greenlets != base.greenlets + opt.live) {
      fprintf(stderr, "churn: %s: with %ld connections held, %ld fds and %ld greenlets "
                      "(expected %ld and %ld)\n",
              opt.name, opt.live, s.fds, s.greenlets, base.fds + opt.live,
              base.greenlets + opt.live);
      errors++;
    }
  }
  for (i = 0; i < opt.live; i++)
    if (held[i].fd > 0) close(held[i].fd);
  free(held);
  return secs;
}

/* Wait, up to opt.settle seconds, for the fds to come back to the baseline; then measure. */
static sample_t settle(sample_t base, double *waited) {
  double start = now();
  sample_t s;
  for (;;) {
    while (count_fds() != base.fds && now() - start < opt.settle) usleep(20000);
    s = measure();
    if ((s.fds == base.fds && s.greenlets == base.greenlets) || now() - start >= opt.settle) break;
    usleep(100000);
  }
  *waited = now() - start;
  return s;
}

static void warm_up(void) {
  long w = opt.warm;
  run_phase("warm cycles", CYCLE, opt.cycles < w ? opt.cycles : w, NULL);
  run_phase("warm resets", RESET_HEAD, opt.resets < w ? opt.resets : w, NULL);
  live_bytes = BIG_ECHO / 2; /* every stack of the server's pool fills its read buffer */
  if (opt.live) live_phase("warm", (sample_t){0, 0, 0}, 0);
  live_bytes = ECHO_BYTES;
}

/* ---- main ----------------------------------------------------------------------------- */

static void usage(void) {
  fprintf(stderr, "usage: churn -p PORT -k echo|http -P PID -L LOG [-s SIGNAL] [-n CYCLES] "
                  "[-r RESETS] [-l LIVE] [-c CONCURRENCY] [-w WARM] [-S SETTLE_S] [-R RSS_KIB] "
                  "[-t PHASE_S] [-N NAME]\n");
  exit(2);
}

static void parse_args(int argc, char **argv) {
  int o;
  while ((o = getopt(argc, argv, "p:k:P:L:s:n:r:l:c:w:S:R:t:N:")) != -1) {
    switch (o) {
    case 'p': opt.port = atoi(optarg); break;
    case 'k': opt.http = strcmp(optarg, "http") == 0; break;
    case 'P': opt.pid = atoi(optarg); break;
    case 'L': opt.log = optarg; break;
    case 's': opt.signal = atoi(optarg); break;
    case 'n': opt.cycles = atol(optarg); break;
    case 'r': opt.resets = atol(optarg); break;
    case 'l': opt.live = atol(optarg); break;
    case 'c': opt.concurrency = atoi(optarg); break;
    case 'w': opt.warm = atol(optarg); break;
    case 'S': opt.settle = atof(optarg); break;
    case 'R': opt.rss_tolerance_kib = atol(optarg); break;
    case 't': opt.phase_limit = atof(optarg); break;
    case 'N': opt.name = optarg; break;
    default: usage();
    }
  }
  if (opt.port <= 0 || opt.pid <= 0 || !opt.log || opt.signal <= 0 || opt.concurrency < 1 ||
      opt.concurrency > 4096 || opt.cycles < 0 || opt.resets < 0 || opt.live < 0 || opt.warm < 0)
    usage();
}

static void raise_nofile(rlim_t want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* How the RSS is judged: "tolerance N KiB", or not at all (scripts/soak --no-rss-check). */
static const char *tolerance_text(long kib) {
  static char text[64];
  if (kib >= 1L << 30) return "not checked";
  snprintf(text, sizeof text, "tolerance %ld KiB", kib);
  return text;
}

/* Compare the settled sample with the warm baseline; print the verdict; whether it is flat. */
static int verdict(sample_t base, sample_t s) {
  long drss = s.rss_kib - base.rss_kib;
  int flat = s.fds == base.fds && s.greenlets == base.greenlets && drss <= opt.rss_tolerance_kib;
  printf("  %s: fds %+ld, greenlets %+ld, rss %+ld KiB (%s)%s\n",
         flat && !errors ? "flat" : "NOT FLAT", s.fds - base.fds, s.greenlets - base.greenlets,
         drss, tolerance_text(opt.rss_tolerance_kib), errors ? "; failures above" : "");
  return flat && !errors;
}

int main(int argc, char **argv) {
  sample_t cold, base, after, settled;
  double waited;
  parse_args(argc, argv);
  memset(big, 'e', sizeof big);
  raise_nofile((rlim_t)(opt.live + opt.concurrency + 64));
  signal(SIGPIPE, SIG_IGN);
  if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1");
  printf("soak: %s (pid %d): %ld cycles, %ld resets, %ld live, %d at a time\n", opt.name, opt.pid,
         opt.cycles, opt.resets, opt.live, opt.concurrency);
  print_sample("cold", cold = measure());
  warm_up();
  settled = settle(cold, &waited);
  print_sample("warm", base = settled);
  print_phase("cycles", opt.cycles, run_phase("cycles", CYCLE, opt.cycles, NULL));
  print_rss("");
  print_phase("resets", opt.resets, run_phase("resets", RESET_HEAD, opt.resets, NULL));
  print_rss("");
  if (opt.live) print_phase("live", opt.live, live_phase("held", base, 1));
  print_sample("after", after = measure());
  settled = settle(base, &waited);
  printf("  settled after %.2f s:\n", waited);
  print_sample("settled", settled);
  return verdict(base, settled) ? 0 : 1;
}
