/* SPDX-License-Identifier: MIT */
/* Stack overflow reports (src/overflow.c). A case whose process must die runs its scenario
 * in a forked child (no hub in the parent before: the child makes the first) with stderr on a
 * pipe and no core dump, and checks how the child ended and what it wrote. Not built under
 * AddressSanitizer, whose handler owns SIGSEGV and guard pages there. */
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "test.h"

#include "../src/alloc.h"
#include "../src/stack.h"
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef mmap

enum { STACK = 256 * 1024 }; /* the default stack (GREEN_STACK_SIZE is unset in the child) */

/* ---- the child ----------------------------------------------------------------------- */

typedef struct child {
  int status;      /* waitpid's */
  char err[65536]; /* what it wrote on stderr */
} child_t;

static void run_child(child_t *c, void (*scenario)(void), int guards) {
  int p[2];
  size_t have = 0;
  ssize_t n;
  pid_t pid;
  ASSERT_OK(pipe(p));
  ASSERT_OK(pid = fork());
  if (pid == 0) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    dup2(p[1], 2);
    close(p[0]);
    if (guards) unsetenv("GREEN_STACK_GUARDS");
    else setenv("GREEN_STACK_GUARDS", "0", 1);
    scenario();
    _exit(0);
  }
  close(p[1]);
  while (have < sizeof c->err - 1 && (n = read(p[0], c->err + have, sizeof c->err - 1 - have)) > 0)
    have += (size_t)n;
  c->err[have] = '\0';
  close(p[0]);
  ASSERT_EQ(waitpid(pid, &c->status, 0), pid);
}

static void assert_killed_by(const child_t *c, int sig) {
  if (!WIFSIGNALED(c->status) || WTERMSIG(c->status) != sig)
    TEST_FAIL("the child ended with status %#x, not by signal %d; its stderr:\n%s", c->status,
              sig, c->err);
}

static void assert_says(const child_t *c, const char *words) {
  if (!strstr(c->err, words)) TEST_FAIL("stderr lacks \"%s\":\n%s", words, c->err);
}

/* Spawn fn in a greenlet named `name` and join it. */
static void run_greenlet(void *(*fn)(void *), const char *name) {
  green_t *g = green_spawn(fn, NULL);
  if (!g || green_set_name(g, name) != 0 || green_join(g, NULL, -1) != 0) _exit(3);
}

/* ---- recursion ----------------------------------------------------------------------- */

static volatile long depth_limit = LONG_MAX; /* keeps the compiler from seeing no end */

/* Each frame writes the whole of its 200 bytes, as real frames write theirs. */
__attribute__((noinline)) static long recurse_deeply(long depth) {
  volatile char pad[200];
  size_t i;
  for (i = 0; i < sizeof pad; i++) pad[i] = (char)(depth | 1);
  if (depth >= depth_limit) return 0;
  return recurse_deeply(depth + 1) + pad[depth % (long)sizeof pad];
}

static void *overflow_by_recursion(void *arg) {
  return (void *)(recurse_deeply((long)(intptr_t)arg) + 1); /* + 1: not a tail call */
}

static const char *stack_top; /* a local of the greenlet's function, near its stack's top */

/* Recurse until the frames run `past` bytes below the bottom of a STACK-byte stack (the
 * first frame starts up to 1 KiB below its top), then park down there. */
static int fail_report_stack; /* canary_nomem: the report's own stack cannot be had */

__attribute__((noinline)) static long recurse_past_bottom(long past) {
  volatile char pad[200];
  size_t i;
  for (i = 0; i < sizeof pad; i++) pad[i] = (char)(past | 1);
  if (stack_top - (const char *)pad > STACK + past) {
    if (fail_report_stack) green__fault_alloc_at(1); /* the next: the report's stack */
    green_sleep(0.001);
    return 0;
  }
  return recurse_past_bottom(past) + pad[sizeof pad - 1];
}

static void *overflow_then_park(void *arg) {
  char top;
  stack_top = &top;
  return (void *)recurse_past_bottom((long)(intptr_t)arg);
}

/* ---- guarded stacks ------------------------------------------------------------------ */

static void guarded_scenario(void) { run_greenlet(overflow_by_recursion, "overflow-victim"); }

/* The guard page's fault: the greenlet (the first spawned, id 2: main is 1), its stack's
 * size and the recursion in its backtrace, cut; the process dies of SIGABRT. */
TEST_CASE(guarded) {
  static child_t c;
  run_child(&c, guarded_scenario, 1);
  assert_killed_by(&c, SIGABRT);
  assert_says(&c, "libgreen: greenlet 2 \"overflow-victim\" overflowed its 256 KiB stack\n");
  assert_says(&c, "recurse_deeply+");
  assert_says(&c, "frames cut");
  assert_says(&c, "overflow_by_recursion+"); /* among the outermost frames */
}

/* A million greenlets: the kernel's guard regions guard every stack on a default
 * vm.max_map_count. The 999,999th spawned (id 1,000,000) overflows; the rest sleep. */
enum { MILLION = 1000000 };

static void *sleep_long(void *arg) {
  green_sleep(600);
  return arg;
}

static void millionth_scenario(void) {
  long i;
  for (i = 1; i < MILLION - 1; i++)
    if (!green_spawn(sleep_long, NULL)) _exit(4);
  run_greenlet(overflow_by_recursion, "millionth");
}

TEST_CASE(guarded_millionth) {
  static child_t c;
  if (!green__stack_guard_regions()) TEST_SKIP("the kernel has no guard regions (Linux 6.13)");
  run_child(&c, millionth_scenario, 1);
  assert_killed_by(&c, SIGABRT);
  assert_says(&c, "libgreen: greenlet 1000000 \"millionth\" overflowed its 256 KiB stack\n");
  assert_says(&c, "recurse_deeply+");
}

static void mprotect_scenario(void) {
  if (green__stack_guard_regions()) _exit(5); /* GREEN_GUARD_REGIONS=0 was not heeded */
  guarded_scenario();
}

/* The same on PROT_NONE guard pages, as on a kernel without guard regions. */
TEST_CASE(guarded_mprotect) {
  static child_t c;
  setenv("GREEN_GUARD_REGIONS", "0", 1); /* read once, by the child */
  run_child(&c, mprotect_scenario, 1);
  unsetenv("GREEN_GUARD_REGIONS");
  assert_killed_by(&c, SIGABRT);
  assert_says(&c, "libgreen: greenlet 2 \"overflow-victim\" overflowed its 256 KiB stack\n");
}

static void *null_deref(void *arg) {
  return (void *)(intptr_t)*(volatile int *)arg;
}

static void null_scenario(void) {
  green_t *g = green_spawn(null_deref, NULL);
  green_join(g, NULL, -1);
}

/* A fault that is not an overflow still kills with SIGSEGV, unreported. */
TEST_CASE(null_pointer) {
  static child_t c;
  run_child(&c, null_scenario, 1);
  assert_killed_by(&c, SIGSEGV);
  ASSERT_TRUE(strstr(c.err, "overflowed") == NULL);
}

static void own_handler(int sig) {
  static const char says[] = "the program's own handler\n";
  (void)sig;
  if (write(2, says, sizeof says - 1) < 0) _exit(5);
  _exit(42);
}

static void install_own_handler(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = own_handler;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
}

static void chained_null_scenario(void) {
  install_own_handler();
  null_scenario();
}

static void chained_overflow_scenario(void) {
  install_own_handler();
  guarded_scenario();
}

/* The program's handler, installed before the first hub, gets the program's faults; the
 * overflows are still reported. */
TEST_CASE(chained_handler) {
  static child_t c;
  run_child(&c, chained_null_scenario, 1);
  if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 42)
    TEST_FAIL("the child ended with status %#x; its stderr:\n%s", c.status, c.err);
  assert_says(&c, "the program's own handler");
  run_child(&c, chained_overflow_scenario, 1);
  assert_killed_by(&c, SIGABRT);
  assert_says(&c, "\"overflow-victim\" overflowed its 256 KiB stack\n");
}

/* ---- unguarded stacks (GREEN_STACK_GUARDS=0) ----------------------------------------- */

static void canary_scenario(void) {
  green_stats_t st;
  green_t *g;
  if (green_stats(&st) != 0 || st.stacks_guarded != 0) _exit(4);
  g = green_spawn(overflow_then_park, (void *)(intptr_t)512);
  if (!g || green_set_name(g, "no-guard") != 0) _exit(3);
  green_join(g, NULL, -1);
}

/* Frames that ran 512 bytes past the bottom of an unguarded stack: the canary finds them when
 * the greenlet parks down there, and the backtrace from where it parked shows the recursion. */
TEST_CASE(canary) {
  static child_t c;
  run_child(&c, canary_scenario, 0);
  assert_killed_by(&c, SIGABRT);
  assert_says(&c, "libgreen: greenlet 2 \"no-guard\" overflowed its 256 KiB stack (no guard "
                  "page: found by its canary at its switch-out)\n");
  assert_says(&c, "recurse_past_bottom+");
  assert_says(&c, "green_sleep+");
}

static long greenlets_done;

/* Deep, but never at the bottom: about 3/4 of the stack, a park at the deepest point. */
static void *deep_but_within(void *arg) {
  char top;
  (void)arg;
  stack_top = &top;
  recurse_past_bottom(-(STACK / 4));
  greenlets_done++;
  return NULL;
}

/* No false report: greenlets on unguarded stacks, reused from the pool, go deep and park. */
TEST_CASE(canary_quiet) {
  green_t *gs[64];
  green_stats_t st;
  int round, i;
  setenv("GREEN_STACK_GUARDS", "0", 1); /* read at the first hub, which this case makes */
  for (round = 0; round < 4; round++) {
    for (i = 0; i < 64; i++) ASSERT_PTR_NE(gs[i] = green_spawn(deep_but_within, NULL), NULL);
    ASSERT_OK(green_stats(&st));
    ASSERT_EQ(st.stacks_guarded, 0);
    ASSERT_GE(st.stacks_unguarded, 64);
    ASSERT_OK(green_joinall(gs, 64, -1));
  }
  ASSERT_EQ(greenlets_done, 4 * 64);
}

/* SIGABRT, in the child of canary_nomem: names the allocation that failed, then dies of it. */
static void say_failed_site(int sig) {
  const char *fn, *site = green__fault_alloc_failed(&fn);
  char line[256];
  int len = snprintf(line, sizeof line, "failed allocation: %s %s\n", site ? site : "none",
                     site ? fn : "none");
  if (len > 0 && write(2, line, (size_t)len) < 0) _exit(5);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void canary_nomem_scenario(void) {
  signal(SIGABRT, say_failed_site);
  fail_report_stack = 1;
  canary_scenario();
}

/* Out of memory for the report's own stack (overflow.c's report_canary): the report is still
 * written, from the spent stack, and the process still dies of SIGABRT. GREEN_NOMEM_SITES=file
 * appends the site to file (tests/nomem_coverage.sh). */
TEST_CASE(canary_nomem) {
  static child_t c;
  const char *path = getenv("GREEN_NOMEM_SITES"), *site;
  FILE *f;
  run_child(&c, canary_nomem_scenario, 0);
  assert_killed_by(&c, SIGABRT);
  assert_says(&c, "libgreen: greenlet 2 \"no-guard\" overflowed its 256 KiB stack (no guard "
                  "page: found by its canary at its switch-out)\n");
  assert_says(&c, "report_canary\n");
  ASSERT_PTR_NE(site = strstr(c.err, "failed allocation: "), NULL);
  if (path && (f = fopen(path, "a"))) {
    fprintf(f, "%.*s degraded\n", (int)strcspn(site + 19, "\n"), site + 19);
    fclose(f);
  }
}
