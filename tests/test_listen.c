/* SPDX-License-Identifier: MIT */
/*
 * green_listen: two hubs accept on one address (each on its own SO_REUSEPORT socket), bind's
 * and listen's errors as a plain bind's (a second listener on the address included), and
 * closing a listener while greenlets of both hubs are parked in accept.
 */
#include <stdint.h>

#include "test.h"

static green_listener_t *loopback_listener(struct sockaddr_in *addr) {
  socklen_t len = sizeof *addr;
  struct sockaddr_in any = test_loopback(0);
  green_listener_t *l = green_listen((struct sockaddr *)&any, sizeof any, 128);
  ASSERT_TRUE(l != NULL);
  ASSERT_OK(green_listen_addr(l, (struct sockaddr *)addr, &len));
  ASSERT_EQ(len, sizeof *addr);
  ASSERT_NE(addr->sin_port, 0);
  return l;
}

/* Accepts until the listener is closed; answers each connection with its hub's number. */
typedef struct acceptor {
  green_listener_t *l;
  char hub;
  long accepted;
  int err; /* errno of the accept that ended the loop */
} acceptor_t;

static void *accept_loop(void *arg) {
  acceptor_t *a = arg;
  int fd;
  while ((fd = green_listen_accept(a->l, NULL, NULL)) >= 0) {
    a->accepted++;
    ASSERT_EQ(green_write(fd, &a->hub, 1), 1);
    ASSERT_OK(green_close(fd));
  }
  a->err = errno;
  return NULL;
}

/* Connects, returns the number of the hub that answered. */
static int which_hub(const struct sockaddr_in *addr) {
  int fd = green_socket(AF_INET, SOCK_STREAM, 0);
  char c = 0;
  ASSERT_OK(fd);
  ASSERT_OK(green_connect(fd, (const struct sockaddr *)addr, sizeof *addr));
  ASSERT_EQ(green_read(fd, &c, 1), 1);
  ASSERT_OK(green_close(fd));
  return c;
}

/* Both hubs accept: connections (up to 2,000) until each hub has answered 20. */
TEST_CASE(two_hubs_accept) {
  struct sockaddr_in addr;
  green_listener_t *l = loopback_listener(&addr);
  green_hub_t *hubs[2];
  acceptor_t a[2] = {{l, 0, 0, 0}, {l, 1, 0, 0}};
  green_t *g[2];
  long seen[2] = {0, 0}, i;
  int h;
  ASSERT_OK(green_hubs_start(2, hubs));
  for (h = 0; h < 2; h++) ASSERT_TRUE((g[h] = green_spawn_on(hubs[h], accept_loop, &a[h])) != NULL);
  for (i = 0; i < 2000 && (seen[0] < 20 || seen[1] < 20); i++) {
    h = which_hub(&addr);
    ASSERT_RANGE(h, 0, 2);
    seen[h]++;
  }
  ASSERT_GE(seen[0], 20);
  ASSERT_GE(seen[1], 20);
  ASSERT_OK(green_listen_close(l));
  for (h = 0; h < 2; h++) {
    ASSERT_OK(green_join(g[h], NULL, -1));
    ASSERT_EQ(a[h].err, EBADF);
    ASSERT_EQ(a[h].accepted, seen[h]);
  }
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
}

/* The address is taken by a plain listener, or by another green_listen: EADDRINUSE, as
 * bind. A connection still reaches the first listener only. */
TEST_CASE(address_in_use) {
  struct sockaddr_in addr, got;
  socklen_t len = sizeof got;
  green_listener_t *l = loopback_listener(&addr);
  int plain = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  errno = 0;
  ASSERT_TRUE(green_listen((struct sockaddr *)&addr, sizeof addr, 16) == NULL);
  ASSERT_EQ(errno, EADDRINUSE);
  ASSERT_OK(green_listen_close(l));

  ASSERT_OK(plain);
  ASSERT_OK(setsockopt(plain, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one));
  addr = test_loopback(0);
  ASSERT_OK(bind(plain, (struct sockaddr *)&addr, sizeof addr));
  ASSERT_OK(getsockname(plain, (struct sockaddr *)&addr, &len));
  ASSERT_OK(listen(plain, 16));
  errno = 0;
  ASSERT_TRUE(green_listen((struct sockaddr *)&addr, sizeof addr, 16) == NULL);
  ASSERT_EQ(errno, EADDRINUSE);
  ASSERT_OK(close(plain));
  /* the address is free again: a listener takes it */
  ASSERT_TRUE((l = green_listen((struct sockaddr *)&addr, sizeof addr, 16)) != NULL);
  len = sizeof got;
  ASSERT_OK(green_listen_addr(l, (struct sockaddr *)&got, &len));
  ASSERT_EQ(got.sin_port, addr.sin_port);
  ASSERT_OK(green_listen_close(l));
}

/* Bad arguments: EINVAL; an address this host does not have: EADDRNOTAVAIL, as bind. */
TEST_CASE(errors) {
  struct sockaddr_in addr = test_loopback(0), out;
  socklen_t len = sizeof out;
  errno = 0;
  ASSERT_TRUE(green_listen(NULL, sizeof addr, 16) == NULL);
  ASSERT_EQ(errno, EINVAL);
  errno = 0;
  ASSERT_TRUE(green_listen((struct sockaddr *)&addr, 4, 16) == NULL);
  ASSERT_EQ(errno, EINVAL);
  addr.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1, TEST-NET-1 */
  errno = 0;
  ASSERT_TRUE(green_listen((struct sockaddr *)&addr, sizeof addr, 16) == NULL);
  ASSERT_EQ(errno, EADDRNOTAVAIL);
  ASSERT_ERRNO(green_listen_accept(NULL, NULL, NULL), EINVAL);
  ASSERT_ERRNO(green_listen_addr(NULL, (struct sockaddr *)&out, &len), EINVAL);
  ASSERT_ERRNO(green_listen_close(NULL), EINVAL);
}

/* Greenlets of two hubs parked in accept wake with EBADF when the listener closes, and the
 * port is free again. */
TEST_CASE(close_wakes_acceptors) {
  struct sockaddr_in addr;
  green_listener_t *l = loopback_listener(&addr);
  green_hub_t *hubs[2];
  acceptor_t a[2] = {{l, 0, 0, 0}, {l, 1, 0, 0}};
  green_t *g[2];
  int h, i;
  ASSERT_OK(green_hubs_start(2, hubs));
  for (h = 0; h < 2; h++) ASSERT_TRUE((g[h] = green_spawn_on(hubs[h], accept_loop, &a[h])) != NULL);
  for (h = 0; h < 2; h++) { /* both parked in accept, so each hub has its socket */
    for (i = 0; i < 5000 && green_state(g[h]) != GREEN_BLOCKED; i++) ASSERT_OK(green_sleep(0.001));
    ASSERT_EQ(green_state(g[h]), GREEN_BLOCKED);
  }
  ASSERT_OK(green_listen_close(l));
  for (h = 0; h < 2; h++) {
    ASSERT_OK(green_join(g[h], NULL, 5));
    ASSERT_EQ(a[h].err, EBADF);
    ASSERT_EQ(a[h].accepted, 0);
  }
  ASSERT_TRUE((l = green_listen((struct sockaddr *)&addr, sizeof addr, 16)) != NULL);
  ASSERT_OK(green_listen_close(l));
  ASSERT_OK(green_hub_stop(hubs[1]));
  ASSERT_OK(green_hub_stop(hubs[0]));
}
