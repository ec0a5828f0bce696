/* SPDX-License-Identifier: MIT */
/*
 * greenrun --check (tests/programs/check.sh runs it natively and under greenrun --check).
 *   bypass  system calls made with the syscall instruction itself, as a static binary or a
 *           language runtime makes them: a read of a pipe another thread has written (in
 *           raw_read_pipe, twice from one site) and a 10 ms nanosleep on a second thread (in
 *           raw_nanosleep) must each be reported once; raw calls that cannot block must not:
 *           getpid, a read of a file, a read of a non-blocking pipe, a poll with a zero
 *           timeout, a futex wake, a wait4 with WNOHANG. Every call still gives its result.
 *   hooked  only calls the hooks see (syscall(SYS_read) too, which libc's syscall() routes
 *           to them), among them the ones the checker carries out on the trapped context:
 *           signal handlers and their return, masks, the alternate stack, fork, posix_spawn's
 *           clone onto a stack of its own; and the program's own SIGSYS handler, for a raise
 *           and for a seccomp filter's trap (whose call it answers). Nothing must be
 *           reported, and the results must be the same as natively.
 */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "prog.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1 /* SIGSYS's si_code for a seccomp trap */
#endif

extern char **environ;

#define RAW_INLINE static inline __attribute__((always_inline)) /* the caller is the site */

#if defined(__x86_64__)
RAW_INLINE long raw_syscall4(long nr, long a, long b, long c, long d) {
  long r;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return r;
}
#elif defined(__aarch64__)
RAW_INLINE long raw_syscall4(long nr, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = nr, x0 __asm__("x0") = a, x1 __asm__("x1") = b,
                x2 __asm__("x2") = c, x3 __asm__("x3") = d;
  __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}
#endif

/* ---- bypass --------------------------------------------------------------------------- */

static int pipefd[2];

static void *write_two(void *arg) {
  (void)arg;
  PROG_CHECK(write(pipefd[1], "ab", 2) == 2);
  return NULL;
}

__attribute__((noinline)) static long raw_read_pipe(int fd, char *c) {
  return raw_syscall4(SYS_read, fd, (long)c, 1, 0);
}

__attribute__((noinline)) static long raw_nanosleep(void) {
  struct timespec ts = {0, 10000000};
  return raw_syscall4(SYS_nanosleep, (long)&ts, 0, 0, 0);
}

static long slept;

static void *sleep_raw(void *arg) {
  (void)arg;
  slept = raw_nanosleep();
  return NULL;
}

/* Raw calls that cannot block: none of them may be reported. */
static void raw_harmless(void) {
  char buf[8];
  int p[2], word = 0;
  struct pollfd pfd;
  int fd = open("/proc/self/stat", O_RDONLY);
  printf("raw getpid matches: %s\n", raw_syscall4(SYS_getpid, 0, 0, 0, 0) == getpid() ? "yes" : "no");
  printf("raw read of a file: %s\n", raw_syscall4(SYS_read, fd, (long)buf, 1, 0) == 1 ? "1 byte" : "failed");
  close(fd);
  PROG_CHECK(pipe2(p, O_NONBLOCK) == 0);
  printf("raw read of a non-blocking pipe: %s\n",
         raw_syscall4(SYS_read, p[0], (long)buf, 1, 0) == -EAGAIN ? "EAGAIN" : "other");
  pfd.fd = p[0];
  pfd.events = POLLIN;
  printf("raw poll, zero timeout: %ld\n", raw_syscall4(SYS_poll, (long)&pfd, 1, 0, 0));
  printf("raw futex wake: %ld\n", raw_syscall4(SYS_futex, (long)&word, FUTEX_WAKE_PRIVATE, 1, 0));
  printf("raw wait4 WNOHANG: %s\n",
         raw_syscall4(SYS_wait4, -1, 0, WNOHANG, 0) == -ECHILD ? "ECHILD" : "other");
  close(p[0]);
  close(p[1]);
}

static void bypass(void) {
  pthread_t w, s;
  char a = 0, b = 0;
  int i;
  PROG_CHECK(pipe(pipefd) == 0);
  PROG_CHECK(pthread_create(&w, NULL, write_two, NULL) == 0);
  PROG_CHECK(pthread_join(w, NULL) == 0); /* the bytes are there: the raw reads never wait */
  PROG_CHECK(pthread_create(&s, NULL, sleep_raw, NULL) == 0);
  prog_report_threads();
  for (i = 0; i < 2; i++) PROG_CHECK(raw_read_pipe(pipefd[0], i ? &b : &a) == 1);
  printf("raw reads: %c%c\n", a, b);
  PROG_CHECK(pthread_join(s, NULL) == 0);
  printf("raw nanosleep: %ld\n", slept);
  raw_harmless();
}

/* ---- hooked --------------------------------------------------------------------------- */

static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
  (void)sig;
  handled++;
}

static void *echo_back(void *arg) {
  char buf[8];
  (void)arg;
  long n = syscall(SYS_read, pipefd[0], buf, sizeof buf);
  PROG_CHECK(n > 0 && write(pipefd[1], buf, (size_t)n) == n);
  return NULL;
}

static void hooked_io(void) {
  pthread_t t;
  char buf[8] = {0};
  struct pollfd pfd;
  PROG_CHECK(pipe(pipefd) == 0);
  PROG_CHECK(pthread_create(&t, NULL, echo_back, NULL) == 0);
  prog_report_threads();
  usleep(20000);
  PROG_CHECK(write(pipefd[1], "ping", 4) == 4);
  PROG_CHECK(pthread_join(t, NULL) == 0);
  pfd.fd = pipefd[0];
  pfd.events = POLLIN;
  printf("poll: %d\n", poll(&pfd, 1, 1000));
  printf("read back: %zd %s\n", read(pipefd[0], buf, sizeof buf - 1), buf);
  close(pipefd[0]);
  close(pipefd[1]);
}

/* A blocked signal waits; unblocking it runs the handler before sigprocmask returns. */
static void hooked_signals(void) {
  struct sigaction sa;
  sigset_t set, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigfillset(&sa.sa_mask); /* SIGSYS among them */
  PROG_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  raise(SIGUSR1);
  printf("handled after raise: %d\n", (int)handled);
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  PROG_CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
  raise(SIGUSR1);
  printf("handled while blocked: %d\n", (int)handled);
  PROG_CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
  printf("handled once unblocked: %d\n", (int)handled);
  PROG_CHECK(sigprocmask(SIG_BLOCK, NULL, &old) == 0);
  printf("SIGUSR1 blocked now: %s\n", sigismember(&old, SIGUSR1) ? "yes" : "no");
}

static void hooked_altstack(void) {
  static char stack[1 << 16];
  stack_t ss = {.ss_sp = stack, .ss_size = sizeof stack, .ss_flags = 0}, now;
  PROG_CHECK(sigaltstack(&ss, NULL) == 0);
  PROG_CHECK(sigaltstack(NULL, &now) == 0);
  printf("alternate stack kept: %s\n", now.ss_sp == stack && now.ss_size == sizeof stack ? "yes" : "no");
  ss.ss_flags = SS_DISABLE;
  PROG_CHECK(sigaltstack(&ss, NULL) == 0);
}

static void hooked_processes(void) {
  int p[2], st;
  char c = 0;
  pid_t pid;
  char *argv[] = {"sh", "-c", "exit 7", NULL};
  PROG_CHECK(pipe(p) == 0);
  PROG_CHECK((pid = fork()) >= 0);
  if (pid == 0) {
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    _exit(write(p[1], "k", 1) == 1 ? 3 : 1);
  }
  PROG_CHECK(read(p[0], &c, 1) == 1 && waitpid(pid, &st, 0) == pid);
  printf("fork: child wrote %c, exited %d\n", c, WEXITSTATUS(st));
  PROG_CHECK(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) == 0);
  PROG_CHECK(waitpid(pid, &st, 0) == pid);
  printf("posix_spawn: exited %d\n", WEXITSTATUS(st));
  close(p[0]);
  close(p[1]);
}

static volatile sig_atomic_t sigsys_raised, sigsys_trapped;

static void on_sigsys(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  if (si->si_code != SYS_SECCOMP) {
    sigsys_raised++;
    return;
  }
  sigsys_trapped++;
#if defined(__x86_64__)
  ((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RAX] = 42; /* the trapped call's result */
#elif defined(__aarch64__)
  ((ucontext_t *)ucv)->uc_mcontext.regs[0] = 42;
#endif
}

/* In a child of its own, which the filter stays with (and which leaves by _exit: under
 * AddressSanitizer, LeakSanitizer's tracer would trap too): it traps getppid, which the
 * handler answers with 42. */
static void sigsys_child(void) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof code / sizeof code[0], code};
  struct sigaction sa, back;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  PROG_CHECK(sigaction(SIGSYS, &sa, NULL) == 0 && sigaction(SIGSYS, NULL, &back) == 0);
  printf("SIGSYS handler reported back: %s\n", back.sa_sigaction == on_sigsys ? "yes" : "no");
  raise(SIGSYS);
  PROG_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
  PROG_CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0);
  printf("getppid under the filter: %ld\n", (long)getppid());
  printf("SIGSYS raised %d, trapped %d\n", (int)sigsys_raised, (int)sigsys_trapped);
  fflush(stdout);
  _exit(0);
}

static void hooked_sigsys(void) {
  pid_t pid;
  int st;
  PROG_CHECK((pid = fork()) >= 0);
  if (pid == 0) sigsys_child();
  PROG_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void hooked(void) {
  hooked_io();
  hooked_signals();
  hooked_altstack();
  hooked_processes();
  hooked_sigsys();
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(mode, "bypass") == 0) bypass();
  else if (strcmp(mode, "hooked") == 0) hooked();
  else prog_die("usage: check_bypass bypass|hooked");
  return 0;
}
