/* SPDX-License-Identifier: MIT */
/*
 * greenrun: run an unmodified program with libgreen-preload.so. Its threads are then
 * greenlets, and its blocking calls park them instead of the OS thread.
 *
 * It finds the shim (find_shim). It adds it to LD_PRELOAD, after what is there: a sanitizer
 * runtime must stay first. It sets GREEN_THREADS, GREEN_HUBS, GREEN_DEBUG, GREEN_CHECK, GREEN_TIMESLICE_MS
 * and GREEN_WATCHDOG_MS for it, and execs the command. It says so when the command is a static
 * binary, which no LD_PRELOAD reaches.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "green_config.h" /* GREEN_VERSION_*: the project's version (CMakeLists.txt) */

static const char usage[] =
    "usage: greenrun [--threads=green|native] [-j N|--hubs=N|auto] [--timeslice=MS]\n"
    "                [--watchdog=MS] [--debug] [--dump-signal=SIG] [--stats] [--check[=FILE]]\n"
    "                [--] command [args...]\n"
    "\n"
    "Runs command with libgreen-preload.so: every thread it creates is a greenlet on one OS\n"
    "thread, and every call that would block (read, write, accept, connect, poll, select,\n"
    "epoll_wait, sleep, waitpid, getaddrinfo, pthread_join, mutexes, conditions,\n"
    "semaphores...) parks only that greenlet. A thread-per-connection server then serves\n"
    "thousands of connections from one OS thread, unchanged.\n"
    "\n"
    "  --threads=green   program threads are greenlets of one OS thread (the default).\n"
    "                    Threads that exist for CPU parallelism give the same results,\n"
    "                    without the parallelism.\n"
    "  --threads=native  program threads stay OS threads; each gets its own hub, so its\n"
    "                    blocking calls still run on libev (use it for CPU-bound threads).\n"
    "  -j N, --hubs=N    green threads spread over N OS threads (1 to 64), each with a hub;\n"
    "                    auto: one per online CPU (GREEN_HUBS; default 1). A new thread goes\n"
    "                    to the hub with the fewest threads ready to run, then the fewest\n"
    "                    live ones (GREEN_PLACEMENT=least; GREEN_PLACEMENT=rr: in turn).\n"
    "  --timeslice=MS    a green thread that computes that long while others wait is\n"
    "                    preempted (GREEN_TIMESLICE_MS; default 10, 0 turns it off).\n"
    "  --watchdog=MS     report on stderr, with a backtrace, a thread that keeps the others\n"
    "                    from running that long (GREEN_WATCHDOG_MS; default 1000, 0: off).\n"
    "  --debug           log every call that parks to stderr (GREEN_DEBUG=1).\n"
    "  --dump-signal=SIG on signal SIG (SIGUSR2, a number...), write every green thread,\n"
    "                    what it waits on and its backtrace to stderr (GREEN_DUMP_SIGNAL).\n"
    "  --stats           at exit, write the hub's counters to stderr (GREEN_STATS=1).\n"
    "  --check[=FILE]    report on stderr (or at the end of FILE), once per call site and\n"
    "                    with a backtrace, each blocking system call that reaches the\n"
    "                    kernel without passing the shim (a raw syscall instruction,\n"
    "                    libc's own internal calls). Syscall User Dispatch traps every\n"
    "                    system call of the green threads, a few microseconds each\n"
    "                    (GREEN_CHECK=1 or =/path; Linux 5.11+, x86_64).\n"
    "  -h, --help        print this help and exit.\n"
    "  --version         print greenrun's version and exit.\n"
    "\n"
    "Child processes inherit the shim (it is in LD_PRELOAD).\n"
    "Exit status: the command's; 2 for a usage error; 126 when the command cannot be run;\n"
    "127 when it or the shim is not found. man greenrun has the rest.\n";

/* Whether dir/sub/libgreen-preload.so can be read; path is then its canonical name. */
static int readable(char *path, const char *dir, const char *sub) {
  char name[PATH_MAX];
  return (size_t)snprintf(name, sizeof name, "%s/%s/libgreen-preload.so", dir, sub) < sizeof name &&
         access(name, R_OK) == 0 && realpath(name, path) != NULL;
}

/* The shim: next to this executable (the build tree). Else in the library directory beside
 * its bin directory (an installed prefix, wherever it was moved). Else the configured path. */
static int find_shim(char path[PATH_MAX]) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  char *slash;
  if (n > 0) {
    self[n] = '\0';
    if ((slash = strrchr(self, '/'))) {
      *slash = '\0';
      if (readable(path, self, ".") || readable(path, self, GREEN_PRELOAD_FROM_BINDIR)) return 0;
    }
  }
  snprintf(path, PATH_MAX, "%s", GREEN_PRELOAD_INSTALLED);
  return access(path, R_OK);
}

static int set_preload(const char *shim) {
  const char *old = getenv("LD_PRELOAD");
  size_t len = strlen(shim) + (old ? strlen(old) + 2 : 1);
  char *v = malloc(len);
  int r;
  if (!v) return -1;
  if (old && *old) snprintf(v, len, "%s:%s", old, shim); /* a sanitizer runtime stays first */
  else snprintf(v, len, "%s", shim);
  r = setenv("LD_PRELOAD", v, 1);
  free(v);
  return r;
}

/* path made absolute (children may change directory), in buf (PATH_MAX); NULL if too long. */
static const char *absolute(const char *path, char *buf) {
  char cwd[PATH_MAX];
  const char *sep = "/";
  if (*path == '/') return snprintf(buf, PATH_MAX, "%s", path) < PATH_MAX ? buf : NULL;
  if (!getcwd(cwd, sizeof cwd)) return NULL;
  if (strcmp(cwd, "/") == 0) sep = "";
  return snprintf(buf, PATH_MAX, "%s%s%s", cwd, sep, path) < PATH_MAX ? buf : NULL;
}

/* The file execvp would run for cmd, in path (PATH_MAX); 0 when found. */
static int find_command(const char *cmd, char *path) {
  const char *dirs = getenv("PATH"), *p, *end;
  if (strchr(cmd, '/')) return snprintf(path, PATH_MAX, "%s", cmd) < PATH_MAX ? 0 : -1;
  for (p = dirs ? dirs : "/usr/bin:/bin"; *p; p = *end ? end + 1 : end) {
    end = strchrnul(p, ':');
    if (snprintf(path, PATH_MAX, "%.*s/%s", (int)(end - p), end > p ? p : ".", cmd) < PATH_MAX &&
        access(path, X_OK) == 0)
      return 0;
  }
  return -1;
}

/* Whether the file is a 64-bit ELF executable without a program interpreter: a static
 * binary. The dynamic loader never sees it, so LD_PRELOAD cannot load the shim into it. */
static int static_binary(const char *path) {
  Elf64_Ehdr eh;
  Elf64_Phdr ph;
  int fd = open(path, O_RDONLY | O_CLOEXEC), i, interp = 0;
  if (fd < 0) return 0;
  if (pread(fd, &eh, sizeof eh, 0) != sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof ph) {
    close(fd);
    return 0;
  }
  for (i = 0; i < eh.e_phnum && !interp; i++)
    interp = pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof ph)) == sizeof ph &&
             ph.p_type == PT_INTERP;
  close(fd);
  return !interp;
}

enum { HUBS_MAX = 64 }; /* the shim's GREEN__SHIM_HUBS_MAX (shim.h) */

/* -j's or --hubs's value: a count from 1 to HUBS_MAX, or auto (the online CPUs, HUBS_MAX at
 * most); NULL if not. */
static const char *hubs_value(const char *v, char buf[16]) {
  char *end;
  long n;
  if (strcmp(v, "auto") == 0) {
    n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n > HUBS_MAX) n = HUBS_MAX;
  } else {
    n = strtol(v, &end, 10);
    if (!*v || *end) return NULL;
  }
  if (n < 1 || n > HUBS_MAX) return NULL;
  snprintf(buf, 16, "%ld", n);
  return buf;
}

int main(int argc, char **argv) {
  const char *threads = "green", *timeslice = NULL, *watchdog = NULL, *dump_signal = NULL;
  const char *check = NULL, *hubs = "1", *hubs_arg;
  char shim[PATH_MAX], path[PATH_MAX], log[PATH_MAX], hubs_buf[16];
  int i = 1, debug = 0, stats = 0;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(argv[i], "--version") == 0) {
      printf("greenrun %d.%d.%d\n", GREEN_VERSION_MAJOR, GREEN_VERSION_MINOR, GREEN_VERSION_PATCH);
      return 0;
    } else if (strcmp(argv[i], "--threads=green") == 0 ||
               strcmp(argv[i], "--threads=native") == 0) {
      threads = argv[i] + strlen("--threads=");
    } else if (strncmp(argv[i], "-j", 2) == 0 || strncmp(argv[i], "--hubs=", 7) == 0) {
      if (argv[i][1] == '-') hubs_arg = argv[i] + 7; /* --hubs=N */
      else if (argv[i][2]) hubs_arg = argv[i] + 2;   /* -jN */
      else hubs_arg = i + 1 < argc ? argv[++i] : ""; /* -j N */
      if (!(hubs = hubs_value(hubs_arg, hubs_buf))) {
        fprintf(stderr, "greenrun: -j/--hubs wants a count from 1 to %d or auto\n\n%s", HUBS_MAX,
                usage);
        return 2;
      }
    } else if (strcmp(argv[i], "--debug") == 0) {
      debug = 1;
    } else if (strcmp(argv[i], "--check") == 0) {
      check = "1";
    } else if (strncmp(argv[i], "--check=", 8) == 0 && argv[i][8]) {
      if (!(check = absolute(argv[i] + 8, log))) {
        fprintf(stderr, "greenrun: %s: path too long\n", argv[i]);
        return 2;
      }
    } else if (strncmp(argv[i], "--timeslice=", 12) == 0) {
      timeslice = argv[i] + 12;
    } else if (strncmp(argv[i], "--watchdog=", 11) == 0) {
      watchdog = argv[i] + 11;
    } else if (strncmp(argv[i], "--dump-signal=", 14) == 0) {
      dump_signal = argv[i] + 14;
    } else if (strcmp(argv[i], "--stats") == 0) {
      stats = 1;
    } else {
      fprintf(stderr, "greenrun: unknown option %s\n\n%s", argv[i], usage);
      return 2;
    }
  }
  if (i >= argc) {
    fputs(usage, stderr);
    return 2;
  }
  if (strcmp(hubs, "1") != 0 && strcmp(threads, "native") == 0) {
    fputs("greenrun: -j/--hubs is for green threads: with --threads=native every thread is an "
          "OS thread with its own hub already\n", stderr);
    return 2;
  }
  if (find_shim(shim) != 0) {
    fprintf(stderr, "greenrun: cannot find libgreen-preload.so (looked next to greenrun, in "
                    "%s from there, and in %s)\n", GREEN_PRELOAD_FROM_BINDIR, GREEN_PRELOAD_INSTALLED);
    return 127;
  }
  if (set_preload(shim) != 0 || setenv("GREEN_THREADS", threads, 1) != 0 ||
      setenv("GREEN_HUBS", hubs, 1) != 0 ||
      (debug && setenv("GREEN_DEBUG", "1", 1) != 0) ||
      (check && setenv("GREEN_CHECK", check, 1) != 0) ||
      (timeslice && setenv("GREEN_TIMESLICE_MS", timeslice, 1) != 0) ||
      (watchdog && setenv("GREEN_WATCHDOG_MS", watchdog, 1) != 0) ||
      (dump_signal && setenv("GREEN_DUMP_SIGNAL", dump_signal, 1) != 0) ||
      (stats && setenv("GREEN_STATS", "1", 1) != 0)) {
    perror("greenrun");
    return 127;
  }
  if (find_command(argv[i], path) == 0 && static_binary(path))
    fprintf(stderr, "greenrun: %s is statically linked: the shim cannot be loaded into it, so it "
                    "runs as it would without greenrun (its threads stay OS threads)\n", argv[i]);
  execvp(argv[i], argv + i);
  fprintf(stderr, "greenrun: %s: %s\n", argv[i], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}
