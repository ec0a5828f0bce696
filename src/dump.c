/* SPDX-License-Identifier: MIT */
/*
 * Dumps (dump.h), like Go's goroutine dump. First every hub, then every greenlet: what it waits
 * on, for how long, and its backtrace.
 *
 * A hub is only ever read by its own thread, at a time when that thread runs none of its
 * greenlets. The dump of the caller's own hub is written at once. Every other hub's thread is
 * sent the hub's timer signal with a request; tick.c hands it to green__dump_answer. That thread
 * writes its own section from the handler and says it is done. A hub may not answer within a
 * second: its thread blocks the signal, or is stopped. Such a hub is listed without its
 * greenlets. Dumps are written one at a time.
 */
#include "dump.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"
#include "report.h"
#include "sync.h"
#include "tick.h"

#define ANSWER_WAIT 1.0 /* seconds to wait for another hub's section */

static const char *const wait_names[GREEN_WAIT_KINDS] = {
    [GREEN_WAIT_NONE] = "nothing",       [GREEN_WAIT_FD] = "fd",
    [GREEN_WAIT_SLEEP] = "sleep",        [GREEN_WAIT_JOIN] = "join",
    [GREEN_WAIT_GROUP] = "group",        [GREEN_WAIT_ITERATE] = "iwait",
    [GREEN_WAIT_MUTEX] = "mutex",        [GREEN_WAIT_COND] = "cond",
    [GREEN_WAIT_SEM] = "sem",            [GREEN_WAIT_EVENT] = "event",
    [GREEN_WAIT_RWLOCK] = "rwlock",      [GREEN_WAIT_QUEUE] = "queue",
    [GREEN_WAIT_CHAN] = "chan",          [GREEN_WAIT_SELECT] = "select",
    [GREEN_WAIT_FUTURE] = "future",      [GREEN_WAIT_DNS] = "dns",
    [GREEN_WAIT_THREADPOOL] = "threadpool", [GREEN_WAIT_GENERATOR] = "generator",
    [GREEN_WAIT_FUTEX] = "futex",        [GREEN_WAIT_CALL] = "call",
};

const char *green_wait_name(int kind) {
  if (kind < 0 || kind >= GREEN_WAIT_KINDS) {
    errno = EINVAL;
    return NULL;
  }
  return wait_names[kind];
}

/* The dump in progress: where it goes, and the hub asked for its section. */
static struct {
  int fd;
  uint32_t answered;
} request;
static pthread_mutex_t dump_mutex = PTHREAD_MUTEX_INITIALIZER;
const char green__dump_tag = 0; /* the request signal's sigev value */

/* ---- one greenlet --------------------------------------------------------------------- */

static const char *direction(int events) {
  if ((events & (GREEN_READ | GREEN_WRITE)) == (GREEN_READ | GREEN_WRITE))
    return "reading and writing";
  return events & GREEN_WRITE ? "writing" : "reading";
}

static void put_owner(green__report_t *r, struct green__hub *h, const green_mutex_t *m) {
  uintptr_t w = (uintptr_t)__atomic_load_n(&m->owner, __ATOMIC_RELAXED);
  uintptr_t flags = GREEN__MUTEX_FOREIGN | GREEN__MUTEX_SLEEPERS | GREEN__MUTEX_QUEUED;
  green_t *owner = green__greenlet_at(h, (void *)(w & ~flags));
  if (w & GREEN__MUTEX_FOREIGN) green__report_put(r, ", held by an OS thread outside the hub");
  else if (owner) {
    green__report_put(r, ", held by ");
    green__report_name(r, owner);
  }
}

static void put_wait(green__report_t *r, struct green__hub *h, green_t *g) {
  const void *on = g->wait_on;
  green_t *target;
  switch (g->wait_kind) {
  case GREEN_WAIT_FD:
    green__report_put(r, "fd %d (%s) for %s", (int)(intptr_t)on, green__report_fd_kind((int)(intptr_t)on),
                      direction(g->wait_events));
    break;
  case GREEN_WAIT_SLEEP:
    green__report_put(r, "sleeping in %s", on ? (const char *)on : "green_sleep");
    break;
  case GREEN_WAIT_CALL:
    green__report_put(r, "%s()", (const char *)on);
    break;
  case GREEN_WAIT_DNS:
    if (on) green__report_put(r, "DNS lookup of \"%.100s\"", (const char *)on);
    else green__report_put(r, "DNS reverse lookup");
    break;
  case GREEN_WAIT_JOIN:
  case GREEN_WAIT_GENERATOR:
    green__report_put(r, "%s of ", wait_names[g->wait_kind]);
    if ((target = green__greenlet_at(h, on))) green__report_name(r, target);
    else green__report_put(r, "%zu greenlets", g->joins_pending);
    break;
  case GREEN_WAIT_MUTEX:
    green__report_put(r, "mutex %p", on);
    put_owner(r, h, on);
    break;
  default:
    green__report_put(r, "%s %p", g->wait_kind < GREEN_WAIT_KINDS ? wait_names[g->wait_kind] : "?",
                      on);
  }
}

static const char *state_name(int state) {
  static const char *const names[] = {"not started", "ready", "running", "blocked", "ended"};
  return state >= 0 && state <= GREEN_DEAD ? names[state] : "?";
}

static void put_greenlet_line(green__report_t *r, struct green__hub *h, green_t *g, double now) {
  green__report_put(r, "\ngreenlet %llu", (unsigned long long)g->id);
  if (*g->name) green__report_put(r, " \"%s\"", g->name);
  if (green__report_ops.describe) {
    green__report_put(r, " (");
    green__report_name(r, g);
    green__report_put(r, ")");
  } else if (g == h->main) {
    green__report_put(r, " (main)");
  }
  if (g->state != GREEN_BLOCKED) {
    green__report_put(r, " [%s", state_name(g->state));
  } else {
    green__report_put(r, g->wait_kind == GREEN_WAIT_SLEEP ? " [" : " [waiting on ");
    put_wait(r, h, g);
    if (now >= g->wait_since) green__report_put(r, ", for %.3f s", now - g->wait_since);
    if (ev_is_active(&g->timer))
      green__report_put(r, ", %.3f s %s", ev_timer_remaining(h->loop, &g->timer),
                        g->timer_is_deadline     ? "to its deadline"
                        : g->wait_kind == GREEN_WAIT_SLEEP ? "left"
                                                           : "to its timeout");
  }
  if (g->stack) green__report_put(r, ", %zu KiB stack", g->stack_size / 1024);
  green__report_put(r, "]:\n");
}

/* ---- one hub -------------------------------------------------------------------------- */

static void put_hub_line(green__report_t *r, struct green__hub *h) {
  green__report_put(r, "\nhub of thread %d: %zu greenlets and main, %zu ready, %zu blocked; "
                       "%llu switches, %llu polls\n",
                    (int)h->tid, h->ngreenlets, h->nready - !green__list_empty(&h->hub.run_link),
                    h->nblocked, h->switches, h->polls);
}

/* The running greenlet's backtrace: from the context a signal interrupted, or the caller's. */
static void put_running(green__report_t *r, ucontext_t *uc) {
  if (uc) green__report_backtrace_signal(r, uc, "    ");
  else green__report_backtrace_here(r, "    ", "green_dump");
}

static void put_one(green__report_t *r, struct green__hub *h, green_t *g, ucontext_t *uc,
                    double now) {
  put_greenlet_line(r, h, g, now);
  if (g == h->current) put_running(r, uc);
  else if (g->state != GREEN_NEW && g->state != GREEN_DEAD) green__report_backtrace_parked(r, g, "    ");
}

struct section {
  green__report_t *r;
  struct green__hub *h;
  ucontext_t *uc;
  double now;
};

static void put_each(green_t *g, void *arg) {
  struct section *s = arg;
  put_one(s->r, s->h, g, s->uc, s->now);
}

/* h's section, written by h's own thread. uc is what the dump's signal interrupted (NULL:
 * h->current asked for the dump itself). with_hub: the hub greenlet's backtrace too, when it
 * is the one running. */
static void put_hub(green__report_t *r, struct green__hub *h, ucontext_t *uc, int with_hub) {
  struct section s = {r, h, uc, green__coarse_now()};
  put_hub_line(r, h);
  green__greenlet_each(h, put_each, &s);
  if (with_hub && h->current == &h->hub) {
    green__report_put(r, "\nthe hub [running its loop]:\n");
    put_running(r, uc);
  }
  green__report_flush(r);
}

/* ---- the whole dump ------------------------------------------------------------------- */

static int futex_wait(uint32_t *word, double seconds) {
  struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
  return (int)syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
}

/* Ask h's thread for its section; whether it answered in time. */
static int ask(struct green__hub *h) {
  siginfo_t si;
  double until = green_now() + ANSWER_WAIT, left;
  memset(&si, 0, sizeof si);
  si.si_signo = GREEN__TICK_SIGNAL;
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_ptr = (void *)&green__dump_tag;
  __atomic_store_n(&request.answered, 0, __ATOMIC_RELEASE);
  if (syscall(SYS_rt_tgsigqueueinfo, getpid(), h->tid, GREEN__TICK_SIGNAL, &si) != 0) return 0;
  while (!__atomic_load_n(&request.answered, __ATOMIC_ACQUIRE) && (left = until - green_now()) > 0)
    futex_wait(&request.answered, left);
  return __atomic_load_n(&request.answered, __ATOMIC_ACQUIRE);
}

void green__dump_answer(struct green__hub *h, ucontext_t *uc) {
  green__report_t r;
  green__report_init(&r, request.fd);
  put_hub(&r, h, uc, 1);
  __atomic_store_n(&request.answered, 1, __ATOMIC_RELEASE);
  syscall(SYS_futex, &request.answered, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void put_others(green__report_t *r, struct green__hub *self) {
  green__list_t *n;
  int can_ask = green__tick_claim_signal();
  for (n = green__hubs.next; n != &green__hubs; n = n->next) {
    struct green__hub *h = green__container_of(n, struct green__hub, all_link);
    if (h == self) continue;
    if (can_ask && ask(h)) continue;
    put_hub_line(r, h);
    green__report_put(r, "(its greenlets are not listed: %s)\n",
                      can_ask ? "its thread did not answer within a second"
                              : "the program handles SIGURG itself");
    green__report_flush(r);
  }
}

/* The dump; uc as put_hub's. `listed` is false when the list of hubs could not be locked. */
static void dump(int fd, ucontext_t *uc, int listed) {
  green__report_t r;
  struct green__hub *self = green__hub_peek();
  green__report_init(&r, fd);
  request.fd = fd;
  green__report_put(&r, "%s: dump of process %d, thread %d\n", green__report_prefix(),
                    (int)getpid(), (int)syscall(SYS_gettid));
  green__report_flush(&r);
  if (self) put_hub(&r, self, uc, 1);
  if (listed) put_others(&r, self);
  green__report_put(&r, "\n%s: end of dump\n", green__report_prefix());
  green__report_flush(&r);
}

int green_dump(int fd) {
  if (fcntl(fd, F_GETFD) < 0) return -1; /* EBADF */
  green__unwind_load();
  pthread_mutex_lock(&dump_mutex);
  green__hubs_lock();
  green__report_enter();
  dump(fd, NULL, 1);
  green__report_leave();
  green__hubs_unlock();
  pthread_mutex_unlock(&dump_mutex);
  return 0;
}

/* ---- deadlocks ------------------------------------------------------------------------ */

int green__dump_deadlocks = -1; /* -1: GREEN_DEBUG decides, read at the first deadlock */

static int wants_deadlock_reports(void) {
  const char *debug;
  if (green__dump_deadlocks < 0)
    green__dump_deadlocks = (debug = getenv("GREEN_DEBUG")) && *debug && strcmp(debug, "0") != 0;
  return green__dump_deadlocks;
}

void green__dump_deadlock(struct green__hub *h) {
  green__report_t r;
  if (!wants_deadlock_reports() || h->deadlock_dumped) return;
  h->deadlock_dumped = 1;
  green__unwind_load();
  green__report_enter();
  green__report_init(&r, 2);
  green__report_put(&r, "%s: deadlock: every greenlet of thread %d is parked and nothing can "
                        "wake one (all goroutines are asleep)\n",
                    green__report_prefix(), (int)h->tid);
  put_hub(&r, h, NULL, 0);
  green__report_put(&r, "\n%s: end of deadlock report\n", green__report_prefix());
  green__report_flush(&r);
  green__report_leave();
}

/* Across hubs (deadlock.c): the report's head, each hub's section, in turn, and its end. */

int green__dump_hubs_deadlock_begin(size_t nhubs) {
  static int reported;
  green__report_t r;
  if (!wants_deadlock_reports() || __atomic_exchange_n(&reported, 1, __ATOMIC_RELAXED)) return 0;
  green__unwind_load();
  green__report_enter();
  green__report_init(&r, 2);
  green__report_put(&r, "%s: deadlock: every greenlet of the %zu hubs is parked, no message is on "
                        "its way between them, and nothing can wake one (all goroutines are "
                        "asleep)\n",
                    green__report_prefix(), nhubs);
  green__report_flush(&r);
  green__report_leave();
  return 1;
}

void green__dump_hubs_deadlock_section(struct green__hub *h) {
  green__report_t r;
  green__report_enter();
  green__report_init(&r, 2);
  put_hub(&r, h, NULL, 0);
  green__report_leave();
}

void green__dump_hubs_deadlock_end(void) {
  green__report_t r;
  green__report_enter();
  green__report_init(&r, 2);
  green__report_put(&r, "\n%s: end of deadlock report\n", green__report_prefix());
  green__report_flush(&r);
  green__report_leave();
}

/* ---- the dump signal ------------------------------------------------------------------ */

int green__dump_signal;

static void on_dump_signal(int sig, siginfo_t *si, void *uc) {
  int saved = errno, listed;
  (void)sig, (void)si;
  green__report_enter();
  if (pthread_mutex_trylock(&dump_mutex) == 0) { /* else a dump is being written */
    listed = green__hubs_trylock();
    dump(2, uc, listed);
    if (listed) green__hubs_unlock();
    pthread_mutex_unlock(&dump_mutex);
  }
  green__report_leave();
  errno = saved;
}

/* A signal's number from its name ("SIGUSR2", "USR2") or number; 0 when unknown. */
static int signal_number(const char *s) {
  static const struct {
    const char *name;
    int sig;
  } names[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"QUIT", SIGQUIT}, {"HUP", SIGHUP},
               {"INT", SIGINT},   {"TERM", SIGTERM}, {"WINCH", SIGWINCH}, {"PWR", SIGPWR},
               {NULL, 0}};
  char *end;
  long n = strtol(s, &end, 10);
  size_t i;
  if (*s && !*end) return n > 0 && n < NSIG && n != SIGKILL && n != SIGSTOP ? (int)n : 0;
  if (strncmp(s, "SIG", 3) == 0) s += 3;
  for (i = 0; names[i].name; i++)
    if (strcmp(s, names[i].name) == 0) return names[i].sig;
  if (strncmp(s, "RTMIN+", 6) == 0 && (n = strtol(s + 6, &end, 10)) >= 0 && !*end &&
      SIGRTMIN + n <= SIGRTMAX)
    return SIGRTMIN + (int)n;
  return 0;
}

/* Install fn as the handler of the signal the environment variable `var` names. Returns the
 * signal's number, or 0 when `var` is unset or names no signal a report can use. */
static int install_from_env(const char *var, void (*fn)(int, siginfo_t *, void *)) {
  struct sigaction sa;
  const char *s;
  int sig;
  if (!(s = getenv(var)) || !*s) return 0;
  if (!(sig = signal_number(s)) || sig == GREEN__TICK_SIGNAL || sig == green__dump_signal) {
    green__report_t r;
    green__report_init(&r, 2);
    green__report_put(&r, "%s: %s=%s is not a signal a report can use\n", green__report_prefix(),
                      var, s);
    green__report_flush(&r);
    return 0;
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL) == 0 ? sig : 0;
}

int green__stats_signal;

/* The counters alone: unlike a dump, no backtraces, so it costs the same with 10 greenlets
 * or 10,000. Written by the hub's thread for its own hub (nothing when it has none). */
static void on_stats_signal(int sig, siginfo_t *si, void *uc) {
  int saved = errno;
  (void)sig, (void)si, (void)uc;
  green__report_enter();
  green__dump_stats(2);
  green__report_leave();
  errno = saved;
}

void green__dump_configure_from_env(void) {
  static int done;
  if (done) return;
  done = 1;
  if (getenv("GREEN_DUMP_SIGNAL")) green__unwind_load();
  green__dump_signal = install_from_env("GREEN_DUMP_SIGNAL", on_dump_signal);
  green__stats_signal = install_from_env("GREEN_STATS_SIGNAL", on_stats_signal);
}

/* ---- counters ------------------------------------------------------------------------- */

static void put_bytes(green__report_t *r, size_t n) {
  if (n >= 10u << 20) green__report_put(r, "%.1f MiB", (double)n / (1 << 20));
  else green__report_put(r, "%zu KiB", n >> 10);
}

void green__dump_stats(int fd) {
  green_stats_t st;
  green__report_t r;
  const char *p = green__report_prefix();
  int i, any = 0;
  if (!green__hub_peek() || green_stats(&st) != 0) return;
  green__report_init(&r, fd);
  green__report_put(&r, "%s: stats: greenlets %zu alive, %zu at most, %llu spawned\n", p,
                    st.greenlets, st.greenlets_peak, st.spawns);
  green__report_put(&r, "%s: stats: %llu switches, %llu preemptions, %llu polls, at most "
                        "%.3f s away from the loop\n",
                    p, st.switches, st.preemptions, st.polls, st.longest_away);
  green__report_put(&r, "%s: stats: parks:", p);
  for (i = GREEN_WAIT_NONE + 1; i < GREEN_WAIT_KINDS; i++)
    if (st.parks[i]) {
      green__report_put(&r, "%s %s %llu", any++ ? "," : "", wait_names[i], st.parks[i]);
    }
  green__report_put(&r, "%s\n", any ? "" : " none");
  green__report_put(&r, "%s: stats: stacks %zu in use, %zu pooled, %zu guarded, %zu unguarded; ",
                    p, st.stacks_in_use, st.stacks_pooled, st.stacks_guarded, st.stacks_unguarded);
  put_bytes(&r, st.stack_bytes_reserved);
  green__report_put(&r, " reserved, ");
  put_bytes(&r, st.stack_bytes_committed);
  green__report_put(&r, " committed\n");
  green__report_put(&r, "%s: stats: %llu hibernations, %llu restores, %zu stacks hibernated in ",
                    p, st.hibernations, st.restores, st.stacks_hibernated);
  put_bytes(&r, st.hibernated_bytes);
  green__report_put(&r, "\n");
  green__report_flush(&r);
}
