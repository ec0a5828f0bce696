/* SPDX-License-Identifier: MIT */
/*
 * Listeners: one address accepted on by several hubs. Each hub that accepts gets its own
 * socket in the address's SO_REUSEPORT group, made the first time it accepts, so every hub
 * has its own accept queue and no hub wakes for another's connection.
 *
 * The first socket is bound before SO_REUSEPORT is set: the bind conflicts with any socket
 * already on the address, as a plain bind does (EADDRINUSE), and a second listener on the
 * same address fails the same way. Set before listen, the option still makes the group
 * the later sockets join.
 *
 * GREEN_LISTEN_EXCLUSIVE=1 in the environment (measurement only) makes one shared socket
 * instead, watched by an epoll set per hub with EPOLLEXCLUSIVE: a connection wakes one hub.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hub.h"
#include "io.h"

typedef struct listen_hub {
  green_hub_t *hub;
  int fd;   /* this hub's socket; -1 with EPOLLEXCLUSIVE */
  int epfd; /* EPOLLEXCLUSIVE only: this hub's epoll set watching the shared socket */
} listen_hub_t;

struct green_listener {
  pthread_mutex_t lock; /* guards hubs and n: hubs join from their own threads */
  struct sockaddr_storage addr; /* the bound address, the port the kernel chose included */
  socklen_t addrlen;
  int backlog;
  int exclusive;
  int shared; /* EPOLLEXCLUSIVE only: the one socket, of the hub that made the listener */
  size_t n, cap;
  listen_hub_t *hubs;
};

static int set_opt(int fd, int opt) {
  int one = 1;
  return setsockopt(fd, SOL_SOCKET, opt, &one, sizeof one);
}

static int add_hub(green_listener_t *l, green_hub_t *hub, int fd, int epfd) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 4;
    listen_hub_t *hubs = realloc(l->hubs, cap * sizeof *hubs);
    if (!hubs) return -1;
    l->hubs = hubs;
    l->cap = cap;
  }
  l->hubs[l->n++] = (listen_hub_t){.hub = hub, .fd = fd, .epfd = epfd};
  return 0;
}

/* The first socket: bound without SO_REUSEPORT, so that bind's errors are a plain bind's. */
static int first_socket(green_listener_t *l, const struct sockaddr *addr, socklen_t len) {
  int fd = green_socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), e;
  if (fd < 0) return -1;
  if (set_opt(fd, SO_REUSEADDR) == 0 && bind(fd, addr, len) == 0 &&
      (l->exclusive || set_opt(fd, SO_REUSEPORT) == 0) && listen(fd, l->backlog) == 0 &&
      getsockname(fd, (struct sockaddr *)&l->addr, &l->addrlen) == 0)
    return fd;
  e = errno;
  green_close(fd);
  errno = e;
  return -1;
}

green_listener_t *green_listen(const struct sockaddr *addr, socklen_t len, int backlog) {
  green_listener_t *l;
  green_hub_t *self = green_hub_self();
  const char *mode = getenv("GREEN_LISTEN_EXCLUSIVE");
  int fd, e;
  if (!self) return NULL;
  if (!addr || len < sizeof(sa_family_t) || len > sizeof l->addr) {
    errno = EINVAL;
    return NULL;
  }
  if (!(l = calloc(1, sizeof *l))) return NULL;
  pthread_mutex_init(&l->lock, NULL);
  l->addrlen = sizeof l->addr;
  l->backlog = backlog;
  l->exclusive = mode && *mode == '1';
  if ((fd = first_socket(l, addr, len)) < 0 ||
      (l->exclusive ? (l->shared = fd, 0) : add_hub(l, self, fd, -1)) < 0) {
    e = errno;
    if (fd >= 0) green_close(fd);
    pthread_mutex_destroy(&l->lock);
    free(l);
    errno = e;
    return NULL;
  }
  return l;
}

/* A socket of the caller's hub in the group, or an epoll set on the shared socket. */
static int join_hub(green_listener_t *l, listen_hub_t *out) {
  int fd, epfd = -1, e;
  if (l->exclusive) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    fd = -1;
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) return -1;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, l->shared, &ev) < 0) {
      e = errno;
      close(epfd);
      errno = e;
      return -1;
    }
  } else {
    fd = green_socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (set_opt(fd, SO_REUSEADDR) < 0 || set_opt(fd, SO_REUSEPORT) < 0 ||
        bind(fd, (struct sockaddr *)&l->addr, l->addrlen) < 0 || listen(fd, l->backlog) < 0) {
      e = errno;
      green_close(fd);
      errno = e;
      return -1;
    }
  }
  *out = (listen_hub_t){.hub = green_hub_self(), .fd = fd, .epfd = epfd};
  return 0;
}

/* The caller's hub's entry, made on its first call. */
static int hub_entry(green_listener_t *l, listen_hub_t *out) {
  green_hub_t *self = green_hub_self();
  size_t i;
  int r = 0;
  if (!self) return -1;
  pthread_mutex_lock(&l->lock);
  for (i = 0; i < l->n && l->hubs[i].hub != self; i++) {
  }
  if (i < l->n)
    *out = l->hubs[i];
  else if ((r = join_hub(l, out)) == 0 && add_hub(l, out->hub, out->fd, out->epfd) < 0) {
    if (out->epfd >= 0) close(out->epfd);
    else green_close(out->fd);
    r = -1;
  }
  pthread_mutex_unlock(&l->lock);
  return r;
}

static int accept_exclusive(int fd, int epfd, struct sockaddr *addr, socklen_t *len) {
  struct epoll_event ev;
  for (;;) {
    int c = accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      green__fd_reset(green__hub_get(), c, GREEN__FD_WAITABLE | GREEN__FD_SOCKET);
      return c;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) return -1;
    if (green_wait_fd(epfd, GREEN_READ, -1) < 0) return -1;
    (void)epoll_wait(epfd, &ev, 1, 0);
  }
}

int green_listen_accept(green_listener_t *l, struct sockaddr *addr, socklen_t *len) {
  listen_hub_t e;
  if (!l) return green__fail(-EINVAL);
  if (hub_entry(l, &e) < 0) return -1;
  if (l->exclusive) return accept_exclusive(l->shared, e.epfd, addr, len);
  return green_accept4(e.fd, addr, len, SOCK_CLOEXEC);
}

int green_listen_addr(green_listener_t *l, struct sockaddr *addr, socklen_t *len) {
  if (!l || !addr || !len) return green__fail(-EINVAL);
  memcpy(addr, &l->addr, *len < l->addrlen ? *len : l->addrlen);
  *len = l->addrlen;
  return 0;
}

static void *close_on_hub(void *arg) {
  listen_hub_t *e = arg;
  if (e->epfd >= 0) green_close(e->epfd);
  if (e->fd >= 0) green_close(e->fd);
  return NULL;
}

/* Each hub's socket is closed on its hub, so that its greenlets parked in accept wake. */
int green_listen_close(green_listener_t *l) {
  green_hub_t *self = green_hub_self();
  size_t i;
  if (!l) return green__fail(-EINVAL);
  if (!self) return -1;
  for (i = l->n; i-- > 0;) {
    listen_hub_t *e = &l->hubs[i];
    green_t *g = e->hub == self ? NULL : green_spawn_on(e->hub, close_on_hub, e);
    if (g) green_join(g, NULL, -1);
    else close_on_hub(e);
  }
  if (l->exclusive) green_close(l->shared); /* last, once no epoll set watches it */
  pthread_mutex_destroy(&l->lock);
  free(l->hubs);
  free(l);
  return 0;
}
