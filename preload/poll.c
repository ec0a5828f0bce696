/* SPDX-License-Identifier: MIT */
/*
 * poll, ppoll, select, pselect, epoll_wait, epoll_pwait, epoll_pwait2.
 *
 * Each is first asked of the kernel with a zero timeout. So every answer is the kernel's
 * own: revents, POLLNVAL, EBADF, the counts. The greenlet parks only when nothing is ready
 * and the caller would wait. poll and select park on one libev watcher per fd of the set,
 * stopped again when it wakes. epoll_wait parks on the epoll fd's own readability. Woken, the
 * greenlet asks the kernel again. A wake that finds nothing ready (another greenlet took it)
 * parks again. Readiness is watched for POLLIN/POLLOUT and their select equivalents. Entries
 * asking only for POLLPRI or POLLRDHUP are answered when something else wakes the call, or
 * when it times out. In epoll's level-triggered view, their readiness cannot be told apart
 * without waking the caller for data it did not ask about.
 */
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "../src/wait.h"
#include "shim.h"
#include "signal.h"

/* ---- a set of watchers the running greenlet parks on ----------------------------------- */

enum { LOCAL_WATCHERS = 16 };

typedef struct waitset {
  ev_io local[LOCAL_WATCHERS];
  ev_io *w;
  size_t n, cap;
} waitset_t;

static void waitset_init(waitset_t *ws) {
  ws->w = ws->local;
  ws->n = 0;
  ws->cap = LOCAL_WATCHERS;
}

static void waitset_free(waitset_t *ws) {
  if (ws->w != ws->local) free(ws->w);
}

static int waitset_add(waitset_t *ws, int fd, int events) {
  if (!events) return 0;
  if (ws->n == ws->cap) {
    size_t cap = ws->cap * 2;
    ev_io *w = ws->w == ws->local ? malloc(cap * sizeof *w) : realloc(ws->w, cap * sizeof *w);
    if (!w) return -ENOMEM;
    if (ws->w == ws->local) memcpy(w, ws->local, sizeof ws->local);
    ws->w = w;
    ws->cap = cap;
  }
  ev_io_init(&ws->w[ws->n], NULL, fd, events);
  ws->n++;
  return 0;
}

/* Runs on the hub's stack: the first ready fd wakes the greenlet. */
static void watcher_cb(struct ev_loop *loop, ev_io *w, int revents) {
  (void)revents;
  green__wake(ev_userdata(loop), w->data, 0);
}

/* Park on every watcher of ws until one fires, `at` passes or a signal interrupts. With
 * `mask`, the thread's signal mask is `mask` meanwhile (the p* calls). Returns park's
 * reason (0, GREEN__TIMER, -EINTR). */
static int waitset_park(struct green__hub *h, waitset_t *ws, double at, const sigset_t *mask,
                        const char *call) {
  size_t i;
  int r;
  for (i = 0; i < ws->n; i++) {
    ev_set_cb(&ws->w[i], watcher_cb);
    ws->w[i].data = h->current;
    ev_io_start(h->loop, &ws->w[i]);
  }
  r = green__shim_park(h, &(green__shim_wait_t){.kind = GREEN_WAIT_CALL, .call = call, .at = at,
                                                .loop_wait = 1, .intr = GREEN__INTR_ALWAYS,
                                                .signal_first = 1, .mask = mask});
  for (i = 0; i < ws->n; i++) ev_io_stop(h->loop, &ws->w[i]);
  return r;
}

static double at_ms(int ms) { return ms < 0 ? INFINITY : green_now() + ms * 1e-3; }

/* A timespec timeout as an absolute time: INFINITY for NULL, NAN when invalid. */
static double at_ts(const struct timespec *ts) {
  double s;
  if (!ts) return INFINITY;
  if ((s = green__ts_checked(ts)) < 0) return NAN;
  return green_now() + s;
}

/* ---- poll ------------------------------------------------------------------------------- */

static int poll_events(short ev) {
  return (ev & (POLLIN | POLLRDNORM) ? EV_READ : 0) | (ev & (POLLOUT | POLLWRNORM) ? EV_WRITE : 0);
}

/* The green poll: nothing was ready at the first ask. */
static int poll_park(struct green__hub *h, struct pollfd *fds, nfds_t n, double at,
                     const sigset_t *mask, const char *call) {
  waitset_t ws;
  nfds_t i;
  int r = 0, ready;
  waitset_init(&ws);
  for (i = 0; i < n && r == 0; i++)
    if (fds[i].fd >= 0) r = waitset_add(&ws, fds[i].fd, poll_events(fds[i].events));
  if (r < 0) {
    waitset_free(&ws);
    return green__fail(-ENOMEM);
  }
  for (;;) {
    r = waitset_park(h, &ws, at, mask, call);
    ready = green__real.poll(fds, n, 0);
    if (ready != 0 || r == GREEN__TIMER) break;
    if (r < 0) {
      ready = green__fail(r);
      break;
    }
  }
  waitset_free(&ws);
  return ready;
}

static int poll_at(struct pollfd *fds, nfds_t n, double at, const sigset_t *mask,
                   const char *call) {
  struct green__hub *h = green__shim_hub();
  int r = green__real.poll(fds, n, 0), saved = errno;
  if (r != 0 || !h || at <= green_now()) return r;
  return (int)green__shim_done(poll_park(h, fds, n, at, mask, call), saved);
}

GREEN__SHIM_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout) {
  green__real_ready();
  if (timeout == 0 || !green__shim_hub()) return green__real.poll(fds, n, timeout);
  return poll_at(fds, n, at_ms(timeout), NULL, "poll");
}

GREEN__SHIM_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen) {
  green__real_ready();
  if (fdslen / sizeof *fds < n) return green__real.__poll_chk(fds, n, timeout, fdslen);
  return poll(fds, n, timeout);
}

GREEN__SHIM_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                             const sigset_t *mask) {
  double at;
  green__real_ready();
  if (!green__shim_hub() || isnan(at = at_ts(ts)) || (ts && !ts->tv_sec && !ts->tv_nsec))
    return green__real.ppoll(fds, n, ts, mask);
  return poll_at(fds, n, at, mask, "ppoll");
}

GREEN__SHIM_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                                   const sigset_t *mask, size_t fdslen) {
  green__real_ready();
  if (fdslen / sizeof *fds < n) return green__real.__ppoll_chk(fds, n, ts, mask, fdslen);
  return ppoll(fds, n, ts, mask);
}

/* ---- select ----------------------------------------------------------------------------- */

/* The three sets as the program gave them, and the kernel's answer. */
typedef struct fdsets {
  fd_set *in[3];
  fd_set *orig[3];
  fd_set *out[3];
  fd_set local[6];
  size_t bytes;
  void *heap;
} fdsets_t;

static int fdsets_init(fdsets_t *s, int nfds, fd_set *r, fd_set *w, fd_set *e) {
  size_t slot;
  char *mem = (char *)s->local;
  int i;
  s->bytes = ((size_t)nfds + 63) / 64 * 8; /* what the kernel reads: whole longs */
  slot = s->bytes > sizeof(fd_set) ? s->bytes : sizeof(fd_set);
  s->heap = NULL;
  if (slot > sizeof(fd_set) && !(mem = s->heap = malloc(6 * slot))) return -ENOMEM;
  s->in[0] = r, s->in[1] = w, s->in[2] = e;
  for (i = 0; i < 3; i++) {
    s->orig[i] = s->in[i] ? (fd_set *)(mem + (size_t)i * slot) : NULL;
    s->out[i] = s->in[i] ? (fd_set *)(mem + (size_t)(i + 3) * slot) : NULL;
    if (s->in[i]) memcpy(s->orig[i], s->in[i], s->bytes);
  }
  return 0;
}

/* Ask the kernel without waiting; when something is ready, hand the program its sets back.
 * Until then the program's sets stay as it gave them. An error (EINTR, EBADF) leaves them
 * untouched, as Linux does. Only the final timeout clears them (select_at). */
static int select_now(fdsets_t *s, int nfds) {
  struct timeval zero = {0, 0};
  int i, r;
  for (i = 0; i < 3; i++)
    if (s->in[i]) memcpy(s->out[i], s->orig[i], s->bytes);
  r = green__real.select(nfds, s->out[0], s->out[1], s->out[2], &zero);
  if (r > 0)
    for (i = 0; i < 3; i++)
      if (s->in[i]) memcpy(s->in[i], s->out[i], s->bytes);
  return r;
}

/* The timeout's answer: nothing ready, every set cleared. */
static void select_clear(fdsets_t *s) {
  int i;
  for (i = 0; i < 3; i++)
    if (s->in[i]) memset(s->in[i], 0, s->bytes);
}

/* FD_ISSET for sets larger than fd_set (nfds > FD_SETSIZE), as the kernel reads them. */
static int in_set(const fd_set *set, int fd) {
  const unsigned long *bits = (const unsigned long *)(const void *)set;
  size_t per = 8 * sizeof *bits;
  return set && (bits[(size_t)fd / per] >> ((size_t)fd % per) & 1);
}

static int select_park(struct green__hub *h, fdsets_t *s, int nfds, double at,
                       const sigset_t *mask, const char *call) {
  waitset_t ws;
  int fd, r = 0, ready;
  waitset_init(&ws);
  for (fd = 0; fd < nfds && r == 0; fd++) {
    int ev = (in_set(s->orig[0], fd) ? EV_READ : 0) | (in_set(s->orig[1], fd) ? EV_WRITE : 0);
    /* the kernel skips fds beyond the process's fd table; epoll would refuse them */
    if (ev && green__real.fcntl(fd, F_GETFD, NULL) >= 0) r = waitset_add(&ws, fd, ev);
  }
  if (r < 0) {
    waitset_free(&ws);
    return green__fail(-ENOMEM);
  }
  for (;;) {
    r = waitset_park(h, &ws, at, mask, call);
    if ((ready = select_now(s, nfds)) != 0 || r == GREEN__TIMER) break;
    if (r < 0) {
      ready = green__fail(r);
      break;
    }
  }
  waitset_free(&ws);
  return ready;
}

static int select_at(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, double at,
                     const sigset_t *mask, const char *call) {
  struct green__hub *h = green__shim_hub();
  fdsets_t s;
  int r, saved = errno;
  if (fdsets_init(&s, nfds, rd, wr, ex) < 0) return green__fail(-ENOMEM);
  r = select_now(&s, nfds);
  if (r == 0 && h && at > green_now()) r = select_park(h, &s, nfds, at, mask, call);
  if (r == 0) select_clear(&s);
  free(s.heap);
  return (int)green__shim_done(r, saved);
}

GREEN__SHIM_EXPORT int select(int nfds, fd_set *restrict rd, fd_set *restrict wr,
                              fd_set *restrict ex, struct timeval *restrict tv) {
  double at;
  int r;
  green__real_ready();
  if (!green__shim_hub() || nfds < 0 || nfds > (1 << 20) ||
      (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000 ||
              (!tv->tv_sec && !tv->tv_usec))))
    return green__real.select(nfds, rd, wr, ex, tv);
  at = tv ? green_now() + (double)tv->tv_sec + tv->tv_usec * 1e-6 : INFINITY;
  r = select_at(nfds, rd, wr, ex, at, NULL, "select");
  if (tv) { /* Linux reports the time left */
    double left = at - green_now();
    if (left < 0 || r == 0) left = 0;
    tv->tv_sec = (time_t)left;
    tv->tv_usec = (suseconds_t)((left - (double)tv->tv_sec) * 1e6);
  }
  return r;
}

GREEN__SHIM_EXPORT int pselect(int nfds, fd_set *restrict rd, fd_set *restrict wr,
                               fd_set *restrict ex, const struct timespec *restrict ts,
                               const sigset_t *restrict mask) {
  double at;
  green__real_ready();
  if (!green__shim_hub() || nfds < 0 || nfds > (1 << 20) || isnan(at = at_ts(ts)) ||
      (ts && !ts->tv_sec && !ts->tv_nsec))
    return green__real.pselect(nfds, rd, wr, ex, ts, mask);
  return select_at(nfds, rd, wr, ex, at, mask, "pselect");
}

/* ---- epoll: park on the epoll fd itself ------------------------------------------------- */

/* The epoll fd was closed by another thread while this one waited on it. Linux lets a call
 * that started before the close go on until its timeout, with nothing to report. So a loop
 * told to stop by closing its epoll fd sees 0, not EBADF. The number may be reused by now,
 * so the rest is a plain sleep. */
static int epoll_closed(struct green__hub *h, double at, const char *call, int saved) {
  int r = green__shim_sleep_until(h, at, call);
  return r < 0 ? green__fail(r) : (int)green__shim_done(0, saved);
}

static int epoll_at(int ep, struct epoll_event *ev, int max, double at, const sigset_t *mask,
                    const char *call) {
  struct green__hub *h = green__shim_hub();
  green__shim_wait_t wait = {.fd = ep, .events = GREEN_READ, .at = at, .intr = GREEN__INTR_ALWAYS,
                             .signal_first = mask != NULL, .mask = mask, .call = call};
  int r = green__real.epoll_wait(ep, ev, max, 0), w, saved = errno;
  if (r != 0) return r;
  while (r == 0 && h && at > green_now()) {
    w = green__shim_park(h, &wait);
    if (w == -EBADF) return epoll_closed(h, at, call, saved);
    r = green__real.epoll_wait(ep, ev, max, 0);
    if (r != 0 || w == -ETIMEDOUT) break;
    if (w < 0) return green__fail(w);
  }
  return (int)green__shim_done(r, saved);
}

GREEN__SHIM_EXPORT int epoll_wait(int ep, struct epoll_event *ev, int max, int timeout) {
  green__real_ready();
  if (timeout == 0 || !green__shim_hub() || max <= 0 || !ev)
    return green__real.epoll_wait(ep, ev, max, timeout);
  return epoll_at(ep, ev, max, at_ms(timeout), NULL, "epoll_wait");
}

GREEN__SHIM_EXPORT int epoll_pwait(int ep, struct epoll_event *ev, int max, int timeout,
                                   const sigset_t *mask) {
  green__real_ready();
  if (timeout == 0 || !green__shim_hub() || max <= 0 || !ev)
    return green__real.epoll_pwait(ep, ev, max, timeout, mask);
  return epoll_at(ep, ev, max, at_ms(timeout), mask, "epoll_pwait");
}

GREEN__SHIM_EXPORT int epoll_pwait2(int ep, struct epoll_event *ev, int max,
                                    const struct timespec *ts, const sigset_t *mask) {
  double at;
  green__real_ready();
  if (!green__shim_hub() || max <= 0 || !ev || isnan(at = at_ts(ts)) ||
      (ts && !ts->tv_sec && !ts->tv_nsec))
    return green__real.epoll_pwait2(ep, ev, max, ts, mask);
  return epoll_at(ep, ev, max, at, mask, "epoll_pwait2");
}

/* For syscall() (syscall.c). */
GREEN__SHIM_HOOK_ALIAS(poll);
GREEN__SHIM_HOOK_ALIAS(ppoll);
GREEN__SHIM_HOOK_ALIAS(select);
GREEN__SHIM_HOOK_ALIAS(pselect);
GREEN__SHIM_HOOK_ALIAS(epoll_wait);
GREEN__SHIM_HOOK_ALIAS(epoll_pwait);
GREEN__SHIM_HOOK_ALIAS(epoll_pwait2);
