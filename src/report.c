/* SPDX-License-Identifier: MIT */
/*
 * Reports and backtraces (report.h).
 *
 * libunwind is dlopened with RTLD_LOCAL, so its _Unwind_* functions never replace libgcc's. It
 * is opened only when a report or preemption first needs it: a program that never asks opens
 * no fd of it. Its caching is off, so a walk from a signal handler takes no lock of its own.
 */
#include "report.h"

#include <dlfcn.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"
#include "ownfd.h"

#define MAX_FRAMES 48

green__report_ops_t green__report_ops;
struct green__unw green__unw;

#define STR2(x) #x
#define STR(x) STR2(x)
#define LOOKUP(lib, field, name) (*(void **)&green__unw.field = dlsym(lib, STR(name)))

static void load(void) {
  void *lib = dlopen("libunwind.so.8", RTLD_LAZY | RTLD_LOCAL);
  int (*set_caching)(unw_addr_space_t, unw_caching_policy_t);
  unw_addr_space_t *space;
  if (!lib) return;
  if (!LOOKUP(lib, init_local2, unw_init_local2) || !LOOKUP(lib, step, unw_step) ||
      !LOOKUP(lib, get_reg, unw_get_reg) || !LOOKUP(lib, get_proc_info, unw_get_proc_info) ||
      !LOOKUP(lib, get_proc_name, unw_get_proc_name))
    return;
  *(void **)&set_caching = dlsym(lib, STR(unw_set_caching_policy));
  space = (unw_addr_space_t *)dlsym(lib, STR(unw_local_addr_space));
  if (set_caching && space) set_caching(*space, UNW_CACHE_NONE);
  green__unw.ready = 1;
}

/* One walk outside any handler: libunwind sets itself up here, not in a handler. */
static void warm_up(void) {
  unw_context_t uc;
  unw_cursor_t c;
  getcontext((ucontext_t *)&uc);
  if (green__unw.init_local2(&c, &uc, 0) == 0)
    while (green__unw.step(&c) > 0) {
    }
}

static uintptr_t runtime_base; /* load address of the object libgreen is in */

int green__unwind_load(void) {
  static int tried;
  if (!tried) {
    Dl_info self;
    tried = 1;
    if (dladdr((void *)green__code_of, &self)) runtime_base = (uintptr_t)self.dli_fbase;
    green__report_enter();
    green__ownfd_depth++; /* libunwind's pipe, which it writes to test addresses: the runtime's */
    load();
    if (green__unw.ready) warm_up();
    green__ownfd_depth--;
    green__report_leave();
  }
  return green__unw.ready;
}

/* ---- whose code an address is --------------------------------------------------------- */

static const char *const system_objects[] = {
    "libc.so", "ld-linux", "libm.so", "libpthread", "libdl.so", "librt.so", "libresolv",
    "libnss_", "libgcc_s", "libstdc++", "libunwind", "libjemalloc", "libtcmalloc",
    "libmimalloc", "libasan", "libubsan", "linux-vdso", NULL};
static const char *const runtime_objects[] = {"libev.so", "libcares", "libgreen", NULL};

int green__report_named(const char *path, const char *const *names) {
  const char *base = strrchr(path, '/');
  size_t i;
  base = base ? base + 1 : path;
  for (i = 0; names[i]; i++)
    if (strncmp(base, names[i], strlen(names[i])) == 0) return 1;
  return 0;
}

struct lookup {
  uintptr_t ip;
  int code;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *arg) {
  struct lookup *l = arg;
  int i;
  (void)size;
  for (i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + p->p_vaddr;
    if (p->p_type != PT_LOAD || !(p->p_flags & PF_X) || l->ip < lo || l->ip >= lo + p->p_memsz)
      continue;
    if (info->dlpi_addr == runtime_base || green__report_named(info->dlpi_name, runtime_objects))
      l->code = GREEN__CODE_RUNTIME;
    else if (green__report_named(info->dlpi_name, system_objects)) l->code = GREEN__CODE_SYSTEM;
    else l->code = GREEN__CODE_PROGRAM;
    return 1;
  }
  return 0;
}

int green__code_of(uintptr_t ip) {
  struct lookup l = {ip, GREEN__CODE_NONE};
  dl_iterate_phdr(find_object, &l);
  return l.code;
}

const char *green__report_fd_kind(int fd) {
  static const struct {
    const char *link, *words;
  } anon[] = {{"anon_inode:[eventfd]", "an eventfd"}, {"anon_inode:[timerfd]", "a timerfd"},
              {"anon_inode:[signalfd]", "a signalfd"}, {"anon_inode:inotify", "an inotify fd"},
              {"anon_inode:[eventpoll]", "an epoll fd"}};
  char path[40], link[64];
  struct stat st;
  ssize_t n;
  size_t i;
  if (fstat(fd, &st) < 0) return "not open";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  if (S_ISFIFO(st.st_mode)) return "a pipe";
  if (S_ISREG(st.st_mode)) return "a file";
  if (S_ISCHR(st.st_mode)) return isatty(fd) ? "a terminal" : "a device";
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  if ((n = readlink(path, link, sizeof link - 1)) > 0) {
    link[n] = '\0';
    for (i = 0; i < sizeof anon / sizeof anon[0]; i++)
      if (strcmp(link, anon[i].link) == 0) return anon[i].words;
  }
  return "a special file";
}

/* ---- the writer ----------------------------------------------------------------------- */

void green__report_flush(green__report_t *r) {
  size_t off = 0;
  ssize_t w;
  while (off < r->n && (w = write(r->fd, r->buf + off, r->n - off)) != 0) {
    if (w > 0) off += (size_t)w;
    else if (errno != EINTR) break;
  }
  r->n = 0;
}

void green__report_put(green__report_t *r, const char *fmt, ...) {
  va_list ap;
  int len;
  size_t room = sizeof r->buf - r->n;
  va_start(ap, fmt);
  len = vsnprintf(r->buf + r->n, room, fmt, ap);
  va_end(ap);
  if (len < 0) return;
  if ((size_t)len >= room && r->n > 0) { /* it did not fit: write out what came before */
    green__report_flush(r);
    va_start(ap, fmt);
    len = vsnprintf(r->buf, sizeof r->buf, fmt, ap);
    va_end(ap);
    if (len < 0) return;
    room = sizeof r->buf;
  }
  r->n += (size_t)len < room ? (size_t)len : room - 1;
}

const char *green__report_prefix(void) {
  return green__report_ops.prefix ? green__report_ops.prefix() : "libgreen";
}

void green__report_name(green__report_t *r, green_t *g) {
  char words[160];
  if (green__report_ops.describe && green__report_ops.describe(g, words, sizeof words)) {
    green__report_put(r, "%s", words);
  } else if (g == g->hub->main) {
    green__report_put(r, "the main greenlet");
  } else if (g == &g->hub->hub) {
    green__report_put(r, "the hub");
  } else {
    green__report_put(r, "greenlet %llu", (unsigned long long)g->id);
    if (*g->name) green__report_put(r, " \"%s\"", g->name);
  }
}

/* ---- backtraces ----------------------------------------------------------------------- */

/* Names of functions, by their start address. libunwind names a frame by reading its object's
 * ELF file: it reads /proc/self/maps and maps the file. That takes milliseconds a frame. The
 * parked greenlets of one dump share most of their frames. One thread at a time uses the
 * cache; another looks its names up uncached meanwhile. */
enum { NAME_SLOTS = 512, NAME_LEN = 96 };
static struct {
  uintptr_t start;
  char name[NAME_LEN];
} names[NAME_SLOTS];
static int names_busy;

static int lookup_name(unw_cursor_t *c, char *name, size_t len, unw_word_t *off) {
  unw_proc_info_t pi;
  unw_word_t ip;
  size_t i;
  int r;
  if (green__unw.get_reg(c, UNW_REG_IP, &ip) < 0 || green__unw.get_proc_info(c, &pi) < 0 ||
      !pi.start_ip || __atomic_exchange_n(&names_busy, 1, __ATOMIC_ACQUIRE))
    return green__unw.get_proc_name(c, name, len, off);
  i = (size_t)(pi.start_ip >> 4) % NAME_SLOTS;
  if (names[i].start == pi.start_ip) {
    snprintf(name, len, "%s", names[i].name);
    *off = ip - pi.start_ip;
    r = 0;
  } else if ((r = green__unw.get_proc_name(c, name, len, off)) == 0 && ip - *off == pi.start_ip &&
             strlen(name) < NAME_LEN) {
    names[i].start = pi.start_ip;
    memcpy(names[i].name, name, strlen(name) + 1);
  }
  __atomic_store_n(&names_busy, 0, __ATOMIC_RELEASE);
  return r;
}

static void put_frame(green__report_t *r, unw_cursor_t *c, const char *indent, long n) {
  unw_word_t ip, off;
  char name[160];
  Dl_info info;
  const char *object;
  if (green__unw.get_reg(c, UNW_REG_IP, &ip) < 0) return;
  if (lookup_name(c, name, sizeof name, &off) < 0) {
    strcpy(name, "??");
    off = 0;
  }
  object = dladdr((void *)ip, &info) && info.dli_fname ? info.dli_fname : "?";
  if (strrchr(object, '/')) object = strrchr(object, '/') + 1;
  green__report_put(r, "%s#%ld %#lx %s+%#lx (%s)\n", indent, n, (unsigned long)ip, name,
                    (unsigned long)off, object);
}

static int has_frame(unw_cursor_t *c) {
  unw_word_t ip;
  return green__unw.get_reg(c, UNW_REG_IP, &ip) == 0 && ip != 0;
}

static void put_frames(green__report_t *r, unw_cursor_t *c, const char *indent) {
  int n;
  for (n = 0; n < MAX_FRAMES && has_frame(c); n++) {
    put_frame(r, c, indent, n);
    if (green__unw.step(c) <= 0) return;
  }
  if (n == MAX_FRAMES) green__report_put(r, "%s...\n", indent);
}

/* A stack that may be a runaway recursion (an overflow). Writes its innermost DEEP_TOP frames,
 * how many are cut, and its outermost DEEP_BOTTOM (where the greenlet started it). The walk
 * stops after DEEP_MAX frames. Copies of the cursor keep the last frames seen. */
enum { DEEP_TOP = 24, DEEP_BOTTOM = 8, DEEP_MAX = 2000000 };

static void put_deep_frames(green__report_t *r, unw_cursor_t *c, const char *indent) {
  unw_cursor_t last[DEEP_BOTTOM];
  long n = 0, i;
  while (n < DEEP_MAX && has_frame(c)) {
    if (n < DEEP_TOP) put_frame(r, c, indent, n);
    else last[(n - DEEP_TOP) % DEEP_BOTTOM] = *c;
    n++;
    if (green__unw.step(c) <= 0) break;
  }
  i = n - DEEP_BOTTOM > DEEP_TOP ? n - DEEP_BOTTOM : DEEP_TOP;
  if (i > DEEP_TOP) green__report_put(r, "%s... %ld frames cut ...\n", indent, i - DEEP_TOP);
  for (; i < n; i++) put_frame(r, &last[(i - DEEP_TOP) % DEEP_BOTTOM], indent, i);
  if (n == DEEP_MAX) green__report_put(r, "%s(the walk stopped there)\n", indent);
}

static void put_walk(green__report_t *r, unw_cursor_t *c, const char *indent) {
  if (r->deep) put_deep_frames(r, c, indent);
  else put_frames(r, c, indent);
}

void green__report_backtrace_signal(green__report_t *r, ucontext_t *uc, const char *indent) {
  unw_cursor_t c;
  if (!green__unw.ready) {
    green__report_put(r, "%s(no backtrace: libunwind.so.8 could not be loaded)\n", indent);
    return;
  }
  if (green__unw.init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) == 0)
    put_walk(r, &c, indent);
}

/* Step c past the frame of function `below`; whether it was found. */
static int skip_through(unw_cursor_t *c, const char *below) {
  char name[160];
  unw_word_t off;
  int n;
  for (n = 0; n < MAX_FRAMES; n++) {
    int found = lookup_name(c, name, sizeof name, &off) == 0 && strcmp(name, below) == 0;
    if (green__unw.step(c) <= 0) return 0;
    if (found) return 1;
  }
  return 0;
}

void green__report_backtrace_here(green__report_t *r, const char *indent, const char *below) {
  unw_context_t uc;
  unw_cursor_t c;
  if (!green__unwind_load()) return;
  getcontext((ucontext_t *)&uc);
  if (green__unw.init_local2(&c, &uc, 0) != 0) return;
  if (below && !skip_through(&c, below) && green__unw.init_local2(&c, &uc, 0) != 0) return;
  put_walk(r, &c, indent);
}

/* The registers a switched-out greenlet resumes with, as a ucontext (ctx.h, ctx-*.S). */
static int parked_context(const green__ctx_t *ctx, ucontext_t *uc) {
#if GREEN_CTX_UCONTEXT
  *uc = ctx->uc;
  return 0;
#elif defined(__x86_64__)
  const uint64_t *sp = ctx->sp; /* [0] MXCSR, x87 CW; [1] r15 r14 r13 r12 rbx rbp; [7] rip */
  memset(uc, 0, sizeof *uc);
  uc->uc_mcontext.gregs[REG_R15] = (greg_t)sp[1];
  uc->uc_mcontext.gregs[REG_R14] = (greg_t)sp[2];
  uc->uc_mcontext.gregs[REG_R13] = (greg_t)sp[3];
  uc->uc_mcontext.gregs[REG_R12] = (greg_t)sp[4];
  uc->uc_mcontext.gregs[REG_RBX] = (greg_t)sp[5];
  uc->uc_mcontext.gregs[REG_RBP] = (greg_t)sp[6];
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)sp[7];
  uc->uc_mcontext.gregs[REG_RSP] = (greg_t)(sp + 8);
  return 0;
#elif defined(__aarch64__)
  const uint64_t *sp = ctx->sp; /* [0] x19..x28 [10] x29 [11] x30; 176 bytes in all */
  int i;
  memset(uc, 0, sizeof *uc);
  for (i = 0; i < 10; i++) uc->uc_mcontext.regs[19 + i] = sp[i];
  uc->uc_mcontext.regs[29] = sp[10];
  uc->uc_mcontext.regs[30] = sp[11];
  uc->uc_mcontext.pc = sp[11];
  uc->uc_mcontext.sp = (uint64_t)((const char *)sp + 176);
  return 0;
#else
  (void)ctx, (void)uc;
  return -1;
#endif
}

void green__report_backtrace_parked(green__report_t *r, green_t *g, const char *indent) {
  ucontext_t uc;
  unw_cursor_t c;
  if (!green__unw.ready) {
    green__report_put(r, "%s(no backtrace: libunwind.so.8 could not be loaded)\n", indent);
    return;
  }
  if (g->flags & GREEN__HIBERNATED) green__stack_restore(g->stack); /* libunwind reads it */
  if (parked_context(&g->ctx, &uc) == 0 &&
      green__unw.init_local2(&c, (unw_context_t *)&uc, 0) == 0)
    put_walk(r, &c, indent);
}
