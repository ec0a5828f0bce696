/* SPDX-License-Identifier: MIT */
/*
 * fork, vfork and the wait family.
 *
 * fork: the child has only the thread that forked, so it gets a fresh hub (see
 * green__hub_fork_child). The parent's hub, its greenlets and its epoll instance are left
 * alone, never run or freed. The forking green thread becomes the main greenlet of the new
 * hub and keeps its pthread_t. This runs as a pthread_atfork child handler, registered first.
 * So it also covers forks libc makes itself, and it comes before the program's own handlers.
 * vfork is fork here: a vfork child shares the parent's memory. The shim's calls in it would
 * change the parent's hub.
 *
 * waitpid and friends without WNOHANG ask with WNOHANG and park until the next SIGCHLD
 * (signal.c) between asks.
 */
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "signal.h"
#include "stdio_out.h"
#include "syscall.h"
#include "threads.h"

static void after_fork_child(void) {
  green__shim_tls_t *t = &green__shim_tls;
  green__shim_thread_t *self = t->hub ? t->hub->current->ext : NULL;
  t->busy = 1; /* the parent's loop closes its fds: those calls must not touch its hub */
  green__hub_fork_child();
  t->hub = NULL;
  t->busy = 0;
  green__shim_signal_after_fork();
  green__shim_stdio_after_fork();
  green__shim_threadvars_after_fork(self);
  green__shim_threads_after_fork(self);
  green__shim_futex_after_fork();
  green__shim_sync_after_fork();
  green__shim_small_after_fork();
}

static void before_fork(void) { green__shim_signal_before_fork(); }

static void after_fork_parent(void) { green__shim_signal_after_fork_parent(); }

void green__shim_proc_init(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

GREEN__SHIM_EXPORT pid_t fork(void) {
  green__real_ready();
  return green__real.fork();
}

GREEN__SHIM_EXPORT pid_t vfork(void) {
  green__real_ready();
  return green__real.fork();
}

/* One wait call as the program made it; ask() makes it with WNOHANG. Returns the pid, 0 while
 * no child has changed state, or -1 + errno. */
typedef struct wait_call {
  pid_t pid;
  int *st;
  int opt;
  struct rusage *ru;
  idtype_t type; /* waitid */
  id_t id;
  siginfo_t *info;
} wait_call_t;

static pid_t ask_wait4(const wait_call_t *c) {
  return green__real.wait4(c->pid, c->st, c->opt | WNOHANG, c->ru);
}

static pid_t ask_waitid(const wait_call_t *c) {
  c->info->si_pid = 0; /* waitid with WNOHANG says "nothing yet" with si_pid 0 */
  if (green__real.waitid(c->type, c->id, c->info, c->opt | WNOHANG) < 0) return -1;
  return c->info->si_pid;
}

/* The blocking wait: ask, park until the next SIGCHLD, ask again. A signal that interrupts
 * the park ends the wait with EINTR, unless a child changed state meanwhile. The kernel too
 * reports the child first. */
static pid_t wait_green(struct green__hub *h, pid_t (*ask)(const wait_call_t *),
                        const wait_call_t *c) {
  int saved = errno;
  for (;;) {
    unsigned gen = green__shim_chld_gen();
    pid_t got = ask(c);
    int r;
    if (got != 0) return (pid_t)green__shim_done(got, saved);
    if ((r = green__shim_chld_park(h, gen)) < 0) {
      if ((got = ask(c)) != 0) return (pid_t)green__shim_done(got, saved);
      return green__fail(r);
    }
  }
}

GREEN__SHIM_EXPORT pid_t wait4(pid_t pid, int *st, int opt, struct rusage *ru) {
  struct green__hub *h;
  wait_call_t c = {.pid = pid, .st = st, .opt = opt, .ru = ru};
  green__real_ready();
  if ((opt & WNOHANG) || !(h = green__shim_hub())) return green__real.wait4(pid, st, opt, ru);
  return wait_green(h, ask_wait4, &c);
}

GREEN__SHIM_EXPORT pid_t waitpid(pid_t pid, int *st, int opt) { return wait4(pid, st, opt, NULL); }

GREEN__SHIM_EXPORT pid_t wait(int *st) { return wait4(-1, st, 0, NULL); }

GREEN__SHIM_EXPORT pid_t wait3(int *st, int opt, struct rusage *ru) { return wait4(-1, st, opt, ru); }

GREEN__SHIM_EXPORT int waitid(idtype_t type, id_t id, siginfo_t *info, int opt) {
  struct green__hub *h;
  wait_call_t c = {.type = type, .id = id, .info = info, .opt = opt};
  green__real_ready();
  if ((opt & WNOHANG) || !info || !(h = green__shim_hub()))
    return green__real.waitid(type, id, info, opt);
  return wait_green(h, ask_waitid, &c) < 0 ? -1 : 0;
}

/* The raw system call's waitid: a fifth argument, the child's rusage. */
static pid_t ask_waitid_rusage(const wait_call_t *c) {
  c->info->si_pid = 0;
  if (green__real.syscall(SYS_waitid, (long)c->type, (long)c->id, (long)c->info,
                          (long)(c->opt | WNOHANG), (long)c->ru) < 0)
    return -1;
  return c->info->si_pid;
}

long green__shim_waitid_rusage(idtype_t type, id_t id, siginfo_t *info, int opt,
                               struct rusage *ru) {
  struct green__hub *h;
  wait_call_t c = {.type = type, .id = id, .info = info, .opt = opt, .ru = ru};
  if ((opt & WNOHANG) || !info || !(h = green__shim_hub()))
    return green__real.syscall(SYS_waitid, (long)type, (long)id, (long)info, (long)opt, (long)ru);
  return wait_green(h, ask_waitid_rusage, &c) < 0 ? -1 : 0;
}

/* For syscall() (syscall.c). */
GREEN__SHIM_HOOK_ALIAS(wait4);
GREEN__SHIM_HOOK_ALIAS(waitid);
