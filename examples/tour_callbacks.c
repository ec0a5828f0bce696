/* SPDX-License-Identifier: MIT */
/*
 * tour_callbacks: step 4 of the tour (docs/guide.md). One thread, one libev loop, and no
 * call that waits. Each page is a small state machine: connect without waiting, then a
 * callback when the socket is writable (send the request), then one each time it is readable
 * (take what came). The loop runs every page's callbacks as their sockets get ready. The
 * fetch that was five lines of blocking calls is now split over callbacks, and the state it
 * kept in local variables lives in a struct.
 *
 *   tour_callbacks PORT [PAGES [DELAY_MS]]
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>

#include "tour.h"

static tour_t t;

typedef struct fetch {
  ev_io io; /* first: the callbacks get &io and cast it back */
  page_t *page;
  char answer[4096]; /* what came so far */
  size_t n;
} fetch_t;

static void done(struct ev_loop *loop, fetch_t *f) {
  ev_io_stop(loop, &f->io);
  close(f->io.fd);
  free(f);
}

/* The socket is readable: take what came; at the end (0), the page is complete. */
static void on_readable(struct ev_loop *loop, ev_io *io, int revents) {
  fetch_t *f = (fetch_t *)io;
  ssize_t r = read(io->fd, f->answer + f->n, sizeof f->answer - f->n);
  (void)revents;
  if (r < 0 && errno == EAGAIN) return; /* nothing after all: wait for the next callback */
  if (r > 0 && (f->n += (size_t)r) < sizeof f->answer) return;
  tour_answer(f->page, f->answer, f->n);
  done(loop, f);
}

/* The socket is writable: the connect has ended. Send the request, then wait to read. */
static void on_writable(struct ev_loop *loop, ev_io *io, int revents) {
  fetch_t *f = (fetch_t *)io;
  const char *rq = f->page->request;
  int err = 0;
  socklen_t len = sizeof err;
  (void)revents;
  getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err || write(io->fd, rq, strlen(rq)) != (ssize_t)strlen(rq)) { /* small: fits at once */
    done(loop, f);
    return;
  }
  ev_io_stop(loop, io);
  ev_io_init(io, on_readable, io->fd, EV_READ);
  ev_io_start(loop, io);
}

static void start(struct ev_loop *loop, page_t *page) {
  fetch_t *f = calloc(1, sizeof *f);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (!f || fd < 0 ||
      (connect(fd, (const struct sockaddr *)&t.addr, sizeof t.addr) < 0 && errno != EINPROGRESS)) {
    if (fd >= 0) close(fd);
    free(f);
    return;
  }
  f->page = page;
  ev_io_init(&f->io, on_writable, fd, EV_WRITE);
  ev_io_start(loop, &f->io);
}

int main(int argc, char **argv) {
  struct ev_loop *loop = EV_DEFAULT;
  tour_start(&t, argc, argv);
  for (int i = 0; i < t.pages; i++) start(loop, &t.page[i]);
  ev_run(loop, 0); /* returns once no watcher is active: every page is done */
  return tour_finish(&t, "callbacks");
}
