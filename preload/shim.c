/* SPDX-License-Identifier: MIT */
/*
 * The shim's life: configuration from the environment, the phases around main(), each
 * managed thread's hub, the gate, the park and the debug log.
 *
 * Phases. Before main() starts, calls pass straight through. Library constructors run with
 * libc's behaviour, and nothing can deadlock at start-up. __libc_start_main is hooked to
 * learn when main() starts. Once main() returns, or exit() is called, the phase is EXITING.
 * I/O, time and waiting calls then pass through again, so atexit handlers and destructors
 * never park. Green threads still alive then simply end with the process, as OS threads
 * would.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/dump.h"
#include "../src/ownfd.h"
#include "../src/report.h"
#include "../src/tick.h"
#include "../src/wait.h"
#include "check.h"
#include "fdtab.h"
#include "signal.h"
#include "sigmask.h"
#include "threads.h"

green__shim_config_t green__shim_config;
int green__shim_phase;
__thread green__shim_tls_t green__shim_tls __attribute__((tls_model("initial-exec")));

/* The value of environment variable `name`. getenv, once libc has set up environ. Before
 * that, it reads /proc/self/environ: a hook may be called from the program's preinit
 * functions, as AddressSanitizer's are. `buf` holds the value in the second case. */
const char *green__shim_env(const char *name, char *buf, size_t len) {
  size_t nlen = strlen(name), have = 0;
  ssize_t n;
  char *p;
  int fd;
  if (environ) return getenv(name);
  if ((fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/environ", O_RDONLY | O_CLOEXEC)) < 0)
    return NULL;
  while (have < len - 1 && (n = syscall(SYS_read, fd, buf + have, len - 1 - have)) > 0) have += (size_t)n;
  syscall(SYS_close, fd);
  buf[have] = '\0';
  for (p = buf; p < buf + have; p += strlen(p) + 1)
    if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') return p + nlen + 1;
  return NULL;
}

/* Own fds a hub may hold (its epoll fd and eventfd, a resolver's two sockets, a SIGCHLD
 * eventfd), and those of the process (libunwind's pipe, a signalfd). */
enum { OWNFD_PER_HUB = 4, OWNFD_SHARED = 4, HUBS_MAX = 1024 };

/* GREEN_HUBS: a count, or "auto" for the online CPUs. Anything else (unset, 0, junk) is 1.
 * Read by hand: this may run inside AddressSanitizer's start-up, whose strtol would abort. */
static unsigned hubs_of(const char *s) {
  long n = 0;
  if (!s || !*s) return 1;
  if (strcmp(s, "auto") == 0) {
    n = sysconf(_SC_NPROCESSORS_ONLN);
  } else {
    for (; *s >= '0' && *s <= '9'; s++)
      if (n <= HUBS_MAX) n = n * 10 + (*s - '0');
    if (*s) return 1;
  }
  return n < 1 ? 1 : n > HUBS_MAX ? HUBS_MAX : (unsigned)n;
}

/* GREEN_HUBS: green mode runs that many hubs, GREEN__SHIM_HUBS_MAX at most (greenrun checks;
 * a bare LD_PRELOAD may ask more). The own-fd range is reserved for them from the first fd
 * on, since fds never move once made. */
static void configure_hubs(const char *s) {
  static char buf[16384];
  const char *place;
  green__shim_config.hubs_asked = hubs_of(s);
  green__shim_config.hubs = 1;
  if (green__shim_config.native) return; /* a hub per thread already */
  green__shim_config.hubs = green__shim_config.hubs_asked < GREEN__SHIM_HUBS_MAX
                                ? green__shim_config.hubs_asked
                                : GREEN__SHIM_HUBS_MAX;
  place = green__shim_env("GREEN_PLACEMENT", buf, sizeof buf);
  green__shim_config.placement = place && strcmp(place, "rr") == 0 ? GREEN__PLACE_RR
                                                                    : GREEN__PLACE_LEAST;
  if (green__shim_config.hubs > 1)
    green__ownfd_reserve(OWNFD_PER_HUB * green__shim_config.hubs + OWNFD_SHARED);
}

/* Says once, as the shim starts in this process, that fewer hubs run than were asked for. */
static void say_hub_cap(void) {
  char line[256];
  int n;
  if (green__shim_config.native || green__shim_config.hubs_asked <= green__shim_config.hubs) return;
  n = snprintf(line, sizeof line, "greenrun: %s[%d]: GREEN_HUBS=%u: running %u hubs, the most\n",
               program_invocation_short_name, (int)getpid(), green__shim_config.hubs_asked,
               green__shim_config.hubs);
  if (n > 0) green__real.write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void green__shim_configure(void) {
  static char buf[16384];
  const char *s = green__shim_env("GREEN_THREADS", buf, sizeof buf);
  green__shim_config.native = s && strcmp(s, "native") == 0;
  configure_hubs(green__shim_env("GREEN_HUBS", buf, sizeof buf));
  s = green__shim_env("GREEN_DEBUG", buf, sizeof buf);
  green__shim_config.debug = s && *s && strcmp(s, "0") != 0;
  s = green__shim_env("GREEN_CHECK", buf, sizeof buf);
  green__shim_config.check = s && *s && strcmp(s, "0") != 0;
  if (s && *s == '/')
    snprintf(green__shim_config.check_log, sizeof green__shim_config.check_log, "%s", s);
  /* The main thread is managed from the first hook call on. That call may come before
   * shim_init (an allocator's start-up). A mutex it locks then has the owner token it has
   * later. */
  if (syscall(SYS_gettid) == getpid()) green__shim_tls.managed = 1;
}

/* The core destroys a managed thread's hub as the thread exits. From here on the thread's
 * calls pass straight through. This is added to the hub's teardowns when the shim attaches
 * to it. So it runs after those of modules set up later: c-ares closes its sockets as the
 * runtime's. It runs before the hub itself is taken down: libev closing its fds, the
 * thread's destructors. */
static __thread green__hub_teardown_t detach;

static void hub_destroyed(struct green__hub *h, green__hub_teardown_t *node) {
  green__shim_tls_t *t = &green__shim_tls;
  (void)node;
  if (t->hub != h) return;
  t->hub = NULL;
  t->busy = 1;
}

/* ---- reports (src/report.c), preemption and the watchdog (src/tick.c) -------------------- */

/* "greenrun: prog[pid]", made at each report: a fork child reports with its own pid. */
static const char *report_prefix(void) {
  static char prefix[96];
  snprintf(prefix, sizeof prefix, "greenrun: %s[%d]", program_invocation_short_name, (int)getpid());
  return prefix;
}

/* The runtime's handlers are its own: calls made in them pass straight to libc. */
static void report_enter(void) { green__shim_tls.sigdepth++; }
static void report_leave(void) { green__shim_tls.sigdepth--; }

static size_t report_describe(green_t *g, char *buf, size_t len) {
  green__shim_thread_t *rec = g->ext;
  int n;
  const char *name = rec ? rec->name : "";
  if (g == g->hub->main && !rec && !green__shim_config.native && g->hub->tid != getpid())
    n = snprintf(buf, len, "hub %u's own main greenlet", g->hub->number); /* -j N: idle */
  else if (g == g->hub->main || (rec && rec->is_main)) n = snprintf(buf, len, "the main thread");
  else if (!rec) n = snprintf(buf, len, "a greenlet of the runtime");
  else if (rec->tid) n = snprintf(buf, len, "green thread %d", (int)rec->tid);
  else n = snprintf(buf, len, "green thread %p", (void *)rec);
  if (n >= 0 && (size_t)n < len && *name) n += snprintf(buf + n, len - (size_t)n, " \"%s\"", name);
  return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* Milliseconds from the environment variable `name`, else `dflt` (0 turns it off). */
static double env_seconds(const char *name, double dflt) {
  char buf[16384];
  const char *s = green__shim_env(name, buf, sizeof buf);
  return s && *s ? atof(s) / 1000 : dflt;
}

/* Green mode preempts and watches by default; native mode has one thread per hub, and the
 * timer signal only carries dumps' requests. A deadlock is always reported: the program
 * would hang without a word. */
static void tick_init(void) {
  static const green__tick_ops_t ops = {green__shim_signal_foreign};
  int native = green__shim_config.native;
  green__report_ops.prefix = report_prefix;
  green__report_ops.describe = report_describe;
  green__report_ops.enter = report_enter;
  green__report_ops.leave = report_leave;
  green__dump_deadlocks = 1;
  green__tick_configure(native ? 0 : env_seconds("GREEN_TIMESLICE_MS", 0.010),
                        native ? 0 : env_seconds("GREEN_WATCHDOG_MS", 1.0), &ops);
  if (green__hub_peek()) green__tick_start(green__hub_peek()); /* made before us */
}

/* Runs when the shim is loaded, on the thread that will run main(). */
__attribute__((constructor(101))) static void shim_init(void) {
  green__real_ready();
  green__shim_tls.managed = 1;
  say_hub_cap();
  green__shim_threads_init();
  tick_init();
}

/* ---- main() and exit() ------------------------------------------------------------------ */

static int (*program_main)(int, char **, char **);

/* main() returned or exit() was called: from here on calls pass through, and no timer of any
 * hub interrupts an atexit handler. */
static void leave_running(void) {
  char buf[64];
  const char *stats;
  int was = __atomic_exchange_n(&green__shim_phase, GREEN__SHIM_EXITING, __ATOMIC_ACQ_REL);
  if (green__shim_config.check) green__check_stop();
  green__tick_stop_all();
  if (was == GREEN__SHIM_EXITING || !(stats = green__shim_env("GREEN_STATS", buf, sizeof buf)) ||
      !*stats || strcmp(stats, "0") == 0)
    return;
  green__dump_stats(2);
}

static int main_wrapper(int argc, char **argv, char **envp) {
  int r;
  green__shim_tls.managed = 1;
  __atomic_store_n(&green__shim_phase, GREEN__SHIM_RUNNING, __ATOMIC_RELEASE);
  if (green__shim_config.check) green__check_start();
  r = program_main(argc, argv, envp);
  leave_running();
  return r;
}

GREEN__SHIM_EXPORT int __libc_start_main(int (*main)(int, char **, char **), int argc,
                                         char **argv, void (*init)(void), void (*fini)(void),
                                         void (*rtld_fini)(void), void *stack_end);
int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv,
                      void (*init)(void), void (*fini)(void), void (*rtld_fini)(void),
                      void *stack_end) {
  green__real_ready();
  program_main = main;
  return green__real.__libc_start_main(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

GREEN__SHIM_EXPORT void exit(int status) {
  green__real_ready();
  leave_running();
  green__real.exit(status);
  __builtin_unreachable();
}

/* ---- the gate's slow path and hub set-up ------------------------------------------------ */

struct green__hub *green__shim_hub_attach(void) {
  green__shim_tls_t *t = &green__shim_tls;
  struct green__hub *h;
  if (t->hub || !t->managed || t->busy) return t->hub;
  t->busy = 1; /* creating the hub calls hooked functions (libev's pipe, fcntl) */
  h = green__hub_get();
  if (h) green__hub_on_destroy(h, &detach, hub_destroyed);
  if (h) green__shim_sigmask_attach(h);
  if (h) green__shim_signal_attach(h);
  t->busy = 0;
  return t->hub = h;
}

void green__shim_hub_thread_begins(void) {
  green__shim_tls.managed = 1;
  green__shim_tls.extra_hub = 1;
  if (green__shim_config.check) green__check_thread();
  green__shim_hub_attach();
}

int green__shim_gate_open(unsigned how) {
  green__shim_tls_t *t = &green__shim_tls;
  struct green__hub *h = t->hub;
  if (((how & GREEN__GATE_GREEN) && green__shim_config.native) || t->busy || t->sigdepth) return 0;
  if (h && h->current == &h->hub && !(how & GREEN__GATE_CALLBACK)) return 0;
  if (how & GREEN__GATE_EXISTING) return h != NULL;
  return t->managed && __atomic_load_n(&green__shim_phase, __ATOMIC_ACQUIRE) == GREEN__SHIM_RUNNING;
}

struct green__hub *green__shim_gate_slow(unsigned how) {
  struct green__hub *h;
  if (!green__shim_gate_open(how)) return NULL;
  if (!(h = green__shim_tls.hub) && !(h = green__shim_hub_attach())) return NULL;
  if (!(how & GREEN__GATE_EXISTING) && h->yield_due && !h->current->nopreempt &&
      !green__shim_tls.inner_locks)
    green__hub_preempt(h); /* not holding a FILE, nor a runtime mutex */
  return h;
}

/* ---- parking ---------------------------------------------------------------------------- */

/* The park itself, with the greenlet interruptible by w->intr meanwhile. */
static int park_marked(struct green__hub *h, green__shim_thread_t *self, green__fd_t *f,
                       const green__shim_wait_t *w) {
  green__shim_mask_save_t saved;
  int r;
  if (w->list) green__list_push_back(w->list, &h->current->wait_link);
  if (w->signal_first) green__shim_mask_begin(h, w->mask, &saved);
  if (self) self->intr = (uint8_t)w->intr;
  if (f) r = green__fd_wait(h, f, w->fd, w->events, w->at);
  else r = green__park(h, w->kind, w->what ? w->what : w->call, w->at, w->loop_wait);
  if (self) self->intr = GREEN__INTR_NEVER;
  if (w->signal_first) green__shim_mask_end(h, w->mask, &saved);
  return f && r > 0 ? 0 : r;
}

int green__shim_park(struct green__hub *h, const green__shim_wait_t *w) {
  int point = w->cancel == GREEN__CANCEL_POINT, r;
  green__shim_thread_t *self =
      w->intr || w->cancel != GREEN__CANCEL_NONE ? green__shim_self(h) : NULL;
  green__fd_t *f = w->entry;
  if (w->events && !f && !(f = green__shim_hub_fd(h, w->fd, &r))) return r;
  if (w->cancel == GREEN__CANCEL_REPORT && green__shim_cancelled(self)) return -ECANCELED;
  if (green__shim_config.debug && !w->quiet) green__shim_debug(w->call, w->events ? w->fd : -1);
  if (point) green__shim_cancel_point(self);
  r = park_marked(h, self, f, w);
  if (r == -ECANCELED && point) green__shim_cancel_point(self);
  return r;
}

int green__shim_wait_fd(struct green__hub *h, int fd, int events, double at, int intr,
                        const char *call) {
  return green__shim_park(h, &(green__shim_wait_t){.fd = fd, .events = events, .at = at,
                                                    .intr = intr, .call = call});
}

int green__shim_sleep_until(struct green__hub *h, double at, const char *call) {
  int r = green__shim_park(h, &(green__shim_wait_t){.kind = GREEN_WAIT_SLEEP, .at = at,
                                                    .intr = GREEN__INTR_ALWAYS, .call = call});
  return r == GREEN__TIMER ? 0 : r;
}

/* ---- helpers ---------------------------------------------------------------------------- */

void green__shim_debug(const char *call, int fd) {
  char line[160];
  struct green__hub *h = green__shim_tls.hub;
  const char *prog = program_invocation_short_name;
  void *g = h ? (void *)h->current : NULL;
  int n = fd >= 0 ? snprintf(line, sizeof line, "greenrun: %s[%d]: %s(%d) parks green thread %p\n",
                             prog, (int)getpid(), call, fd, g)
                  : snprintf(line, sizeof line, "greenrun: %s[%d]: %s parks green thread %p\n",
                             prog, (int)getpid(), call, g);
  if (n > 0) green__real.write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}
