/* SPDX-License-Identifier: MIT */
/*
 * Listeners: one address accepted on by several hubs. Each hub that accepts gets its own
 * socket in the address's SO_REUSEPORT group. The socket is made the first time it accepts.
 * Every hub has its own accept queue. A connection wakes only the hub whose queue it joins.
 *
 * The first socket is bound before SO_REUSEPORT is set. Its bind conflicts with any socket
 * already on the address, as a plain bind does (EADDRINUSE). A second listener on the same
 * address then fails the same way. Set before listen, the option still makes the group the
 * later sockets join.
 *
 * This was measured against one shared socket watched by an epoll set per hub with
 * EPOLLEXCLUSIVE (docs/investigations.md, "The listener"). Both gave the same connections/s. But
 * there the hub that wakes accepts the whole burst. So long-lived connections spread
 * unevenly: up to 76% on one of 2 hubs, against at most 55% here.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hub.h"
#include "io.h"

typedef struct listen_hub {
  green_hub_t *hub;
  int fd; /* this hub's socket */
} listen_hub_t;

struct green_listener {
  pthread_mutex_t lock; /* guards hubs and n: hubs join from their own threads */
  struct sockaddr_storage addr; /* the bound address, the port the kernel chose included */
  socklen_t addrlen;
  int backlog;
  size_t n, cap;
  listen_hub_t *hubs;
};

static int set_opt(int fd, int opt) {
  int one = 1;
  return setsockopt(fd, SOL_SOCKET, opt, &one, sizeof one);
}

static int add_hub(green_listener_t *l, green_hub_t *hub, int fd) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 4;
    listen_hub_t *hubs = realloc(l->hubs, cap * sizeof *hubs);
    if (!hubs) return -1;
    l->hubs = hubs;
    l->cap = cap;
  }
  l->hubs[l->n++] = (listen_hub_t){.hub = hub, .fd = fd};
  return 0;
}

/* A listening socket of the caller's hub on addr. SO_REUSEPORT is set after the bind for the
 * first socket (plain bind errors), before it for the others (they join the group). */
static int listening_socket(const struct sockaddr *addr, socklen_t len, int backlog,
                            int first) {
  int fd = green_socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), e;
  if (fd < 0) return -1;
  if (set_opt(fd, SO_REUSEADDR) == 0 && (first || set_opt(fd, SO_REUSEPORT) == 0) &&
      bind(fd, addr, len) == 0 && (!first || set_opt(fd, SO_REUSEPORT) == 0) &&
      listen(fd, backlog) == 0)
    return fd;
  e = errno;
  green_close(fd);
  errno = e;
  return -1;
}

static void free_listener(green_listener_t *l) {
  pthread_mutex_destroy(&l->lock);
  free(l->hubs);
  free(l);
}

green_listener_t *green_listen(const struct sockaddr *addr, socklen_t len, int backlog) {
  green_listener_t *l;
  green_hub_t *self = green_hub_self();
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
  if ((fd = listening_socket(addr, len, backlog, 1)) < 0 ||
      getsockname(fd, (struct sockaddr *)&l->addr, &l->addrlen) < 0 || add_hub(l, self, fd) < 0) {
    e = errno;
    if (fd >= 0) green_close(fd);
    free_listener(l);
    errno = e;
    return NULL;
  }
  return l;
}

/* The caller's hub's socket, made on its first call. */
static int hub_socket(green_listener_t *l) {
  green_hub_t *self = green_hub_self();
  size_t i;
  int fd = -1;
  if (!self) return -1;
  pthread_mutex_lock(&l->lock);
  for (i = 0; i < l->n && l->hubs[i].hub != self; i++) {
  }
  if (i < l->n)
    fd = l->hubs[i].fd;
  else if ((fd = listening_socket((struct sockaddr *)&l->addr, l->addrlen, l->backlog, 0)) >= 0 &&
           add_hub(l, self, fd) < 0) {
    green_close(fd);
    errno = ENOMEM;
    fd = -1;
  }
  pthread_mutex_unlock(&l->lock);
  return fd;
}

int green_listen_accept(green_listener_t *l, struct sockaddr *addr, socklen_t *len) {
  int fd;
  if (!l) return green__fail(-EINVAL);
  if ((fd = hub_socket(l)) < 0) return -1;
  return green_accept4(fd, addr, len, SOCK_CLOEXEC);
}

int green_listen_addr(green_listener_t *l, struct sockaddr *addr, socklen_t *len) {
  if (!l || !addr || !len) return green__fail(-EINVAL);
  memcpy(addr, &l->addr, *len < l->addrlen ? *len : l->addrlen);
  *len = l->addrlen;
  return 0;
}

static void *close_on_hub(void *fd) {
  green_close((int)(intptr_t)fd);
  return NULL;
}

/* Each hub's socket is closed on its hub, so that its greenlets parked in accept wake. The
 * closing greenlet gets the fd by value: a killed caller's join fails at once, and the
 * listener is freed while the close may still be to come. */
int green_listen_close(green_listener_t *l) {
  green_hub_t *self = green_hub_self();
  size_t i;
  if (!l) return green__fail(-EINVAL);
  if (!self) return -1;
  for (i = 0; i < l->n; i++) {
    listen_hub_t *e = &l->hubs[i];
    void *fd = (void *)(intptr_t)e->fd;
    green_t *g = e->hub == self ? NULL : green_spawn_on(e->hub, close_on_hub, fd);
    if (!g) close_on_hub(fd); /* ours, or a hub whose thread has exited */
    else if (green_join(g, NULL, -1) != 0) green_detach(g);
  }
  free_listener(l);
  return 0;
}
