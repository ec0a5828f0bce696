/* Stack overflow reports (src/overflow.c). A case whose process must die runs its scenario
 * in a forked child (no hub in the parent before: the child makes the first) with stderr on a
 * pipe and no core dump, and checks how the child ended and what it wrote. Not built under
 * AddressSanitizer, whose handler owns SIGSEGV and guard pages there. */
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "test.h"

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
    if (!guards) setenv("GREEN_STACK_GUARDS", "0", 1);
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
