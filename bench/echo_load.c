/* SPDX-License-Identifier: MIT */
/*
 * The echo load client shared by both servers: c non-blocking connections on one epoll set,
 * each doing ping-pong round trips of an m-byte message. Runs a warm-up, then counts round
 * trips for d seconds and prints round trips per second and its own CPU time per round trip.
 * With -P PID it also prints the server's CPU time per round trip (/proc/PID/stat) and its
 * context switches per round trip (the status of each thread in /proc/PID/task). With -S PID
 * it instead attaches `strace -c -f` to the server between two idle moments, makes every
 * connection do k round trips, and prints the server's syscalls per round trip.
 *
 * usage: echo_load -p port [-c conns] [-d seconds] [-w warmup_seconds] [-m bytes]
 *                  [-P server_pid] [-S server_pid [-k round_trips_per_conn] [-o strace_file]]
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

struct lconn {
  int fd;
  size_t got; /* bytes of the current reply received */
  long done;  /* round trips completed in this phase */
};

static struct lconn *conns;
static int nconn, ep;
static size_t msg = 64;
static char out[4096];

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void connect_all(int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval tv = {.tv_sec = 5}; /* bounds the blocking connect */
  struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close with RST: no TIME_WAIT pile-up */
  int one = 1;
  for (int i = 0; i < nconn; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      die("socket");
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
      die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
      die("epoll_ctl");
    conns[i] = (struct lconn){.fd = fd};
  }
}

static void send_msg(struct lconn *c) {
  if (write(c->fd, out, msg) != (ssize_t)msg) /* one small message in flight: never short */
    die("write");
}

struct snapshot;
static struct snapshot *snap_at_stop; /* run_phase fills it when the counted phase ends */
static void take_stop(struct snapshot *s);

/* Ping-pong on every connection until stop_at or until each has done per_conn round trips,
 * then let the replies in flight arrive. Returns the round trips completed in
 * [count_from, stop_at). */
static long run_phase(double count_from, double stop_at, long per_conn) {
  static char in[65536];
  struct epoll_event evs[512];
  long counted = 0;
  int active = nconn;
  for (int i = 0; i < nconn; i++) {
    conns[i].got = 0;
    conns[i].done = 0;
    send_msg(&conns[i]);
  }
  while (active > 0) {
    int n = epoll_wait(ep, evs, 512, 100);
    double now = bench_now();
    if (n < 0 && errno != EINTR)
      die("epoll_wait");
    if (now >= stop_at && snap_at_stop) {
      take_stop(snap_at_stop);
      snap_at_stop = NULL;
    }
    if (now > stop_at + 5) {
      fprintf(stderr, "echo_load: %d replies missing 5 s after the end\n", active);
      exit(1);
    }
    for (int e = 0; e < n; e++) {
      struct lconn *c = &conns[evs[e].data.u32];
      ssize_t r = read(c->fd, in, sizeof in);
      if (r < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (r <= 0) {
        fprintf(stderr, "echo_load: server closed a connection (%s)\n",
                r ? strerror(errno) : "EOF");
        exit(1);
      }
      c->got += (size_t)r;
      if (c->got < msg)
        continue;
      if (c->got > msg) {
        fprintf(stderr, "echo_load: %zu bytes for a %zu-byte message\n", c->got, msg);
        exit(1);
      }
      c->got = 0;
      c->done++;
      if (now >= count_from && now < stop_at)
        counted++;
      if (now < stop_at && c->done < per_conn)
        send_msg(c);
      else
        active--;
    }
  }
  return counted;
}

static int traced(pid_t pid) {
  char path[64], line[256];
  int tracer = 0;
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "TracerPid:", 10) == 0)
      tracer = atoi(line + 10);
  fclose(f);
  return tracer;
}

/* User and system CPU seconds so far of the process or thread whose stat file is DIR/NAME/stat;
 * 0 when unreadable. */
static int cpu_times_of(const char *dir, const char *name, double *user, double *sys) {
  char path[128], buf[1024];
  unsigned long long ut, st;
  snprintf(path, sizeof path, "%s/%.16s/stat", dir, name);
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f)
    fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return 0;
  *user = (double)ut / (double)sysconf(_SC_CLK_TCK);
  *sys = (double)st / (double)sysconf(_SC_CLK_TCK);
  return 1;
}

/* User and system CPU seconds of pid (all its threads) so far; 0 when unreadable. */
static int cpu_times(pid_t pid, double *user, double *sys) {
  char name[16];
  snprintf(name, sizeof name, "%d", (int)pid);
  return cpu_times_of("/proc", name, user, sys);
}

/* Voluntary and involuntary context switches of every thread of pid so far; 0 if unreadable. */
static int ctx_switches(pid_t pid, long long *vol, long long *invol) {
  char path[64], line[256];
  struct dirent *d;
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *dir = opendir(path);
  if (!dir)
    return 0;
  *vol = *invol = 0;
  while ((d = readdir(dir))) {
    if (d->d_name[0] == '.')
      continue;
    snprintf(path, sizeof path, "/proc/%d/task/%.16s/status", (int)pid, d->d_name);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
      if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0)
        *vol += atoll(line + 24);
      else if (strncmp(line, "nonvoluntary_ctxt_switches:", 27) == 0)
        *invol += atoll(line + 27);
    }
    if (f)
      fclose(f);
  }
  closedir(dir);
  return 1;
}

enum { FEW_THREADS = 4 };

/* CPU seconds of each of pid's threads when it has at most FEW_THREADS (a hub each under
 * greenrun -j N), in cpu[]; returns their number, 0 when more or unreadable. */
static int thread_cpu(pid_t pid, double cpu[FEW_THREADS]) {
  char path[64];
  struct dirent *d;
  int n = 0;
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *dir = opendir(path);
  if (!dir)
    return 0;
  while ((d = readdir(dir)) && n <= FEW_THREADS) {
    double u, s;
    if (d->d_name[0] == '.')
      continue;
    if (n < FEW_THREADS && !cpu_times_of(path, d->d_name, &u, &s))
      break;
    if (n < FEW_THREADS)
      cpu[n] = u + s;
    n++;
  }
  closedir(dir);
  return n <= FEW_THREADS ? n : 0;
}

static double rusage_cpu_s(const struct rusage *ru) {
  return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
         (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) * 1e-6;
}

/* What measure() reads at the start and at the end of the counted phase. */
struct snapshot {
  int cpu, cs, nt;           /* whether each part below was readable (nt: threads read) */
  double user, sys;          /* the server's CPU seconds */
  long long vol, invol;      /* the server's context switches */
  double thread[FEW_THREADS]; /* CPU seconds of each server thread, when it has few */
  struct rusage self;        /* this client's */
};

static pid_t snap_pid;

/* The slow part (a status file per server thread) first, the clocks last. */
static void take_start(struct snapshot *s) {
  s->cs = snap_pid > 0 && ctx_switches(snap_pid, &s->vol, &s->invol);
  s->nt = snap_pid > 0 ? thread_cpu(snap_pid, s->thread) : 0;
  s->cpu = snap_pid > 0 && cpu_times(snap_pid, &s->user, &s->sys);
  getrusage(RUSAGE_SELF, &s->self);
}

/* The clocks first, then the slow part. */
static void take_stop(struct snapshot *s) {
  s->cpu = snap_pid > 0 && cpu_times(snap_pid, &s->user, &s->sys);
  getrusage(RUSAGE_SELF, &s->self);
  s->cs = snap_pid > 0 && ctx_switches(snap_pid, &s->vol, &s->invol);
  s->nt = snap_pid > 0 ? thread_cpu(snap_pid, s->thread) : 0;
}

static void report_threads(const struct snapshot *a, const struct snapshot *b, double dur) {
  double lo = 1e9, hi = 0;
  printf("  server threads' CPU (cores):");
  for (int i = 0; i < a->nt; i++) {
    double c = (b->thread[i] - a->thread[i]) / dur;
    printf(" %.2f", c);
    lo = c < lo ? c : lo;
    hi = c > hi ? c : hi;
  }
  printf("\n");
  printf("RESULT server_thread_cpu_min=%.2f cores\n", lo);
  printf("RESULT server_thread_cpu_max=%.2f cores\n", hi);
}

static void report_server(const struct snapshot *a, const struct snapshot *b, double dur,
                          long rts) {
  double user = b->user - a->user, sys = b->sys - a->sys;
  if (a->cpu && b->cpu) {
    printf("  server CPU: %.0f%% busy, %.2f us per round trip (user %.2f, system %.2f)\n",
           (user + sys) / dur * 100, (user + sys) * 1e6 / (double)rts, user * 1e6 / (double)rts,
           sys * 1e6 / (double)rts);
    printf("RESULT server_cpu_us_per_rt=%.2f us\n", (user + sys) * 1e6 / (double)rts);
    printf("RESULT server_busy=%.2f fraction\n", (user + sys) / dur);
  }
  if (a->nt > 1 && b->nt == a->nt) /* the hubs' split: a hub short of CPU slows its share */
    report_threads(a, b, dur);
  if (a->cs && b->cs) {
    double vol = (double)(b->vol - a->vol) / (double)rts;
    double invol = (double)(b->invol - a->invol) / (double)rts;
    printf("  server context switches per round trip: %.3f voluntary, %.3f involuntary\n", vol,
           invol);
    printf("RESULT server_vcsw_per_rt=%.3f switches\n", vol);
    printf("RESULT server_ivcsw_per_rt=%.3f switches\n", invol);
  }
}

/* Runs the counted phase for dur seconds and prints its figures as RESULT lines. The CPU
 * figures cover the counted phase alone, not the replies still in flight at its end. */
static void measure(double dur, pid_t server) {
  struct snapshot a, b;
  snap_pid = server;
  take_start(&a);
  snap_at_stop = &b;
  double start = bench_now();
  long rts = run_phase(start, start + dur, 1L << 60);
  if (snap_at_stop) { /* every reply came before the end: nothing was read there */
    take_stop(&b);
    snap_at_stop = NULL;
  }
  printf("echo: %zu-byte messages: %ld round trips in %.2f s = %.0f/s\n", msg, rts, dur,
         (double)rts / dur);
  printf("RESULT rt_per_s=%.0f rt/s\n", (double)rts / dur);
  if (rts <= 0)
    return;
  double client = rusage_cpu_s(&b.self) - rusage_cpu_s(&a.self);
  printf("  client CPU: %.0f%% busy, %.2f us per round trip\n", client / dur * 100,
         client * 1e6 / (double)rts);
  printf("RESULT client_cpu_us_per_rt=%.2f us\n", client * 1e6 / (double)rts);
  report_server(&a, &b, dur, rts);
}

static void pause_s(double s) {
  struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

/* Prints the strace -c table as calls per round trip; returns total calls, -1 if unreadable. */
static long report_strace(const char *file, long rts) {
  char line[512];
  long total = -1;
  FILE *f = fopen(file, "r");
  if (!f)
    return -1;
  printf("  server syscalls during %ld round trips (per round trip):\n", rts);
  while (fgets(line, sizeof line, f)) {
    char *tok[8], *save = NULL;
    int nt = 0;
    for (char *t = strtok_r(line, " \t\n", &save); t && nt < 8; t = strtok_r(NULL, " \t\n", &save))
      tok[nt++] = t;
    if (nt < 5 || tok[0][0] == '%' || tok[0][0] == '-')
      continue;
    long calls = atol(tok[3]), errs = nt >= 6 ? atol(tok[4]) : 0;
    if (strcmp(tok[nt - 1], "total") == 0) {
      total = calls;
      continue;
    }
    printf("    %-16s %9ld calls %7.3f/rt", tok[nt - 1], calls, (double)calls / (double)rts);
    if (errs)
      printf("  (%ld errors, %.3f/rt)", errs, (double)errs / (double)rts);
    printf("\n");
  }
  fclose(f);
  return total;
}

/* Attach strace -c to the idle server, run per_conn round trips per connection, detach. */
static int strace_run(pid_t server, long per_conn, const char *file) {
  char pid_s[32];
  snprintf(pid_s, sizeof pid_s, "%d", (int)server);
  pid_t st = fork();
  if (st < 0)
    die("fork");
  if (st == 0) {
    execlp("strace", "strace", "-c", "-f", "-q", "-o", file, "-p", pid_s, (char *)NULL);
    _exit(127);
  }
  double until = bench_now() + 5;
  while (traced(server) <= 0 && bench_now() < until)
    pause_s(0.01);
  if (traced(server) <= 0) {
    fprintf(stderr, "echo_load: strace did not attach to %d\n", (int)server);
    kill(st, SIGKILL);
    waitpid(st, NULL, 0);
    return 1;
  }
  pause_s(0.3); /* let it attach to every thread */
  long rts = run_phase(0, bench_now() + 60, per_conn);
  pause_s(0.2);
  kill(st, SIGINT);
  until = bench_now() + 5;
  int status;
  while (waitpid(st, &status, WNOHANG) == 0) {
    if (bench_now() > until) {
      kill(st, SIGKILL);
      waitpid(st, &status, 0);
      break;
    }
    pause_s(0.01);
  }
  long total = report_strace(file, rts);
  if (total < 0 || rts <= 0) {
    fprintf(stderr, "echo_load: no strace summary in %s\n", file);
    return 1;
  }
  printf("  total %ld syscalls / %ld round trips = %.3f per round trip\n", total, rts,
         (double)total / (double)rts);
  printf("RESULT syscalls_per_rt=%.3f calls\n", (double)total / (double)rts);
  return 0;
}

int main(int argc, char **argv) {
  int port = 0, opt;
  double dur = 2, warm = 0.5;
  long per_conn = 20;
  pid_t server = 0, cpu_pid = 0;
  char file[256];
  snprintf(file, sizeof file, "/tmp/echo_load_strace.%d", (int)getpid());
  nconn = 100;
  while ((opt = getopt(argc, argv, "p:c:d:w:m:P:S:k:o:")) != -1) {
    switch (opt) {
    case 'p': port = (int)bench_arg_long(optarg, "port"); break;
    case 'c': nconn = (int)bench_arg_long(optarg, "connections"); break;
    case 'd': dur = bench_arg_double(optarg, "seconds"); break;
    case 'w': warm = bench_arg_double(optarg, "seconds"); break;
    case 'm': msg = (size_t)bench_arg_long(optarg, "message size"); break;
    case 'P': cpu_pid = (pid_t)bench_arg_long(optarg, "server pid"); break;
    case 'S': server = (pid_t)bench_arg_long(optarg, "server pid"); break;
    case 'k': per_conn = bench_arg_long(optarg, "round trips"); break;
    case 'o': snprintf(file, sizeof file, "%s", optarg); break;
    default: port = 0;
    }
  }
  if (port <= 0 || port > 65535 || msg > sizeof out) {
    fprintf(stderr, "usage: %s -p port [-c conns] [-d seconds] [-w warmup] [-m bytes<=4096] "
                    "[-P server_pid] [-S server_pid [-k rts_per_conn] [-o strace_file]]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  bench_raise_nofile((rlim_t)nconn + 64);
  for (size_t i = 0; i < msg; i++)
    out[i] = (char)('a' + i % 26);
  if (!(conns = calloc((size_t)nconn, sizeof *conns)) || (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
    die("setup");
  double t0 = bench_now();
  connect_all(port);
  double t1 = bench_now();
  printf("echo: %d connections connected in %.2f s\n", nconn, t1 - t0);
  run_phase(t1, t1 + warm, 1L << 60); /* warm-up: every connection and its greenlet busy */
  int rc = 0;
  if (server > 0) {
    rc = strace_run(server, per_conn, file);
    unlink(file);
  } else {
    measure(dur, cpu_pid);
  }
  for (int i = 0; i < nconn; i++)
    close(conns[i].fd);
  return rc;
}
