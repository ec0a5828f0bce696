/* SPDX-License-Identifier: MIT */
/*
 * The runtime's own fds, kept out of the program's sight (src/ownfd.h). The runtime creates
 * its loop with epoll_create, epoll_create1, eventfd and pipe (libev calls them). The fds
 * made then are moved to high numbers. readdir and readdir64 of this process's /proc fd
 * directory skip them. net.c refuses the program's close, close_range and dup2/dup3 on them.
 */
#include "ownfd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdtab.h"

int green__shim_ownfd_created(int fd) {
  if (fd < 0) return fd;
  if (green__ownfd_depth) return green__ownfd_move(fd);
  green__shim_fd_forget(fd);
  return fd;
}

int green__shim_ownfd_refused(int fd) {
  return green__unlikely(green__ownfd_is(fd)) && !green__ownfd_depth && !green__shim_tls.busy;
}

GREEN__SHIM_EXPORT int epoll_create(int size) {
  green__real_ready();
  return green__shim_ownfd_created(green__real.epoll_create(size));
}

GREEN__SHIM_EXPORT int epoll_create1(int flags) {
  green__real_ready();
  return green__shim_ownfd_created(green__real.epoll_create1(flags));
}

GREEN__SHIM_EXPORT int eventfd(unsigned n, int flags) {
  green__real_ready();
  return green__shim_ownfd_created(green__real.eventfd(n, flags));
}

/* Whether dir lists this process's fds: /proc/<pid>/fd or /proc/<pid>/task/<tid>/fd. */
static int own_fd_dir(DIR *dir) {
  char path[64], link[96], prefix[32];
  ssize_t n;
  snprintf(path, sizeof path, "/proc/self/fd/%d", dirfd(dir));
  if ((n = readlink(path, link, sizeof link - 1)) < 3) return 0;
  link[n] = '\0';
  snprintf(prefix, sizeof prefix, "/proc/%d/", (int)getpid());
  return strncmp(link, prefix, strlen(prefix)) == 0 && strcmp(link + n - 3, "/fd") == 0;
}

/* Whether a directory entry named `name` is one of the runtime's fds that dir lists. */
static int hidden(DIR *dir, const char *name) {
  char *end;
  long fd;
  if (name[0] < '0' || name[0] > '9') return 0;
  fd = strtol(name, &end, 10);
  return *end == '\0' && fd < GREEN__OWNFD_LIMIT && green__ownfd_is((int)fd) && own_fd_dir(dir);
}

GREEN__SHIM_EXPORT struct dirent *readdir(DIR *dir) {
  struct dirent *e;
  green__real_ready();
  while ((e = green__real.readdir(dir)) && hidden(dir, e->d_name)) {
  }
  return e;
}

GREEN__SHIM_EXPORT struct dirent64 *readdir64(DIR *dir) {
  struct dirent64 *e;
  green__real_ready();
  while ((e = green__real.readdir64(dir)) && hidden(dir, e->d_name)) {
  }
  return e;
}
