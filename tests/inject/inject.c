/* SPDX-License-Identifier: MIT */
/*
 * A fault injector for the servers' tests, loaded with LD_PRELOAD: the Nth call of a family of
 * socket calls fails once with the errno asked for, then everything goes on as before.
 *
 *   GREEN_INJECT="accept:ENOBUFS@5,read:ECONNRESET@20,write:EPIPE@3,connect:ENETUNREACH@2"
 *   GREEN_INJECT_LOG=FILE   one line "family errno call" per fault injected, appended
 *
 * The families: accept (accept, accept4), read (read, readv, recv, recvfrom, recvmsg), write
 * (write, writev, send, sendto, sendmsg), connect. Only calls on sockets count, so a log file,
 * libev's eventfd or a -o file never take a fault. A fault replaces the call: nothing happens
 * on the socket, as when the kernel fails it before doing anything.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum { F_ACCEPT, F_READ, F_WRITE, F_CONNECT, FAMILIES };
static const char *const family_names[FAMILIES] = {"accept", "read", "write", "connect"};

#define MAX_FAULTS 128

typedef struct fault {
  int family, err, fired;
  unsigned long at; /* the call (1-based) of its family that fails */
} fault_t;

static fault_t faults[MAX_FAULTS];
static int nfaults, parsed;
static unsigned long calls[FAMILIES];
static int log_fd = -1;

static const struct {
  const char *name;
  int value;
} errnos[] = {
#define E(x) {#x, x}
    E(EACCES), E(EADDRINUSE), E(EADDRNOTAVAIL), E(EAFNOSUPPORT), E(EAGAIN), E(EALREADY),
    E(EBADF), E(ECONNABORTED), E(ECONNREFUSED), E(ECONNRESET), E(EDESTADDRREQ), E(EDQUOT),
    E(EFAULT), E(EFBIG), E(EHOSTDOWN), E(EHOSTUNREACH), E(EINPROGRESS), E(EINTR), E(EINVAL),
    E(EIO), E(EISCONN), E(EISDIR), E(EMFILE), E(EMSGSIZE), E(ENETDOWN), E(ENETUNREACH),
    E(ENFILE), E(ENOBUFS), E(ENOMEM), E(ENONET), E(ENOPROTOOPT), E(ENOSPC), E(ENOTCONN),
    E(ENOTSOCK), E(EOPNOTSUPP), E(EPERM), E(EPIPE), E(EPROTO), E(EPROTOTYPE), E(ETIMEDOUT),
    E(EWOULDBLOCK),
#undef E
};

static int errno_value(const char *name, size_t n) {
  size_t i;
  for (i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
    if (strlen(errnos[i].name) == n && strncmp(errnos[i].name, name, n) == 0)
      return errnos[i].value;
  return 0;
}

static int family_of(const char *name, size_t n) {
  int i;
  for (i = 0; i < FAMILIES; i++)
    if (strlen(family_names[i]) == n && strncmp(family_names[i], name, n) == 0) return i;
  return -1;
}

/* One "family:ERRNO@N" item; a malformed one stops the program (a test that injects nothing
 * would pass for the wrong reason). */
static void parse_item(const char *s, size_t n) {
  const char *colon = memchr(s, ':', n), *at = memchr(s, '@', n);
  fault_t *f = &faults[nfaults];
  if (!colon || !at || at < colon || nfaults == MAX_FAULTS) goto bad;
  if ((f->family = family_of(s, (size_t)(colon - s))) < 0) goto bad;
  if (!(f->err = errno_value(colon + 1, (size_t)(at - colon - 1)))) goto bad;
  if ((f->at = strtoul(at + 1, NULL, 10)) == 0) goto bad;
  nfaults++;
  return;
bad:
  fprintf(stderr, "inject: bad GREEN_INJECT item: %.*s\n", (int)n, s);
  _exit(125);
}

static void parse_spec(void) {
  const char *s = getenv("GREEN_INJECT"), *log = getenv("GREEN_INJECT_LOG");
  parsed = 1;
  while (s && *s) {
    size_t n = strcspn(s, ",");
    if (n) parse_item(s, n);
    s += n + (s[n] == ',');
  }
  if (log) log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

static int is_socket(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void log_fault(const fault_t *f) {
  char line[96];
  const char *name = "?";
  size_t i;
  int n;
  if (log_fd < 0) return;
  for (i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
    if (errnos[i].value == f->err) {
      name = errnos[i].name;
      break;
    }
  n = snprintf(line, sizeof line, "%s %s %lu\n", family_names[f->family], name, f->at);
  if (write(log_fd, line, (size_t)n) < 0) { /* the test then sees the fault missing */
  }
}

/* Counts a call of `family` on fd; 1 with errno set when this call is to fail. */
static int inject(int family, int fd) {
  unsigned long n;
  int i, saved = errno;
  if (!parsed) parse_spec();
  if (!nfaults || !is_socket(fd)) return errno = saved, 0;
  n = __atomic_add_fetch(&calls[family], 1, __ATOMIC_RELAXED);
  for (i = 0; i < nfaults; i++) {
    fault_t *f = &faults[i];
    if (f->family == family && f->at == n && !f->fired) {
      f->fired = 1;
      log_fault(f);
      errno = f->err;
      return 1;
    }
  }
  errno = saved;
  return 0;
}

#define REAL(ret, name, ...)                                                               \
  static ret (*real_fn)(__VA_ARGS__);                                                      \
  if (!real_fn) real_fn = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  REAL(int, accept, int, struct sockaddr *, socklen_t *);
  return inject(F_ACCEPT, fd) ? -1 : real_fn(fd, addr, len);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  REAL(int, accept4, int, struct sockaddr *, socklen_t *, int);
  return inject(F_ACCEPT, fd) ? -1 : real_fn(fd, addr, len, flags);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  REAL(int, connect, int, const struct sockaddr *, socklen_t);
  return inject(F_CONNECT, fd) ? -1 : real_fn(fd, addr, len);
}

ssize_t read(int fd, void *buf, size_t n) {
  REAL(ssize_t, read, int, void *, size_t);
  return inject(F_READ, fd) ? -1 : real_fn(fd, buf, n);
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt) {
  REAL(ssize_t, readv, int, const struct iovec *, int);
  return inject(F_READ, fd) ? -1 : real_fn(fd, iov, iovcnt);
}

ssize_t recv(int fd, void *buf, size_t n, int flags) {
  REAL(ssize_t, recv, int, void *, size_t, int);
  return inject(F_READ, fd) ? -1 : real_fn(fd, buf, n, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len) {
  REAL(ssize_t, recvfrom, int, void *, size_t, int, struct sockaddr *, socklen_t *);
  return inject(F_READ, fd) ? -1 : real_fn(fd, buf, n, flags, addr, len);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  REAL(ssize_t, recvmsg, int, struct msghdr *, int);
  return inject(F_READ, fd) ? -1 : real_fn(fd, msg, flags);
}

ssize_t write(int fd, const void *buf, size_t n) {
  REAL(ssize_t, write, int, const void *, size_t);
  return inject(F_WRITE, fd) ? -1 : real_fn(fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
  REAL(ssize_t, writev, int, const struct iovec *, int);
  return inject(F_WRITE, fd) ? -1 : real_fn(fd, iov, iovcnt);
}

ssize_t send(int fd, const void *buf, size_t n, int flags) {
  REAL(ssize_t, send, int, const void *, size_t, int);
  return inject(F_WRITE, fd) ? -1 : real_fn(fd, buf, n, flags);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
               socklen_t len) {
  REAL(ssize_t, sendto, int, const void *, size_t, int, const struct sockaddr *, socklen_t);
  return inject(F_WRITE, fd) ? -1 : real_fn(fd, buf, n, flags, addr, len);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  REAL(ssize_t, sendmsg, int, const struct msghdr *, int);
  return inject(F_WRITE, fd) ? -1 : real_fn(fd, msg, flags);
}
