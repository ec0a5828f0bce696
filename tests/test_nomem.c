/* SPDX-License-Identifier: MIT */
/* Every allocation of the runtime failed in turn (src/alloc.h): each scenario runs on a fresh
 * thread, so a fresh hub, with its calling thread's 1st, 2nd, 3rd... allocation failing until
 * a run meets no failure. A run that met one must fail with ENOMEM (or degrade as documented:
 * see `degradable`), leave nothing behind (LeakSanitizer in the ASan build), and the same
 * operation must then succeed. GREEN_NOMEM_SITES=file appends each site reached to file
 * (tests/nomem_coverage.sh). */
#include <ares.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "test.h"
#include "dns_server.h"

#include "../src/alloc.h"
#include "../src/posix.h"
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef mmap

typedef int (*op_fn)(void);

typedef struct scenario {
  const char *name;
  op_fn op;
  int fresh_hub; /* 0: the hub is made before arming; 1: the op makes it */
  void (*setup)(void), (*teardown)(void); /* unarmed, around the runs of the op */
} scenario_t;

typedef struct run {
  const scenario_t *sc;
  long n;
  int result, err;
  const char *site, *fn;
} run_t;

/* The functions where a failed allocation costs a feature, not the operation. */
static const char *const degradable[] = {
    "altstack_make",        /* no alternate signal stack: an overflow is fatal, unreported */
    "green__dns_cache_new", /* answers are not cached */
    "green__dns_cache_put", /* this answer is not cached */
    "green__dns_sort",      /* addresses in the server's order, not RFC 6724's */
    "green__dns_hosts_new", /* the hosts file is read by c-ares alone (its order) */
    "load",                 /* dns_hosts.c: the hosts file's index unknown, so consulted */
    "own_socket",           /* c-ares tries again, with a socket made later */
    "c-ares",               /* c-ares's own fallbacks (one server less, a retry...) */
};

static int may_degrade(const char *fn) {
  size_t i;
  for (i = 0; i < sizeof degradable / sizeof degradable[0]; i++)
    if (strcmp(fn, degradable[i]) == 0) return 1;
  return 0;
}

static int runs_failed, runs_degraded;

static void note_site(long n, const char *site, const char *fn, const char *how) {
  const char *path = getenv("GREEN_NOMEM_SITES");
  FILE *f;
  printf("  %4ld %-8s %s %s\n", n, how, site, fn);
  if (!path || !(f = fopen(path, "a"))) return;
  fprintf(f, "%s %s %s\n", site, fn, how);
  fclose(f);
}

static void *run_thread(void *arg) {
  run_t *r = arg;
  green_hub_t *hub = NULL;
  if (!r->sc->fresh_hub) ASSERT_PTR_NE(hub = green_hub_current(), NULL);
  if (r->sc->setup) r->sc->setup();
  green__fault_alloc_at(r->n);
  errno = 0;
  r->result = r->sc->op();
  r->err = errno;
  r->site = green__fault_alloc_failed(&r->fn);
  green__fault_alloc_at(0);
  if (r->site) ASSERT_OK(r->sc->op()); /* usable after the failure */
  if (r->sc->teardown) r->sc->teardown();
  if (hub) ASSERT_OK(green_hub_release(hub));
  return NULL;
}

/* Run sc with its nth allocation failing; 0 when no allocation failed (the end). */
static int run_once(const scenario_t *sc, long n) {
  run_t r = {.sc = sc, .n = n};
  pthread_t t;
  ASSERT_EQ(pthread_create(&t, NULL, run_thread, &r), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  if (!r.site) {
    if (r.result != 0) TEST_FAIL("%s: failed without a failed allocation: %s", sc->name,
                                 strerror(r.err));
    return 0;
  }
  if (r.result == 0) {
    if (!may_degrade(r.fn)) TEST_FAIL("%s: succeeded although %s failed", sc->name, r.site);
    runs_degraded++;
    note_site(n, r.site, r.fn, "degraded");
    return 1;
  }
  /* c-ares reports some of its own failures as a server's: EAI_AGAIN */
  if (r.err != ENOMEM && !(r.err == EAGAIN && strcmp(r.fn, "c-ares") == 0))
    TEST_FAIL("%s: allocation %ld at %s: errno %d (%s), not ENOMEM", sc->name, n, r.site, r.err,
              strerror(r.err));
  runs_failed++;
  note_site(n, r.site, r.fn, "ENOMEM");
  return 1;
}

static void drive(const scenario_t *sc) {
  long n;
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("%s:\n", sc->name);
  for (n = 1; run_once(sc, n); n++) ASSERT_LT(n, 2000);
  printf("%s: %ld allocations, %d ENOMEM, %d degraded\n", sc->name, n - 1, runs_failed,
         runs_degraded);
}

/* Fail with e after running cleanup (which must not clobber it). */
#define FAIL_WITH(cleanup)                                                                    \
  do {                                                                                        \
    int e_ = errno;                                                                           \
    cleanup;                                                                                  \
    errno = e_;                                                                               \
    return -1;                                                                                \
  } while (0)

/* ---- greenlets ---- */

static void *echo(void *arg) { return arg; }

static void *nap(void *arg) {
  green_sleep(0.001);
  return arg;
}

static int op_hub(void) {
  green_hub_t *hub = green_hub_current();
  if (!hub) return -1;
  return green_hub_release(hub);
}

static int spawn_join(size_t n, size_t stack_size) {
  green_t *gs[80];
  size_t i, k;
  void *r;
  for (i = 0; i < n; i++) {
    if (!(gs[i] = green_spawn_stack(nap, (void *)(uintptr_t)(i + 1), stack_size))) {
      FAIL_WITH(for (k = 0; k < i; k++) green_join(gs[k], NULL, -1));
    }
  }
  for (i = 0; i < n; i++) {
    ASSERT_OK(green_join(gs[i], &r, -1));
    ASSERT_EQ((uintptr_t)r, i + 1);
  }
  return 0;
}

static int op_spawn(void) { return spawn_join(3, 0); }

/* Past the hub's first slab of 64 stacks. */
static int op_stack_pool_growth(void) { return spawn_join(80, 0); }

static int op_spawn_own_stack(void) { return spawn_join(2, 64 * 1024); }

static int op_join_many(void) {
  green_t *gs[4];
  int i;
  for (i = 0; i < 4; i++)
    if (!(gs[i] = green_spawn(echo, NULL))) FAIL_WITH(while (i--) green_join(gs[i], NULL, -1));
  return green_joinall(gs, 4, -1);
}

/* ---- synchronisation ---- */

static green_mutex_t mutex;
static green_cond_t cond;
static int flag;

static void *signal_later(void *arg) {
  (void)arg;
  green_mutex_lock(&mutex, -1);
  flag = 1;
  green_cond_signal(&cond);
  green_mutex_unlock(&mutex);
  return NULL;
}

static int op_mutex_cond(void) {
  green_t *g;
  ASSERT_OK(green_mutex_init(&mutex, 0));
  ASSERT_OK(green_cond_init(&cond, CLOCK_MONOTONIC));
  flag = 0;
  ASSERT_OK(green_mutex_lock(&mutex, -1));
  if (!(g = green_spawn(signal_later, NULL)))
    FAIL_WITH(green_mutex_unlock(&mutex); green_mutex_destroy(&mutex); green_cond_destroy(&cond));
  while (!flag) ASSERT_OK(green_cond_wait(&cond, &mutex, -1));
  ASSERT_OK(green_mutex_unlock(&mutex));
  ASSERT_OK(green_join(g, NULL, -1));
  ASSERT_OK(green_cond_destroy(&cond));
  return green_mutex_destroy(&mutex);
}

static green_sem_t sem;

static void *post(void *arg) {
  (void)arg;
  green_sem_post(&sem);
  return NULL;
}

static int op_sem(void) {
  green_t *g;
  ASSERT_OK(green_sem_init(&sem, 0));
  if (!(g = green_spawn(post, NULL))) FAIL_WITH(green_sem_destroy(&sem));
  ASSERT_OK(green_sem_wait(&sem, -1));
  ASSERT_OK(green_join(g, NULL, -1));
  return green_sem_destroy(&sem);
}

/* An unbounded queue grows its ring: 100 puts. */
static int op_queue(void) {
  green_queue_t *q = green_queue_new(0);
  void *item;
  int i;
  if (!q) return -1;
  for (i = 0; i < 100; i++)
    if (green_queue_put(q, (void *)(intptr_t)(i + 1), -1) < 0) FAIL_WITH(green_queue_free(q));
  for (i = 0; i < 100; i++) {
    ASSERT_OK(green_queue_get(q, &item, -1));
    ASSERT_EQ((intptr_t)item, i + 1);
  }
  return green_queue_free(q);
}

static void *send_one(void *arg) {
  green_chan_send(arg, (void *)7, -1);
  return NULL;
}

/* A channel, and a select of more cases than it keeps on its stack. */
static int op_chan_select(void) {
  green_chan_t *cs[20];
  green_select_case_t cases[20];
  green_t *g;
  int i, k, r;
  for (i = 0; i < 20; i++) {
    if (!(cs[i] = green_chan_new())) FAIL_WITH(while (i--) green_chan_free(cs[i]));
    memset(&cases[i], 0, sizeof cases[i]);
    cases[i].chan = cs[i];
    cases[i].op = GREEN_SELECT_RECV;
  }
  if (!(g = green_spawn(send_one, cs[19])))
    FAIL_WITH(for (k = 0; k < 20; k++) green_chan_free(cs[k]));
  r = green_select(cases, 20, -1);
  if (r < 0) {
    int e = errno;
    void *v;
    ASSERT_OK(green_chan_recv(cs[19], &v, -1));
    errno = e;
  }
  ASSERT_OK(green_join(g, NULL, -1));
  for (k = 0; k < 20; k++) ASSERT_OK(green_chan_free(cs[k]));
  if (r < 0) return -1;
  ASSERT_EQ(r, 19);
  ASSERT_EQ((intptr_t)cases[19].value, 7);
  return 0;
}

static void *set_future(void *arg) {
  green_future_set(arg, (void *)5);
  return NULL;
}

static void done_cb(void *arg, void *value, int err) {
  (void)value, (void)err;
  ++*(int *)arg;
}

static int op_future(void) {
  green_future_t *f = green_future_new();
  green_t *g;
  void *v;
  int called = 0;
  if (!f) return -1;
  if (green_future_add_done_callback(f, done_cb, &called) < 0) FAIL_WITH(green_future_free(f));
  if (!(g = green_spawn(set_future, f))) FAIL_WITH(green_future_free(f));
  ASSERT_OK(green_future_get(f, &v, -1));
  ASSERT_EQ((intptr_t)v, 5);
  ASSERT_OK(green_join(g, NULL, -1));
  green_yield(); /* the callbacks run soon */
  ASSERT_EQ(called, 1);
  return green_future_free(f);
}

static int op_group(void) {
  green_group_t *grp = green_group_new();
  int i;
  if (!grp) return -1;
  for (i = 0; i < 3; i++)
    if (!green_group_spawn(grp, nap, NULL))
      FAIL_WITH(green_group_join(grp, -1); green_group_free(grp));
  ASSERT_OK(green_group_join(grp, -1));
  return green_group_free(grp);
}

static int op_pool(void) {
  green_pool_t *p = green_pool_new(2);
  int i;
  if (!p) return -1;
  for (i = 0; i < 4; i++)
    if (!green_pool_spawn(p, nap, NULL, -1)) FAIL_WITH(green_pool_join(p, -1); green_pool_free(p));
  ASSERT_OK(green_pool_join(p, -1));
  return green_pool_free(p);
}

static int op_iwait(void) {
  green_t *gs[2];
  green_future_t *f = green_future_new();
  green_iwait_t *it;
  size_t index, seen = 0;
  int r;
  if (!f) return -1;
  if (!(gs[0] = green_spawn(nap, NULL))) FAIL_WITH(green_future_free(f));
  if (!(gs[1] = green_spawn(set_future, f)))
    FAIL_WITH(green_join(gs[0], NULL, -1); green_future_free(f));
  if (!(it = green_iwait_new(gs, 2, &f, 1))) {
    FAIL_WITH(green_join(gs[0], NULL, -1); green_join(gs[1], NULL, -1); green_future_free(f));
  }
  while ((r = green_iwait_next(it, &index, -1)) == 1) seen++;
  ASSERT_EQ(r, 0);
  ASSERT_EQ(seen, 3);
  ASSERT_OK(green_iwait_free(it));
  ASSERT_OK(green_join(gs[0], NULL, -1));
  ASSERT_OK(green_join(gs[1], NULL, -1));
  return green_future_free(f);
}

static void *count_to_3(green_gen_t *gen, void *arg) {
  intptr_t i;
  (void)arg;
  for (i = 1; i <= 3; i++) green_gen_yield(gen, (void *)i, NULL);
  return NULL;
}

static int op_generator(void) {
  green_gen_t *gen = green_gen_new(count_to_3, NULL);
  void *v;
  intptr_t sum = 0;
  int r;
  if (!gen) return -1;
  while ((r = green_gen_next(gen, &v)) == 1) sum += (intptr_t)v;
  if (r < 0) FAIL_WITH(green_gen_free(gen));
  ASSERT_EQ(sum, 6);
  return green_gen_free(gen);
}

/* ---- callbacks, timers, locals, threads ---- */

static void bump(void *arg) { ++*(int *)arg; }

static int op_call_soon_later(void) {
  int n = 0, i;
  green_call_t c;
  for (i = 0; i < 40; i++) { /* past a chunk of calls */
    if (!(c = i % 2 ? green_call_soon(bump, &n) : green_call_later(0.001, bump, &n))) {
      int e = errno;
      green_sleep(0.01);
      errno = e;
      return -1;
    }
  }
  ASSERT_OK(green_sleep(0.01));
  ASSERT_EQ(n, 40);
  return 0;
}

static int op_timers_sleep(void) {
  green_t *gs[3];
  int i;
  for (i = 0; i < 3; i++)
    if (!(gs[i] = green_spawn(nap, NULL))) FAIL_WITH(while (i--) green_join(gs[i], NULL, -1));
  return green_joinall(gs, 3, -1);
}

static void free_value(void *v) { free(v); }

static int op_locals(void) {
  green_local_t keys[12];
  int i, k;
  for (i = 0; i < 12; i++)
    if (green_local_create(&keys[i], free_value) < 0)
      FAIL_WITH(while (i--) green_local_delete(keys[i]));
  for (i = 0; i < 12; i++) {
    void *v = malloc(8);
    if (green_local_set(keys[i], v) < 0) {
      FAIL_WITH(free(v); for (k = 0; k < 12; k++) {
        if (k < i) free(green_local_get(keys[k]));
        green_local_delete(keys[k]);
      });
    }
  }
  for (i = 0; i < 12; i++) {
    free(green_local_get(keys[i])); /* deleting a key runs no destructor (as pthread's) */
    ASSERT_OK(green_local_delete(keys[i]));
  }
  return 0;
}

static void *nothing(void *arg) { return arg; }

static int op_threadpool(void) {
  void *r;
  if (green_threadpool_run(nothing, (void *)3, &r) < 0) return -1;
  ASSERT_EQ((intptr_t)r, 3);
  return 0;
}

typedef struct remote {
  green_hub_t *hub;
  int called;
} remote_t;

static void remote_call(void *arg) { ((remote_t *)arg)->called = 1; }

/* The allocations are the caller's: the hub's handle, then the call. */
static int op_call_threadsafe(void) {
  remote_t rm = {0};
  int i;
  if (!(rm.hub = green_hub_current())) return -1;
  if (green_call_threadsafe(rm.hub, remote_call, &rm) < 0) FAIL_WITH(green_hub_release(rm.hub));
  for (i = 0; i < 1000 && !rm.called; i++) ASSERT_OK(green_sleep(0.001));
  ASSERT_EQ(rm.called, 1);
  return green_hub_release(rm.hub);
}

static int op_watchdog(void) {
  if (green_set_watchdog(5) < 0) return -1;
  green_yield();
  return green_set_watchdog(0);
}

static int op_fd_table_growth(void) {
  int p[2], fd;
  char c = 'x';
  ASSERT_OK(pipe(p));
  fd = dup2(p[0], 3000);
  ASSERT_EQ(fd, 3000);
  close(p[0]);
  ASSERT_EQ(write(p[1], &c, 1), 1);
  if (green_read(fd, &c, 1) != 1) FAIL_WITH(close(fd); close(p[1]));
  ASSERT_OK(green_close(fd));
  close(p[1]);
  return 0;
}

static int op_dump(void) {
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC), r, e;
  ASSERT_OK(fd);
  r = green_dump(fd);
  e = errno;
  close(fd);
  errno = e;
  return r;
}

/* ---- the resolver, against tests/dns_server.h on the run's own hub ---- */

static void *cares_malloc(size_t n) {
  return green__fault_alloc_fails("c-ares", "c-ares") ? NULL : malloc(n);
}

static void *cares_realloc(void *p, size_t n) {
  return green__fault_alloc_fails("c-ares", "c-ares") ? NULL : realloc(p, n);
}

/* c-ares allocates through the seam too: libgreen's own ares_library_init comes later and
 * keeps these. */
__attribute__((constructor)) static void route_cares(void) {
  ares_library_init_mem(ARES_LIB_INIT_ALL, cares_malloc, free, cares_realloc);
}

static dns_server_t server;

static int dns_errno(int eai) {
  if (eai == EAI_MEMORY) errno = ENOMEM;
  else if (eai == EAI_AGAIN) errno = EAGAIN;
  else if (eai && eai != EAI_SYSTEM) {
    printf("  getaddrinfo: %s\n", gai_strerror(eai));
    errno = EPROTO; /* anything else is wrong here */
  }
  return eai ? -1 : 0;
}

static void dns_start_in(dns_mode_t mode) {
  char servers[32];
  dns_server_start(&server, mode, 0);
  snprintf(servers, sizeof servers, "127.0.0.1:%u", server.port);
  ASSERT_OK(setenv("GREEN_DNS_SERVERS", servers, 1)); /* read at this thread's first lookup */
  /* c-ares retries some of its own failures after a timeout: a short one */
  ASSERT_OK(setenv("RES_OPTIONS", "timeout:1 attempts:2", 1));
}

/* The DNS server runs on the run's own hub, started before the run is armed. */
static void dns_start(void) { dns_start_in(DNS_ANSWER); }

static void dns_start_cname(void) { dns_start_in(DNS_CNAME); }

static void dns_stop(void) { dns_server_stop(&server); }

static int lookup(const char *name, int family, int flags) {
  struct addrinfo h, *res = NULL;
  int r;
  memset(&h, 0, sizeof h);
  h.ai_family = family;
  h.ai_socktype = SOCK_STREAM;
  h.ai_flags = flags;
  if ((r = green_getaddrinfo(name, "80", &h, &res)) == 0) {
    ASSERT_PTR_NE(res, NULL);
    green_freeaddrinfo(res);
  }
  return dns_errno(r);
}

/* A and AAAA (sorted) with the canonical name, then IPv4 addresses mapped to IPv6. */
static int op_getaddrinfo(void) {
  if (lookup("host7.test", AF_UNSPEC, AI_CANONNAME) < 0) return -1;
  return lookup("host7.test", AF_INET6, AI_V4MAPPED | AI_ALL);
}

/* An answer through a CNAME (an alias), cached, then taken from the cache. */
static int op_cname(void) {
  if (lookup("alias.test", AF_INET, AI_CANONNAME) < 0) return -1;
  return lookup("alias.test", AF_INET, AI_CANONNAME);
}

static int op_hosts_file(void) { return lookup("localhost", AF_INET, 0); }

static int op_hostent(void) {
  struct hostent *h = green__gethostbyname("host8.test");
  if (!h) {
    if (h_errno == NETDB_INTERNAL && errno == ENOMEM) return -1;
    if (h_errno == TRY_AGAIN) return errno = EAGAIN, -1;
    TEST_FAIL("gethostbyname: h_errno %d errno %d", h_errno, errno);
  }
  return 0;
}

static int op_nameinfo(void) {
  struct sockaddr_in sin = test_loopback(80);
  char host[256], serv[32];
  return dns_errno(green_getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host,
                                     serv, sizeof serv, 0));
}

/* ---- the cases: fresh 1 when the op makes the thread's hub itself ---- */

#define RUN(name, fresh, setup, teardown) \
  drive(&(scenario_t){#name, op_##name, fresh, setup, teardown})

TEST_CASE(hub) { RUN(hub, 1, NULL, NULL); }
TEST_CASE(spawn) { RUN(spawn, 0, NULL, NULL); }
TEST_CASE(stack_pool_growth) { RUN(stack_pool_growth, 0, NULL, NULL); }
TEST_CASE(spawn_own_stack) { RUN(spawn_own_stack, 0, NULL, NULL); }
TEST_CASE(join_many) { RUN(join_many, 0, NULL, NULL); }
TEST_CASE(mutex_cond) { RUN(mutex_cond, 0, NULL, NULL); }
TEST_CASE(sem) { RUN(sem, 0, NULL, NULL); }
TEST_CASE(queue) { RUN(queue, 0, NULL, NULL); }
TEST_CASE(chan_select) { RUN(chan_select, 0, NULL, NULL); }
TEST_CASE(future) { RUN(future, 0, NULL, NULL); }
TEST_CASE(group) { RUN(group, 0, NULL, NULL); }
TEST_CASE(pool) { RUN(pool, 0, NULL, NULL); }
TEST_CASE(iwait) { RUN(iwait, 0, NULL, NULL); }
TEST_CASE(generator) { RUN(generator, 0, NULL, NULL); }
TEST_CASE(call_soon_later) { RUN(call_soon_later, 0, NULL, NULL); }
TEST_CASE(timers_sleep) { RUN(timers_sleep, 0, NULL, NULL); }
TEST_CASE(locals) { RUN(locals, 0, NULL, NULL); }
TEST_CASE(threadpool) { RUN(threadpool, 0, NULL, NULL); }
TEST_CASE(call_threadsafe) { RUN(call_threadsafe, 1, NULL, NULL); }
TEST_CASE(watchdog) { RUN(watchdog, 0, NULL, NULL); }
TEST_CASE(fd_table_growth) { RUN(fd_table_growth, 0, NULL, NULL); }
TEST_CASE(dump) { RUN(dump, 0, NULL, NULL); }
TEST_CASE(cname) { RUN(cname, 0, dns_start_cname, dns_stop); }
TEST_CASE(getaddrinfo) { RUN(getaddrinfo, 0, dns_start, dns_stop); }
TEST_CASE(hosts_file) { RUN(hosts_file, 0, dns_start, dns_stop); }
TEST_CASE(hostent) { RUN(hostent, 0, dns_start, dns_stop); }
TEST_CASE(nameinfo) { RUN(nameinfo, 0, dns_start, dns_stop); }
