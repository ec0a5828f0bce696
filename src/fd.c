/* SPDX-License-Identifier: MIT */
#include "fd.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hub.h"
#include "report.h"
#include "tick.h"
#include "wait.h"

_Static_assert(GREEN_READ == EV_READ && GREEN_WRITE == EV_WRITE, "event bits match libev's");

enum { CHUNK_SHIFT = 8, CHUNK_FDS = 1 << CHUNK_SHIFT };

static void fd_cb(struct ev_loop *loop, ev_io *w, int revents);
static void check_cb(struct ev_loop *loop, ev_timer *w, int revents);

void green__fdtab_init(green__fdtab_t *t) {
  t->chunks = NULL;
  t->nchunks = 0;
  t->active = 0;
  ev_init(&t->check, check_cb);
}

void green__fdtab_destroy(struct green__hub *h) {
  size_t i;
  if (ev_is_active(&h->fds.check)) ev_timer_stop(h->loop, &h->fds.check);
  for (i = 0; i < h->fds.nchunks; i++) free(h->fds.chunks[i]);
  free(h->fds.chunks);
  green__fdtab_init(&h->fds);
}

static int grow(green__fdtab_t *t, size_t idx) {
  size_t n = t->nchunks ? t->nchunks : 4, i;
  green__fd_t **chunks;
  while (n <= idx) n *= 2;
  if (!(chunks = realloc(t->chunks, n * sizeof *chunks))) return -ENOMEM;
  for (i = t->nchunks; i < n; i++) chunks[i] = NULL;
  t->chunks = chunks;
  t->nchunks = n;
  return 0;
}

static green__fd_t *chunk_new(green__fdtab_t *t, size_t idx) {
  green__fd_t *c = calloc(CHUNK_FDS, sizeof *c);
  size_t i;
  if (!c) return NULL;
  for (i = 0; i < CHUNK_FDS; i++) {
    ev_init(&c[i].io, fd_cb);
    green__list_init(&c[i].waiters);
  }
  return t->chunks[idx] = c;
}

green__fd_t *green__fd_get(struct green__hub *h, int fd, int *err) {
  green__fdtab_t *t = &h->fds;
  size_t idx = (size_t)fd >> CHUNK_SHIFT;
  if (green__likely(fd >= 0 && idx < t->nchunks && t->chunks[idx]))
    return &t->chunks[idx][fd & (CHUNK_FDS - 1)];
  /* Grow the table only for fds that exist: a wild fd number must not cost memory. */
  if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
    *err = -EBADF;
    return NULL;
  }
  if ((idx >= t->nchunks && grow(t, idx) < 0) || !chunk_new(t, idx)) {
    *err = -ENOMEM;
    return NULL;
  }
  return &t->chunks[idx][fd & (CHUNK_FDS - 1)];
}

static void remember_file(struct green__hub *h, green__fd_t *f, int fd);

static void watch(struct green__hub *h, green__fd_t *f, int fd, int events) {
  int active = ev_is_active(&f->io);
  if (active) ev_io_stop(h->loop, &f->io);
  else h->fds.active++;
  if (f->flags & GREEN__FD_IOSET) {
    ev_io_modify(&f->io, events); /* same file: libev skips re-adding it to epoll */
  } else {
    ev_io_set(&f->io, fd, events);
    f->flags |= GREEN__FD_IOSET;
    remember_file(h, f, fd);
  }
  ev_io_start(h->loop, &f->io);
}

static void unwatch(struct green__hub *h, green__fd_t *f) {
  if (ev_is_active(&f->io)) ev_io_stop(h->loop, &f->io);
  h->fds.active--;
}

static int watched_events(const green__fd_t *f) {
  return ev_is_active(&f->io) ? f->io.events & (EV_READ | EV_WRITE) : 0;
}

static void wake_all(struct green__hub *h, green__fd_t *f, int reason) {
  green__list_t *n;
  while ((n = f->waiters.next) != &f->waiters)
    green__wake(h, green__container_of(n, green_t, wait_link), reason);
}

/* Runs on the hub's stack. Wakes the waiters an event is for. In an idle poll, readiness nobody
 * waited for is dropped from the watcher: level-triggered epoll would report it on every poll.
 * In a fairness poll its greenlet may be woken but not yet run, so it stays. Readiness that
 * found waiters keeps the watcher as it is for their next wait. */
static void fd_cb(struct ev_loop *loop, ev_io *w, int revents) {
  struct green__hub *h = ev_userdata(loop);
  green__fd_t *f = green__container_of(w, green__fd_t, io);
  green__list_t *n, *next;
  int wanted = 0, unwanted;
  if (revents & EV_ERROR) { /* libev could not watch the fd (closed behind our back) */
    h->fds.active--;
    f->flags &= ~GREEN__FD_IOSET;
    wake_all(h, f, -EBADF);
    return;
  }
  if (revents & EV_READ) f->flags &= ~GREEN__FD_RD_UNREADY;
  if (revents & EV_WRITE) f->flags &= ~GREEN__FD_WR_UNREADY;
  for (n = f->waiters.next; n != &f->waiters; n = next) {
    green_t *g = green__container_of(n, green_t, wait_link);
    next = n->next;
    wanted |= g->wait_events;
    if (g->wait_events & revents) {
      g->ready_events = g->wait_events & revents;
      green__wake(h, g, 0);
    }
  }
  unwanted = revents & (EV_READ | EV_WRITE) & ~wanted;
  if (unwanted && h->idle_poll) {
    int keep = watched_events(f) & ~unwanted;
    if (keep) watch(h, f, f->io.fd, keep);
    else unwatch(h, f);
  }
}

static void start_checks(struct green__hub *h);

int green__fd_wait(struct green__hub *h, green__fd_t *f, int fd, int events, double at) {
  green_t *g = h->current;
  int have = watched_events(f), r;
  g->wait_events = events;
  g->ready_events = 0;
  green__list_push_back(&f->waiters, &g->wait_link);
  if ((have | events) != have) watch(h, f, fd, have | events);
  if (!ev_is_active(&h->fds.check)) start_checks(h);
  r = green__park(h, GREEN_WAIT_FD, (const void *)(intptr_t)fd, at, 1);
  if (r == GREEN__TIMER) return -ETIMEDOUT;
  return r == 0 ? g->ready_events : r;
}

static void forget(struct green__hub *h, green__fd_t *f, unsigned flags) {
  if (ev_is_active(&f->io)) unwatch(h, f);
  f->flags = (uint8_t)flags;
  f->ino = f->dev = 0;
}

void green__fd_reset(struct green__hub *h, int fd, unsigned flags) {
  int err;
  green__fd_t *f = green__fd_get(h, fd, &err);
  if (!f) return;
  wake_all(h, f, -EBADF);
  forget(h, f, flags);
}

/* ---- fds closed behind the hub's back ------------------------------------------------------
 * A plain close() drops the file from epoll without a word. Its waiters would sleep forever.
 * The watcher, still started for libev, would never report a new file that gets the number.
 * While the watchdog is on, the hub remembers which file each watcher was bound to. That costs
 * an fstat per binding, none per I/O. A timer at the watchdog's period looks at every fd a
 * greenlet has waited on for a whole period (an fstat each).
 *
 * A closed fd's waiters are reported and woken with EBADF. Compare close(2): on some systems, a
 * call blocked on an fd that another thread closes fails at once. On Linux the call holds the
 * open file description, which stays open until the call completes. Nothing holds it here, so
 * the waiter could only sleep forever. EBADF is what green_close gives, and what a call made
 * after the close gets. When the number names another file, waiters that parked before the
 * last look found the old file get EBADF. Later ones (perhaps waiting for the new file)
 * wake to try again, and the watcher is bound anew. */

static void remember_file(struct green__hub *h, green__fd_t *f, int fd) {
  struct stat st;
  f->ino = f->dev = 0;
  if (green__tick_watchdog_period() <= 0 || fstat(fd, &st) < 0) return;
  f->dev = (uint64_t)st.st_dev;
  f->ino = (uint64_t)st.st_ino;
  f->seen_at = h->last_poll;
}

static void start_checks(struct green__hub *h) {
  double period = green__tick_watchdog_period();
  if (period <= 0) return;
  ev_timer_set(&h->fds.check, period, period);
  ev_timer_start(h->loop, &h->fds.check);
}

static void report_waiter(green_t *g, int fd, const char *what) {
  green__report_t r;
  green__report_enter();
  green__report_init(&r, 2);
  green__report_put(&r, "%s: ", green__report_prefix());
  green__report_name(&r, g);
  green__report_put(&r, " waits on fd %d, which was closed without green_close%s\n", fd, what);
  green__report_flush(&r);
  green__report_leave();
}

static void wake_closed(struct green__hub *h, green__fd_t *f, int fd, int reused) {
  green__list_t *n;
  while ((n = f->waiters.next) != &f->waiters) {
    green_t *g = green__container_of(n, green_t, wait_link);
    if (!reused || g->wait_since < f->seen_at) {
      report_waiter(g, fd, reused ? " (the number names another file now): EBADF" : ": EBADF");
      green__wake(h, g, -EBADF);
    } else {
      report_waiter(g, fd, " (the number names another file now): woken to try again");
      g->ready_events = g->wait_events;
      green__wake(h, g, 0);
    }
  }
  forget(h, f, 0);
}

static void look_at(struct green__hub *h, green__fd_t *f, int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) {
    if (errno == EBADF) wake_closed(h, f, fd, 0);
    return;
  }
  if (!f->ino) return; /* bound before the watchdog was on: nothing to compare with */
  if ((uint64_t)st.st_dev == f->dev && (uint64_t)st.st_ino == f->ino) f->seen_at = h->last_poll;
  else wake_closed(h, f, fd, 1);
}

/* Whether f's first waiter (the one parked longest) has waited for a whole period. */
static int waited_long(const green__fd_t *f, double since) {
  const green_t *g = green__container_of(f->waiters.next, green_t, wait_link);
  return g->wait_since <= since;
}

/* Runs on the hub's stack, once a watchdog period while greenlets wait on fds. Only fds
 * waited on for a whole period are looked at: a busy server's fds cost nothing. */
static void check_cb(struct ev_loop *loop, ev_timer *w, int revents) {
  struct green__hub *h = ev_userdata(loop);
  green__fdtab_t *t = &h->fds;
  double period = green__tick_watchdog_period(), since = h->last_poll - period;
  size_t c, i;
  int waiting = 0;
  (void)revents;
  for (c = 0; c < t->nchunks; c++)
    for (i = 0; t->chunks[c] && i < CHUNK_FDS; i++) {
      green__fd_t *f = &t->chunks[c][i];
      if (green__list_empty(&f->waiters)) continue;
      waiting = 1;
      if (waited_long(f, since)) look_at(h, f, (int)(c * CHUNK_FDS + i));
    }
  if (!waiting || period <= 0) {
    ev_timer_stop(loop, w);
  } else if (period != w->repeat) {
    w->repeat = period;
    ev_timer_again(loop, w);
  }
}

int green__io_begin(struct green__hub **hp, int fd, green__fd_t **fp) {
  struct green__hub *h = green__hub_get();
  green__fd_t *f;
  int err;
  if (!h) return -errno;
  if ((err = green__may_block(h->current))) return err;
  if (!(f = green__fd_get(h, fd, &err))) return err;
  *hp = h;
  *fp = f;
  return 0;
}

int green_wait_fd(int fd, int events, double timeout) {
  struct green__hub *h = green__hub_get();
  green__fd_t *f;
  double at;
  int r;
  if (!h) return -1;
  if (!events || (events & ~(GREEN_READ | GREEN_WRITE))) return green__fail(-EINVAL);
  if ((r = green__timeout_to_at(timeout, &at)) < 0) return green__fail(r);
  if (!(f = green__fd_get(h, fd, &r))) return green__fail(r);
  r = green__fd_wait(h, f, fd, events, at);
  return r > 0 ? r : green__fail(r);
}

void green__fd_forget(struct green__hub *h, int fd) {
  green__fdtab_t *t = &h->fds;
  size_t idx = (size_t)fd >> CHUNK_SHIFT;
  if (fd >= 0 && idx < t->nchunks && t->chunks[idx]) green__fd_reset(h, fd, 0);
}

int green_close(int fd) {
  struct green__hub *h = green__hub_get();
  if (h) green__fd_forget(h, fd);
  return close(fd);
}
