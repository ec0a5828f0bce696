/* SPDX-License-Identifier: MIT */
/*
 * Thread-local variables of each green thread: `__thread`, C11 `_Thread_local` and C++
 * `thread_local`, as each OS thread has its own.
 *
 * Green threads of one hub share an OS thread, so they would share its TLS blocks. Worse, on
 * several hubs a green thread could then see another's value while that one runs on the other
 * hub (V8 keeps its current heap there). So the shim keeps a copy of those blocks per green
 * thread and swaps the contents in place. The thread pointer never changes, so an address a
 * compiler cached stays valid, errno's included. Each hub knows whose values it holds. A
 * switch back to a green thread whose values are not there saves the holder's and copies its
 * own in. A switch to the hub's loop and back costs nothing.
 *
 * Which blocks: the static TLS blocks of the objects loaded at the first pthread_create. Left
 * out are those the runtime itself uses while any green thread's values are in place. They
 * are libc's and the loader's (errno is saved per greenlet anyway), libgreen-preload's,
 * libev's, c-ares', libunwind's, and the allocator's (the object malloc comes from). So for
 * node that is V8's and libstdc++'s (its exception stack), 288 bytes a thread.
 * A new green thread starts with each block's initial image, as pthread_create's threads do.
 *
 * C++ `thread_local` objects with destructors register them with __cxa_thread_atexit_impl.
 * A green thread's registrations run when it ends, before its pthread_key destructors, as in
 * glibc. The main thread's stay glibc's: exit runs them.
 */
#include "threads.h"

#include "../src/report.h"

#include <dlfcn.h>
#include <link.h> /* after ev.h: its elf.h defines EV_NONE */
#include <stdlib.h>
#include <string.h>

enum { MAX_BLOCKS = 32 };

typedef struct block {
  ptrdiff_t offset; /* from the thread pointer: the same in every OS thread */
  size_t size;
  size_t image_size; /* the initialised part; the rest starts zero */
  const void *image;
} block_t;

static block_t blocks[MAX_BLOCKS];
static size_t nblocks, total;
static void *main_vars; /* the main thread's copy, used once its values are first swapped out */

typedef struct green__shim_dtor {
  void (*fn)(void *);
  void *obj;
  struct green__shim_dtor *next;
} dtor_t;

static char *thread_pointer(void) {
#if defined(__x86_64__)
  char *tp;
  __asm__("mov %%fs:0, %0" : "=r"(tp));
  return tp;
#else
  return __builtin_thread_pointer();
#endif
}

/* ---- which blocks ----------------------------------------------------------------------- */

static const char *const runtime_objects[] = {"libc.so",          "ld-linux", "ld64.so",
                                              "libgreen-preload", "libev.so", "libcares.so",
                                              "libunwind",        NULL};

typedef struct candidate {
  block_t block;
  const char *path; /* "" for the program */
  const void *base;
} candidate_t;

typedef struct scan {
  char *tp;
  size_t static_size; /* the static TLS area's size: blocks outside it are dynamic */
  candidate_t found[MAX_BLOCKS];
  size_t nfound;
} scan_t;

static const void *object_base(const struct dl_phdr_info *info) {
  uintptr_t lo = UINTPTR_MAX;
  int i;
  for (i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_LOAD && info->dlpi_phdr[i].p_vaddr < lo)
      lo = info->dlpi_phdr[i].p_vaddr;
  return (const void *)(info->dlpi_addr + lo);
}

/* An object's static TLS block, unless the runtime's. */
static int find_block(struct dl_phdr_info *info, size_t size, void *arg) {
  scan_t *s = arg;
  char *data = info->dlpi_tls_data;
  int i;
  (void)size;
  if (!data || green__report_named(info->dlpi_name, runtime_objects) || s->nfound == MAX_BLOCKS)
    return 0;
  if ((size_t)(data < s->tp ? s->tp - data : data - s->tp) > s->static_size) return 0;
  for (i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    if (p->p_type != PT_TLS || p->p_memsz == 0) continue;
    s->found[s->nfound++] =
        (candidate_t){.block = {.offset = data - s->tp,
                                .size = p->p_memsz,
                                .image_size = p->p_filesz,
                                .image = (const void *)(info->dlpi_addr + p->p_vaddr)},
                      .path = info->dlpi_name,
                      .base = object_base(info)};
    break;
  }
  return 0;
}

/* Whether a shared object defines malloc itself: an allocator. The program is never taken
 * for one, since a PLT slot of its own may stand for libc's malloc. */
static int allocator(const candidate_t *c) {
  void *h, *m;
  Dl_info di;
  int is = 0;
  if (!c->path[0] || !(h = dlopen(c->path, RTLD_LAZY | RTLD_NOLOAD))) return 0;
  if ((m = dlsym(h, "malloc")) && dladdr(m, &di)) is = di.dli_fbase == c->base;
  dlclose(h);
  return is;
}

/* The static TLS area's size from the loader (what sanitizers ask too); 0 when unknown. */
static size_t static_tls_size(void) {
  void (*info)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dlvsym(
      RTLD_DEFAULT, "_dl_get_tls_static_info", "GLIBC_PRIVATE");
  size_t size = 0, align = 0;
  if (info) info(&size, &align);
  return size;
}

static void scan(void) {
  static scan_t s;
  size_t i;
  s.tp = thread_pointer();
  if (!(s.static_size = static_tls_size())) return;
  dl_iterate_phdr(find_block, &s);
  for (i = 0; i < s.nfound; i++)
    if (!allocator(&s.found[i])) {
      blocks[nblocks++] = s.found[i].block;
      total += s.found[i].block.size;
    }
}

/* ---- copies ----------------------------------------------------------------------------- */

static void save(const green_t *g, char *tp) {
  char *b = g->threadvars;
  size_t i;
  for (i = 0; i < nblocks; b += blocks[i].size, i++)
    memcpy(b, tp + blocks[i].offset, blocks[i].size);
}

static void load(const green_t *g, char *tp) {
  const char *b = g->threadvars;
  size_t i;
  for (i = 0; i < nblocks; b += blocks[i].size, i++)
    memcpy(tp + blocks[i].offset, b, blocks[i].size);
}

/* The holder of a hub whose values are nobody's yet: the main thread's, on its hub. */
static green_t *first_holder(struct green__hub *h) {
  if (green__shim_tls.extra_hub || h->main->threadvars || !main_vars) return NULL;
  h->main->threadvars = main_vars;
  return h->main;
}

static void put_in_place(struct green__hub *h, green_t *g) {
  green_t *holder = h->threadvars_owner;
  char *tp;
  if (holder == g) return;
  tp = thread_pointer();
  if (!holder) holder = first_holder(h);
  if (holder) save(holder, tp);
  load(g, tp);
  h->threadvars_owner = g;
}

/* ---- green threads ---------------------------------------------------------------------- */

/* At the first pthread_create, made by the main thread while it is the only one. */
static void setup(void) {
  static int done;
  if (done) return;
  done = 1;
  scan();
  if (nblocks && !(main_vars = malloc(total))) nblocks = total = 0;
  if (nblocks) green__threadvars_switch = put_in_place;
}

int green__shim_threadvars_new(void **vars) {
  char *b;
  size_t i;
  setup();
  *vars = NULL;
  if (!nblocks) return 0;
  if (!(*vars = b = malloc(total))) return -1;
  for (i = 0; i < nblocks; b += blocks[i].size, i++) {
    memcpy(b, blocks[i].image, blocks[i].image_size);
    memset(b + blocks[i].image_size, 0, blocks[i].size - blocks[i].image_size);
  }
  return 0;
}

void green__shim_threadvars_begin(struct green__hub *h, green_t *g) {
  if (g->threadvars) put_in_place(h, g);
}

void green__shim_threadvars_end(struct green__hub *h, green__shim_thread_t *t) {
  dtor_t *d;
  while ((d = t->dtors)) {
    t->dtors = d->next;
    d->fn(d->obj);
    free(d);
  }
  if (h->threadvars_owner == t->g) h->threadvars_owner = NULL;
  t->g->threadvars = NULL;
  free(t->vars);
  t->vars = NULL;
}

void green__shim_threadvars_after_fork(green__shim_thread_t *self) {
  if (self && self->vars && !self->is_main) {
    free(main_vars);
    main_vars = self->vars; /* the forking thread is the child's main thread */
    self->vars = NULL;
  }
}

GREEN__SHIM_EXPORT int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso) {
  struct green__hub *h = green__shim_tls.hub;
  green__shim_thread_t *t;
  dtor_t *d;
  green__real_ready();
  if (!h || !h->current->threadvars || h->current == h->main || !(t = green__shim_self(h)))
    return green__real.__cxa_thread_atexit_impl(fn, obj, dso);
  if (!(d = malloc(sizeof *d))) return -1;
  *d = (dtor_t){.fn = fn, .obj = obj, .next = t->dtors};
  t->dtors = d;
  return 0;
}
