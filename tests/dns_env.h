/* SPDX-License-Identifier: MIT */
/*
 * What the resolver tests run against: a private /etc (a mount namespace with test files
 * bound over /etc/hosts and friends, so glibc and c-ares read the same ones), and dnsmasq
 * started on a free loopback port with its own hosts file, stopped by PID. Include after
 * test.h.
 */
#ifndef GREEN_TEST_DNS_ENV_H
#define GREEN_TEST_DNS_ENV_H

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* A world-readable scratch directory (dnsmasq may read it as another user), removed with
 * its files at exit. */
static char test_dir[64];

static void test_dir_remove(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", test_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", test_dir);
}

static const char *test_dir_get(void) {
  if (!test_dir[0]) {
    snprintf(test_dir, sizeof test_dir, "/tmp/green-dns-XXXXXX");
    ASSERT_PTR_NE(mkdtemp(test_dir), NULL);
    ASSERT_OK(chmod(test_dir, 0755));
    atexit(test_dir_remove);
  }
  return test_dir;
}

/* Writes `text` to <test dir>/<name> and returns the path (static storage, one per name). */
static const char *test_file(const char *name, const char *text) {
  static char paths[8][128];
  static int n;
  char *path = paths[n++ % 8];
  FILE *f;
  snprintf(path, 128, "%s/%s", test_dir_get(), name);
  ASSERT_PTR_NE(f = fopen(path, "w"), NULL);
  ASSERT_EQ(fputs(text, f) >= 0, 1);
  ASSERT_OK(fclose(f));
  ASSERT_OK(chmod(path, 0644));
  return path;
}

static void write_proc(const char *path, const char *text) {
  int fd = open(path, O_WRONLY);
  if (fd >= 0) {
    ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
  }
}

/* Enter a mount namespace of our own (as root, or through a user namespace); 0, or -1 when
 * this machine allows neither. */
static int private_mounts(void) {
  char map[64];
  unsigned uid = (unsigned)getuid(), gid = (unsigned)getgid();
  if (unshare(CLONE_NEWNS) < 0) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) return -1;
    write_proc("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1", uid);
    write_proc("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "0 %u 1", gid);
    write_proc("/proc/self/gid_map", map);
  }
  return mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

/* Bind a test file with `text` over /etc/<name> (in the private namespace). */
static void bind_etc(const char *name, const char *text) {
  char target[64];
  snprintf(target, sizeof target, "/etc/%s", name);
  if (access(target, F_OK) < 0) {
    int fd = open(target, O_CREAT | O_WRONLY, 0644); /* in our namespace's view only if we can */
    if (fd < 0) TEST_FAIL("/etc/%s is missing and cannot be created", name);
    close(fd);
  }
  ASSERT_OK(mount(test_file(name, text), target, NULL, MS_BIND, NULL));
}

/* ---- dnsmasq ------------------------------------------------------------------------------ */

typedef struct dnsmasq {
  pid_t pid;
  uint16_t port;
} dnsmasq_t;

/* A UDP port on 127.0.0.1 that was free a moment ago. */
static uint16_t free_udp_port(void) {
  struct sockaddr_in sin = test_loopback(0);
  socklen_t len = sizeof sin;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_OK(fd);
  ASSERT_OK(bind(fd, (struct sockaddr *)&sin, sizeof sin));
  ASSERT_OK(getsockname(fd, (struct sockaddr *)&sin, &len));
  close(fd);
  return ntohs(sin.sin_port);
}

/* Whether a DNS server answers on 127.0.0.1:port (any answer to a query for "."). */
static int dns_answers(uint16_t port) {
  static const unsigned char query[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1};
  struct sockaddr_in sin = test_loopback(port);
  struct timeval tv = {0, 100000};
  unsigned char buf[512];
  int fd = socket(AF_INET, SOCK_DGRAM, 0), ok;
  ASSERT_OK(fd);
  ASSERT_OK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
  sendto(fd, query, sizeof query, 0, (struct sockaddr *)&sin, sizeof sin);
  ok = recv(fd, buf, sizeof buf, 0) >= 12 && buf[0] == 0x12 && buf[1] == 0x34;
  close(fd);
  return ok;
}

static dnsmasq_t test_dnsmasq;

static void dnsmasq_stop(void) {
  if (test_dnsmasq.pid <= 0) return;
  kill(test_dnsmasq.pid, SIGTERM);
  waitpid(test_dnsmasq.pid, NULL, 0);
  test_dnsmasq.pid = 0;
}

/* The process the test knows dnsmasq by: it runs dnsmasq and stops it when told to
 * (SIGTERM) or when the test process dies (PR_SET_PDEATHSIG; dnsmasq's own would be
 * cleared when it drops privileges). */
static void dnsmasq_watchdog(char **argv, pid_t test_pid) {
  sigset_t set;
  pid_t pid;
  int sig, log = open(test_file("dnsmasq.log", ""), O_WRONLY | O_APPEND);
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, NULL);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != test_pid) _exit(1);
  if ((pid = fork()) == 0) {
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    dup2(log, 1);
    dup2(log, 2);
    execv("/usr/sbin/dnsmasq", argv);
    execvp("dnsmasq", argv);
    _exit(127);
  }
  sigwait(&set, &sig);
  if (pid > 0) kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  _exit(0);
}

/* Start dnsmasq on a free port of 127.0.0.1 answering from `hosts` (a hosts file's text)
 * plus the extra options (NULL-terminated), and wait until it answers. It is stopped by
 * dnsmasq_stop, at exit, or when the test process dies however it dies. Returns the port. */
static uint16_t dnsmasq_start(const char *hosts, const char *const *extra) {
  char *argv[32], port_opt[32], hosts_opt[160], user_opt[64];
  const char *hosts_path;
  if (access("/usr/sbin/dnsmasq", X_OK) != 0 && system("command -v dnsmasq >/dev/null") != 0)
    TEST_SKIP("dnsmasq is not installed");
  hosts_path = test_file("dnsmasq.hosts", hosts);
  struct passwd *pw = getpwuid(getuid());
  pid_t self = getpid();
  int argc = 0, tries;
  argv[argc++] = "dnsmasq";
  argv[argc++] = "--keep-in-foreground";
  argv[argc++] = "--conf-file=/dev/null";
  argv[argc++] = "--no-resolv";
  argv[argc++] = "--no-hosts";
  argv[argc++] = "--no-poll";
  argv[argc++] = "--bind-interfaces";
  argv[argc++] = "--listen-address=127.0.0.1";
  argv[argc++] = "--pid-file=";
  argv[argc++] = "--log-facility=-";
  argv[argc++] = port_opt;
  argv[argc++] = hosts_opt;
  snprintf(hosts_opt, sizeof hosts_opt, "--addn-hosts=%s", hosts_path);
  if (pw) { /* as root, stay root: the hosts file is ours */
    snprintf(user_opt, sizeof user_opt, "--user=%s", pw->pw_name);
    argv[argc++] = user_opt;
  }
  while (extra && *extra && argc < 31) argv[argc++] = (char *)*extra++;
  argv[argc] = NULL;
  atexit(dnsmasq_stop);
  for (tries = 0; tries < 5; tries++) {
    double end;
    test_dnsmasq.port = free_udp_port();
    snprintf(port_opt, sizeof port_opt, "--port=%u", test_dnsmasq.port);
    fflush(NULL);
    test_dnsmasq.pid = fork();
    ASSERT_OK(test_dnsmasq.pid);
    if (test_dnsmasq.pid == 0) dnsmasq_watchdog(argv, self);
    for (end = test_now() + 5; test_now() < end;) {
      int status;
      if (dns_answers(test_dnsmasq.port)) return test_dnsmasq.port;
      if (waitpid(test_dnsmasq.pid, &status, WNOHANG) == test_dnsmasq.pid) break; /* port taken? */
    }
    dnsmasq_stop();
  }
  TEST_FAIL("dnsmasq did not start (is it installed? scripts/test installs it); see %s/dnsmasq.log",
            test_dir_get());
}

/* Point this process's resolver at 127.0.0.1:port (before its first lookup). */
static void use_dns_server(uint16_t port) {
  char servers[32];
  snprintf(servers, sizeof servers, "127.0.0.1:%u", port);
  ASSERT_OK(setenv("GREEN_DNS_SERVERS", servers, 1));
}

#endif
