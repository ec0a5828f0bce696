/* SPDX-License-Identifier: MIT */
/*
 * Stacks carved from slabs.
 *
 * Each default-size stack is [guard page | usable bytes]. SLAB_STACKS of them share one mmap.
 * Where the kernel has guard regions (Linux 6.13, madvise MADV_GUARD_INSTALL), each guard page
 * is one. It faults like PROT_NONE but does not split the mapping. So every stack is guarded,
 * and a slab costs one of the kernel's vm.max_map_count mappings (65,530 on a default Linux).
 * A page of its own probes for it once.
 *
 * Without guard regions, a guard page is a PROT_NONE hole that splits the mapping. Then each
 * guarded stack costs two mappings. Guards therefore come from a process-wide budget of three
 * quarters of that count. That is about 24,500 guarded stacks on a default machine, and it
 * leaves the rest to the program. Slabs made after the budget is spent have no guard pages. An
 * overflow there is found later, by the canary overflow.c checks at the greenlet's
 * switch-outs. Raising vm.max_map_count raises the budget.
 * GREEN_STACK_GUARDS=N caps either kind at N guarded stacks (0: none, as tests of the canary
 * need). GREEN_GUARD_REGIONS=0 uses PROT_NONE guards even where guard regions work.
 * Spawning never fails for want of guard pages.
 *
 * Only pages a greenlet touches are committed (MAP_NORESERVE). Free stacks stay "hot", with
 * their pages, up to hot_max per hub, so that a spawn costs no page fault. The hub trims the
 * rest when it is idle: madvise, or munmap of a slab none of whose stacks is in use.
 */
#include "stack.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GREEN_HAVE_VALGRIND 1
#endif
#endif
#if GREEN_HAVE_ASAN
#include <sanitizer/asan_interface.h>
#endif

enum {
  SLAB_STACKS = 64,
  COLORS = 16, /* first frames offset by 0..15 cache lines */
  MIN_STACK = 16384,
  DEFAULT_STACK = 256 * 1024,
  DEFAULT_HOT_MAX = 1024,
};

struct green__slab {
  char *base;
  size_t len;
  size_t nused;       /* stacks handed out */
  size_t vmas;        /* mappings it costs, returned to the budget when unmapped */
  green__list_t link;
  green__stack_t stacks[SLAB_STACKS];
};

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13; Debian 12's headers lack it */
#define MADV_GUARD_REMOVE 103
#endif

static size_t default_size = DEFAULT_STACK;
static size_t page_size;
static atomic_long vma_budget = -1;  /* mappings left for guard pages; -1: not read yet */
static atomic_long region_cap = -1;  /* guard regions GREEN_STACK_GUARDS still allows */
static atomic_int regions_work = -1; /* the kernel has guard regions; -1: not probed yet */

static size_t round_to_page(size_t n) { return (n + page_size - 1) & ~(page_size - 1); }

static long read_max_map_count(void) {
  long v = 65530;
  FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
  if (f) {
    if (fscanf(f, "%ld", &v) != 1) v = 65530;
    fclose(f);
  }
  return v;
}

/* Mappings that guard pages may cost: 3/4 of vm.max_map_count, at most 2 per stack that
 * GREEN_STACK_GUARDS allows. */
static long budget_first(long cap) {
  long budget = read_max_map_count() * 3 / 4;
  return cap < budget / 2 ? 2 * cap : budget;
}

/* GREEN_STACK_GUARDS, or LONG_MAX when it is unset or not a count. */
static long guards_cap(void) {
  const char *s = getenv("GREEN_STACK_GUARDS");
  char *end;
  long cap;
  if (s && *s && (cap = strtol(s, &end, 10)) >= 0 && !*end) return cap;
  return LONG_MAX;
}

static void budget_init(void) {
  long expected = -1, cap;
  if (atomic_load(&vma_budget) != -1) return;
  cap = guards_cap();
  if (atomic_compare_exchange_strong(&vma_budget, &expected, budget_first(cap)))
    atomic_store(&region_cap, cap);
}

/* Take n mappings from the budget; 0 when it cannot spare them. */
static int budget_take(long n) {
  long have = atomic_load(&vma_budget);
  while (have >= n)
    if (atomic_compare_exchange_weak(&vma_budget, &have, have - n)) return 1;
  return 0;
}

static void budget_give(long n) { atomic_fetch_add(&vma_budget, n); }

static size_t env_size(const char *name, size_t dflt) {
  const char *s = getenv(name);
  char *end;
  unsigned long long v;
  if (!s || !*s) return dflt;
  v = strtoull(s, &end, 0);
  if (*end == 'k' || *end == 'K') v *= 1024, end++;
  else if (*end == 'm' || *end == 'M') v *= 1024 * 1024, end++;
  return *end ? dflt : (size_t)v;
}

void green__stack_set_default(size_t size) { default_size = size; }

/* Before any thread can make a pool. */
__attribute__((constructor)) static void find_page_size(void) {
  page_size = (size_t)sysconf(_SC_PAGESIZE);
}

void green__stack_pool_init(green__stack_pool_t *p) {
  budget_init();
  p->size = round_to_page(env_size("GREEN_STACK_SIZE", default_size));
  if (p->size < MIN_STACK) p->size = MIN_STACK;
  p->hot_max = env_size("GREEN_STACK_POOL", DEFAULT_HOT_MAX);
  green__list_init(&p->hot);
  green__list_init(&p->cold);
  green__list_init(&p->slabs);
  green__list_init(&p->graveyard);
  p->nhot = p->ncold = p->in_use = p->guarded = p->unguarded = p->mapped = 0;
  p->hibernated = p->hibernated_bytes = 0;
}

static void annotate_new(green__stack_t *s) {
#if GREEN_HAVE_VALGRIND
  s->valgrind_id = VALGRIND_STACK_REGISTER(s->lo, s->lo + s->size);
#else
  (void)s;
#endif
}

static void annotate_gone(green__stack_t *s) {
#if GREEN_HAVE_VALGRIND
  VALGRIND_STACK_DEREGISTER(s->valgrind_id);
#else
  (void)s;
#endif
}

/* Take up to n from the cap on guard regions: how many it allows. */
static size_t regions_take(size_t n) {
  long have = atomic_load(&region_cap), take;
  do take = have < (long)n ? have : (long)n;
  while (take > 0 && !atomic_compare_exchange_weak(&region_cap, &have, have - take));
  return take > 0 ? (size_t)take : 0;
}

/* Whether madvise can install a guard region: tried once on a touched page of its own. The
 * install must release the page too: an emulator (qemu-user) may say yes and do nothing.
 * GREEN_GUARD_REGIONS=0 says no, as a kernel before 6.13 would. */
static int probe_regions(void) {
  const char *env = getenv("GREEN_GUARD_REGIONS");
  unsigned char in_memory = 1;
  char *page;
  int works;
  if (env && strcmp(env, "0") == 0) return 0;
  page = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return 0;
  *(volatile char *)page = 1;
  works = madvise(page, page_size, MADV_GUARD_INSTALL) == 0 &&
          mincore(page, page_size, &in_memory) == 0 && !(in_memory & 1);
  munmap(page, page_size);
  return works;
}

int green__stack_guard_regions(void) {
  int works = atomic_load_explicit(&regions_work, memory_order_relaxed);
  if (works == -1) atomic_store(&regions_work, works = probe_regions());
  return works;
}

/* Guard the page below each of n stacks of a fresh mapping with guard regions, as far as
 * the cap allows. Returns 0 when the kernel lacks them. */
static int guard_regions(green__stack_t *stacks, size_t n) {
  size_t allowed, i;
  if (!green__stack_guard_regions()) return 0;
  allowed = regions_take(n);
  for (i = 0; i < allowed; i++) {
    if (madvise(stacks[i].lo - page_size, page_size, MADV_GUARD_INSTALL) != 0) break;
    stacks[i].guarded = 1;
  }
  if (i < allowed) atomic_fetch_add(&region_cap, (long)(allowed - i));
  return 1;
}

/* Guard the page below each stack of a fresh mapping: by guard regions, or by mprotect when
 * the budget allows. Returns the mappings the slab costs. */
static size_t guard(green__stack_t *stacks, size_t n) {
  size_t i, vmas = 1;
  if (guard_regions(stacks, n)) return vmas;
  if (!budget_take((long)(2 * n))) return vmas;
  for (i = 0; i < n; i++) {
    if (mprotect(stacks[i].lo - page_size, page_size, PROT_NONE) != 0) break;
    stacks[i].guarded = 1;
    vmas += 2;
  }
  budget_give((long)(2 * n) - (long)(vmas - 1));
  return vmas;
}

static void count_guard(green__stack_pool_t *p, const green__stack_t *s, int delta) {
  if (s->guarded) p->guarded += delta;
  else p->unguarded += delta;
}

static int slab_new(green__stack_pool_t *p) {
  size_t unit = page_size + p->size, i;
  struct green__slab *slab = calloc(1, sizeof *slab);
  if (!slab) return -ENOMEM;
  slab->len = unit * SLAB_STACKS;
  slab->base = mmap(NULL, slab->len, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (slab->base == MAP_FAILED) {
    free(slab);
    return -ENOMEM;
  }
  for (i = 0; i < SLAB_STACKS; i++) {
    green__stack_t *s = &slab->stacks[i];
    s->lo = slab->base + i * unit + page_size;
    s->size = p->size;
    s->color = (i % COLORS) * 64;
    s->slab = slab;
    annotate_new(s);
  }
  slab->vmas = guard(slab->stacks, SLAB_STACKS);
  for (i = 0; i < SLAB_STACKS; i++) {
    green__list_push_back(&p->cold, &slab->stacks[i].link);
    count_guard(p, &slab->stacks[i], 1);
  }
  p->ncold += SLAB_STACKS;
  p->mapped += slab->len;
  green__list_push_back(&p->slabs, &slab->link);
  return 0;
}

static void slab_free(green__stack_pool_t *p, struct green__slab *slab) {
  size_t i;
  for (i = 0; i < SLAB_STACKS; i++) {
    green__stack_t *s = &slab->stacks[i];
    if (s->hot) p->nhot--;
    else p->ncold--;
    green__list_remove(&s->link);
    count_guard(p, s, -1);
    annotate_gone(s);
  }
  munmap(slab->base, slab->len);
  p->mapped -= slab->len;
  if (slab->vmas > 1) budget_give((long)slab->vmas - 1);
  green__list_remove(&slab->link);
  free(slab);
}

/* A stack of a non-default size: a mapping of its own. */
static green__stack_t *lone_new(green__stack_pool_t *p, size_t size, int *err) {
  green__stack_t *s = calloc(1, sizeof *s);
  char *base;
  if (!s) {
    *err = -ENOMEM;
    return NULL;
  }
  base = mmap(NULL, page_size + size, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) {
    free(s);
    *err = -ENOMEM;
    return NULL;
  }
  s->lo = base + page_size;
  s->size = size;
  green__list_init(&s->link);
  annotate_new(s);
  guard(s, 1);
  count_guard(p, s, 1);
  p->mapped += page_size + size;
  return s;
}

static void lone_free(green__stack_pool_t *p, green__stack_t *s) {
  count_guard(p, s, -1);
  annotate_gone(s);
  munmap(s->lo - page_size, page_size + s->size);
  p->mapped -= page_size + s->size;
  if (s->guarded) budget_give(2);
  free(s);
}

static void unpoison(green__stack_t *s) {
#if GREEN_HAVE_ASAN
  /* A greenlet that ended left its last frames' redzones poisoned. */
  ASAN_UNPOISON_MEMORY_REGION(s->lo, s->size);
#else
  (void)s;
#endif
}

green__stack_t *green__stack_acquire(green__stack_pool_t *p, size_t size, int *err) {
  green__list_t *n;
  green__stack_t *s;
  size = size ? round_to_page(size) : p->size;
  if (size < MIN_STACK) {
    *err = -EINVAL;
    return NULL;
  }
  if (size != p->size) {
    s = lone_new(p, size, err);
    if (s) p->in_use++;
    return s;
  }
  if ((n = green__list_pop_front(&p->hot))) {
    p->nhot--;
  } else {
    if (green__list_empty(&p->cold) && (*err = slab_new(p)) < 0) return NULL;
    n = green__list_pop_front(&p->cold);
    p->ncold--;
  }
  s = green__container_of(n, green__stack_t, link);
  s->hot = 0;
  s->slab->nused++;
  p->in_use++;
  unpoison(s);
  return s;
}

void green__stack_release(green__stack_pool_t *p, green__stack_t *s) {
  green__stack_wake(p, s);
  p->in_use--;
  if (!s->slab) {
    green__list_push_back(&p->graveyard, &s->link);
    return;
  }
  s->slab->nused--;
  s->hot = 1;
  green__list_push_front(&p->hot, &s->link);
  p->nhot++;
}

void green__stack_trim(green__stack_pool_t *p) {
  green__list_t *n;
  while ((n = green__list_pop_front(&p->graveyard)))
    lone_free(p, green__container_of(n, green__stack_t, link));
  while (p->nhot > p->hot_max) {
    green__stack_t *s = green__container_of(p->hot.prev, green__stack_t, link);
    if (s->slab->nused == 0) {
      slab_free(p, s->slab);
      continue;
    }
    green__list_remove(&s->link);
    madvise(s->lo, s->size, MADV_DONTNEED);
    s->hot = 0;
    p->nhot--;
    green__list_push_back(&p->cold, &s->link);
    p->ncold++;
  }
}

void green__stack_pool_destroy(green__stack_pool_t *p) {
  p->hot_max = 0;
  green__stack_trim(p);
  while (!green__list_empty(&p->slabs))
    slab_free(p, green__container_of(p->slabs.next, struct green__slab, link));
}

/* ---- hibernation ------------------------------------------------------------------------
 * A hibernated stack's buffer: its saved stack pointer, then the live words packed. Each word
 * has a 2-bit tag, four to a byte, then the bytes it needs: zero (none), high half zero (4),
 * high half that of the stack pointer (4: the stack's and the libraries' addresses), or all 8.
 * A parked read's 704 live bytes take about 400. */

enum { PACK_ZERO, PACK_LOW, PACK_NEAR, PACK_WHOLE };

static const size_t pack_cost[4] = {0, 4, 4, 8};

static unsigned pack_tag(uint64_t w, uint64_t near) {
  if (w == 0) return PACK_ZERO;
  if (w >> 32 == 0) return PACK_LOW;
  return w >> 32 == near ? PACK_NEAR : PACK_WHOLE;
}

/* The bytes n words take packed, after their tags. */
static size_t packed_size(const uint64_t *w, size_t n, uint64_t near) {
  size_t bytes = (n + 3) / 4, i;
  for (i = 0; i < n; i++) bytes += pack_cost[pack_tag(w[i], near)];
  return bytes;
}

static void pack(unsigned char *out, const uint64_t *w, size_t n, uint64_t near) {
  unsigned char *tags = out, *p = out + (n + 3) / 4;
  size_t i;
  memset(tags, 0, (n + 3) / 4);
  for (i = 0; i < n; i++) {
    unsigned tag = pack_tag(w[i], near);
    uint32_t low = (uint32_t)w[i];
    tags[i / 4] |= (unsigned char)(tag << (i % 4 * 2));
    if (tag == PACK_WHOLE) memcpy(p, &w[i], 8);
    else if (tag != PACK_ZERO) memcpy(p, &low, 4);
    p += pack_cost[tag];
  }
}

static unsigned packed_tag(const unsigned char *in, size_t i) {
  return in[i / 4] >> (i % 4 * 2) & 3;
}

/* The bytes n packed words take, from their tags. */
static size_t packed_length(const unsigned char *in, size_t n) {
  size_t bytes = (n + 3) / 4, i;
  for (i = 0; i < n; i++) bytes += pack_cost[packed_tag(in, i)];
  return bytes;
}

static void unpack(uint64_t *w, size_t n, const unsigned char *in, uint64_t near) {
  const unsigned char *p = in + (n + 3) / 4;
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned tag = packed_tag(in, i);
    uint32_t low = 0;
    if (tag == PACK_WHOLE) memcpy(&w[i], p, 8);
    else {
      if (tag != PACK_ZERO) memcpy(&low, p, 4);
      w[i] = (tag == PACK_NEAR ? near << 32 : 0) | low;
    }
    p += pack_cost[tag];
  }
}

/* The top of a slab stack: its first frame starts there (greenlet.c). */
static char *stack_top(const green__stack_t *s) { return s->lo + s->size - s->color; }

/* The first page of a hibernated stack's guard region: the one the saved stack pointer is
 * in. The pages below hold no live frame; they are only released. */
static char *live_floor(const void *sp) {
  return (char *)((uintptr_t)sp & ~(uintptr_t)(page_size - 1));
}

int green__stack_hibernate(green__stack_pool_t *p, green__stack_t *s, void *sp) {
  size_t n = (size_t)(stack_top(s) - (char *)sp) / 8, bytes;
  uint64_t near = (uint64_t)(uintptr_t)sp >> 32;
  char **buf, *floor = live_floor(sp);
  if (!s->slab || !green__stack_guard_regions() || (uintptr_t)sp % 8) return -ENOTSUP;
  bytes = sizeof *buf + packed_size(sp, n, near);
  if (!(buf = malloc(bytes))) return -ENOMEM;
  buf[0] = sp;
  pack((unsigned char *)(buf + 1), sp, n, near);
  s->hib_buf = buf;
  __atomic_store_n(&s->hib, GREEN__STACK_HIBERNATED, __ATOMIC_RELEASE);
  /* From here a touch of the live pages faults, and the fault handler restores them. The
   * install releases them too. Guarding only those keeps it to a page or two of markers. */
  if (madvise(floor, (size_t)(s->lo + s->size - floor), MADV_GUARD_INSTALL) != 0) {
    int err = errno;
    __atomic_store_n(&s->hib, GREEN__STACK_AWAKE, __ATOMIC_RELEASE);
    s->hib_buf = NULL;
    free(buf);
    return -err;
  }
  if (floor > s->lo) madvise(s->lo, (size_t)(floor - s->lo), MADV_DONTNEED);
  p->hibernated++;
  p->hibernated_bytes += bytes;
  return 0;
}

/* The stack this thread is restoring: a signal handler that interrupts the restore and
 * touches the same stack must not wait for itself. */
static __thread green__stack_t *restoring_here;

/* Remove the guard region of hibernated s: its live pages read as zeros from here. */
static void open_pages(const green__stack_t *s) {
  char *floor = live_floor(s->hib_buf[0]);
  madvise(floor, (size_t)(s->lo + s->size - floor), MADV_GUARD_REMOVE);
}

static void set_restoring_here(green__stack_t *s) {
  __atomic_store_n(&restoring_here, s, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST); /* before the state's change, for a handler */
}

void green__stack_restore(green__stack_t *s) {
  int state = GREEN__STACK_HIBERNATED;
  if (__atomic_load_n(&s->hib, __ATOMIC_ACQUIRE) == GREEN__STACK_AWAKE) return;
  if (__atomic_load_n(&restoring_here, __ATOMIC_RELAXED) == s &&
      __atomic_load_n(&s->hib, __ATOMIC_ACQUIRE) == GREEN__STACK_RESTORING) {
    open_pages(s); /* a handler inside this thread's restore: the bytes are coming */
    return;
  }
  set_restoring_here(s);
  if (__atomic_compare_exchange_n(&s->hib, &state, GREEN__STACK_RESTORING, 0, __ATOMIC_ACQUIRE,
                                  __ATOMIC_ACQUIRE)) {
    char *sp = s->hib_buf[0];
    open_pages(s); /* zero pages from here */
    unpack((uint64_t *)sp, (size_t)(stack_top(s) - sp) / 8, (unsigned char *)(s->hib_buf + 1),
           (uint64_t)(uintptr_t)sp >> 32);
    __atomic_store_n(&s->hib, GREEN__STACK_AWAKE, __ATOMIC_RELEASE);
    set_restoring_here(NULL);
    return;
  }
  set_restoring_here(NULL);
  while (__atomic_load_n(&s->hib, __ATOMIC_ACQUIRE) != GREEN__STACK_AWAKE) green__cpu_relax();
}

void green__stack_wake(green__stack_pool_t *p, green__stack_t *s) {
  char **buf = s->hib_buf;
  uint64_t *sp;
  if (!buf) return;
  green__stack_restore(s);
  sp = (uint64_t *)buf[0];
  p->hibernated--;
  p->hibernated_bytes -= sizeof *buf + packed_length((unsigned char *)(buf + 1),
                                                     (size_t)(stack_top(s) - (char *)sp) / 8);
  s->hib_buf = NULL;
  free(buf);
}

int green__stack_fault(green__stack_pool_t *p, const void *addr) {
  const char *a = addr;
  const green__list_t *n;
  if (!p->hibernated) return 0;
  for (n = p->slabs.next; n != &p->slabs; n = n->next) {
    struct green__slab *slab = green__container_of(n, struct green__slab, link);
    green__stack_t *s;
    if (a < slab->base || a >= slab->base + slab->len) continue;
    s = &slab->stacks[(size_t)(a - slab->base) / (page_size + p->size)];
    if (a < s->lo || __atomic_load_n(&s->hib, __ATOMIC_ACQUIRE) == GREEN__STACK_AWAKE) return 0;
    green__stack_restore(s);
    return 1;
  }
  return 0;
}

/* Resident bytes of [base, base + len), page-aligned. */
static size_t resident(const char *base, size_t len) {
  unsigned char vec[256];
  size_t pages = len / page_size, done = 0, n = 0, i, chunk;
  while (done < pages) {
    chunk = pages - done < sizeof vec ? pages - done : sizeof vec;
    if (mincore((void *)(base + done * page_size), chunk * page_size, vec) != 0) break;
    for (i = 0; i < chunk; i++) n += vec[i] & 1;
    done += chunk;
  }
  return n * page_size;
}

size_t green__stack_resident(const green__stack_t *s) { return resident(s->lo, s->size); }

size_t green__stack_pool_resident(const green__stack_pool_t *p) {
  const green__list_t *n;
  size_t bytes = 0;
  for (n = p->slabs.next; n != &p->slabs; n = n->next) {
    const struct green__slab *slab = green__container_of(n, struct green__slab, link);
    bytes += resident(slab->base, slab->len);
  }
  for (n = p->graveyard.next; n != &p->graveyard; n = n->next)
    bytes += green__stack_resident(green__container_of(n, green__stack_t, link));
  return bytes;
}
