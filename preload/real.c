/* SPDX-License-Identifier: MIT */
/*
 * libc's functions, resolved once, and the __wrap_ entry points the runtime's own calls are
 * linked to (see real.h). So libgreen's code inside the shim never reaches a hook.
 */
#include "real.h"

#include "shim.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

struct green__real green__real;
int green__real_resolved;

/* The shim needs libc's function to pass the call on. A glibc older than the one the shim was
 * built for lacks some. Then the process ends at once, saying which one is missing. That
 * beats a call through a NULL pointer later. */
__attribute__((noreturn)) static void missing(const char *name) {
  static const char msg[] = "libgreen-preload: libc has no ";
  static const char end[] = ": this glibc is too old for the shim\n";
  if (syscall(SYS_write, 2, msg, sizeof msg - 1) >= 0 &&
      syscall(SYS_write, 2, name, __builtin_strlen(name)) >= 0)
    syscall(SYS_write, 2, end, sizeof end - 1);
  syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

/* Concurrent first calls may resolve twice; every store writes the same value. The shim's
 * configuration is read here too. A hook's first call can come from another library's
 * start-up: AddressSanitizer creates its pthread key before any constructor runs. Every call
 * must see the same mode. */
void green__real_init(void) {
  /* first: reading the configuration calls syscall(), through __wrap_syscall */
  green__real.syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  green__shim_configure();
#define RESOLVE(name, ret, params, args)                                   \
  if (!(green__real.name = (ret(*) params)dlsym(RTLD_NEXT, #name)))        \
    missing(#name);
  GREEN_REALS(RESOLVE)
  GREEN_REALS_VARIADIC(RESOLVE)
  GREEN_REALS_LOCK(RESOLVE)
  GREEN_REALS_VOID(RESOLVE)
  GREEN_REALS_START(RESOLVE)
#undef RESOLVE
  __atomic_store_n(&green__real_resolved, 1, __ATOMIC_RELEASE);
}

#define WRAP(name, ret, params, args)       \
  ret __wrap_##name params;                 \
  ret __wrap_##name params {                \
    green__real_ready();                    \
    return green__real.name args;           \
  }
GREEN_REALS(WRAP)
#undef WRAP

/* A runtime mutex is never held across a switch: another greenlet of the same OS thread
 * that takes it would wait in the kernel for ever. So the gate does not yield while this
 * thread holds one (a hooked call under it: ev_async_send's write in green__hub_post). */
#define WRAP_TAKE(name)                                              \
  int __wrap_##name(pthread_mutex_t *m);                             \
  int __wrap_##name(pthread_mutex_t *m) {                            \
    int r;                                                           \
    green__real_ready();                                             \
    if (!(r = green__real.name(m))) green__shim_tls.inner_locks++;   \
    return r;                                                        \
  }
WRAP_TAKE(pthread_mutex_lock)
WRAP_TAKE(pthread_mutex_trylock)
#undef WRAP_TAKE

int __wrap_pthread_mutex_unlock(pthread_mutex_t *m);
int __wrap_pthread_mutex_unlock(pthread_mutex_t *m) {
  int r;
  green__real_ready();
  if (!(r = green__real.pthread_mutex_unlock(m)) && green__shim_tls.inner_locks)
    green__shim_tls.inner_locks--;
  return r;
}

#define WRAP_VOID(name, ret, params, args)  \
  ret __wrap_##name params;                 \
  ret __wrap_##name params {                \
    green__real_ready();                    \
    green__real.name args;                  \
  }
GREEN_REALS_VOID(WRAP_VOID)
#undef WRAP_VOID

/* ---- the variadic ones ------------------------------------------------------------------ */

#define WRAP_FD_REQ(name, reqtype)                          \
  int __wrap_##name(int fd, reqtype req, ...);              \
  int __wrap_##name(int fd, reqtype req, ...) {             \
    va_list ap;                                             \
    void *arg;                                              \
    va_start(ap, req);                                      \
    arg = va_arg(ap, void *);                               \
    va_end(ap);                                             \
    green__real_ready();                                    \
    return green__real.name(fd, req, arg);                  \
  }
WRAP_FD_REQ(fcntl, int)
WRAP_FD_REQ(fcntl64, int)
WRAP_FD_REQ(ioctl, unsigned long)

#define WRAP_OPEN(name)                                     \
  int __wrap_##name(const char *path, int fl, ...);         \
  int __wrap_##name(const char *path, int fl, ...) {        \
    va_list ap;                                             \
    mode_t mode = 0;                                        \
    if (GREEN__OPEN_HAS_MODE(fl)) {                         \
      va_start(ap, fl);                                     \
      mode = (mode_t)va_arg(ap, int);                       \
      va_end(ap);                                           \
    }                                                       \
    green__real_ready();                                    \
    return green__real.name(path, fl, mode);                \
  }
WRAP_OPEN(open)
WRAP_OPEN(open64)

#define WRAP_OPENAT(name)                                   \
  int __wrap_##name(int dir, const char *path, int fl, ...);\
  int __wrap_##name(int dir, const char *path, int fl, ...) {\
    va_list ap;                                             \
    mode_t mode = 0;                                        \
    if (GREEN__OPEN_HAS_MODE(fl)) {                         \
      va_start(ap, fl);                                     \
      mode = (mode_t)va_arg(ap, int);                       \
      va_end(ap);                                           \
    }                                                       \
    green__real_ready();                                    \
    return green__real.name(dir, path, fl, mode);           \
  }
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)

/* The scanf and printf families: passed on through their va_list forms. */
#define WRAP_SCANF(name, vreal, params, args)        \
  int __wrap_##name params;                         \
  int __wrap_##name params {                        \
    va_list ap;                                     \
    int r;                                          \
    va_start(ap, fmt);                              \
    green__real_ready();                            \
    r = green__real.vreal args;                     \
    va_end(ap);                                     \
    return r;                                       \
  }
WRAP_SCANF(fscanf, vfscanf, (FILE *f, const char *fmt, ...), (f, fmt, ap))
WRAP_SCANF(__isoc99_fscanf, __isoc99_vfscanf, (FILE *f, const char *fmt, ...), (f, fmt, ap))
WRAP_SCANF(scanf, vscanf, (const char *fmt, ...), (fmt, ap))
WRAP_SCANF(__isoc99_scanf, __isoc99_vscanf, (const char *fmt, ...), (fmt, ap))

WRAP_SCANF(fwscanf, vfwscanf, (FILE *f, const wchar_t *fmt, ...), (f, fmt, ap))
WRAP_SCANF(__isoc99_fwscanf, __isoc99_vfwscanf, (FILE *f, const wchar_t *fmt, ...), (f, fmt, ap))
WRAP_SCANF(wscanf, vwscanf, (const wchar_t *fmt, ...), (fmt, ap))
WRAP_SCANF(__isoc99_wscanf, __isoc99_vwscanf, (const wchar_t *fmt, ...), (fmt, ap))
WRAP_SCANF(fprintf, vfprintf, (FILE *f, const char *fmt, ...), (f, fmt, ap))
WRAP_SCANF(printf, vprintf, (const char *fmt, ...), (fmt, ap))
WRAP_SCANF(__fprintf_chk, __vfprintf_chk, (FILE *f, int fl, const char *fmt, ...), (f, fl, fmt, ap))
WRAP_SCANF(__printf_chk, __vprintf_chk, (int fl, const char *fmt, ...), (fl, fmt, ap))
WRAP_SCANF(dprintf, vdprintf, (int fd, const char *fmt, ...), (fd, fmt, ap))
WRAP_SCANF(__dprintf_chk, __vdprintf_chk, (int fd, int fl, const char *fmt, ...), (fd, fl, fmt, ap))

sem_t *__wrap_sem_open(const char *name, int fl, ...);
sem_t *__wrap_sem_open(const char *name, int fl, ...) {
  va_list ap;
  mode_t mode = 0;
  unsigned value = 0;
  if (fl & O_CREAT) {
    va_start(ap, fl);
    mode = (mode_t)va_arg(ap, int);
    value = va_arg(ap, unsigned);
    va_end(ap);
  }
  green__real_ready();
  return green__real.sem_open(name, fl, mode, value);
}

/* Six arguments: as many as any system call takes (libc's syscall reads six). */
long __wrap_syscall(long nr, ...);
long __wrap_syscall(long nr, ...) {
  va_list ap;
  long a[6];
  int i;
  va_start(ap, nr);
  for (i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  if (!green__real.syscall) green__real_ready();
  return green__real.syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
