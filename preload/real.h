/* SPDX-License-Identifier: MIT */
/*
 * libc's own functions behind every hook. They are resolved once with dlsym(RTLD_NEXT) into
 * green__real and called as green__real.read(...). One list, GREEN_REALS, is the truth for
 * the C side and for CMake. CMake reads the X(...) lines below. It exports each name from
 * libgreen-preload.so and links the runtime with --wrap=name. So inside the shim, every call
 * the runtime (src/) makes to a hooked name lands in __wrap_name, which calls libc.
 * Keep one X(...) per line, the name first. The shim also exports __libc_start_main and
 * exit (shim.c, the E(...) lines), which the runtime never calls.
 */
#ifndef GREEN_PRELOAD_REAL_H
#define GREEN_PRELOAD_REAL_H

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

/* glibc's optimising headers define some stdio calls as macros; the shim defines the calls. */
#undef fread_unlocked
#undef fgetc_unlocked
#undef getc_unlocked
#undef getchar_unlocked
#undef getc
#undef putc
#undef putc_unlocked
#undef putchar_unlocked
#undef fputc_unlocked
#undef fwrite_unlocked
#undef fputs_unlocked

/* X(name, return type, parameters, arguments). */
#define GREEN_REALS(X)                                                                       \
  /* ---- I/O and sockets ---- */                                                           \
  X(read, ssize_t, (int fd, void *buf, size_t n), (fd, buf, n))                             \
  X(write, ssize_t, (int fd, const void *buf, size_t n), (fd, buf, n))                      \
  X(readv, ssize_t, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt))             \
  X(writev, ssize_t, (int fd, const struct iovec *iov, int cnt), (fd, iov, cnt))            \
  X(recv, ssize_t, (int fd, void *buf, size_t n, int fl), (fd, buf, n, fl))                 \
  X(send, ssize_t, (int fd, const void *buf, size_t n, int fl), (fd, buf, n, fl))           \
  X(recvfrom, ssize_t,                                                                      \
    (int fd, void *buf, size_t n, int fl, struct sockaddr *a, socklen_t *al),                \
    (fd, buf, n, fl, a, al))                                                                \
  X(sendto, ssize_t,                                                                        \
    (int fd, const void *buf, size_t n, int fl, const struct sockaddr *a, socklen_t al),     \
    (fd, buf, n, fl, a, al))                                                                \
  X(recvmsg, ssize_t, (int fd, struct msghdr *m, int fl), (fd, m, fl))                      \
  X(sendmsg, ssize_t, (int fd, const struct msghdr *m, int fl), (fd, m, fl))                \
  X(recvmmsg, int, (int fd, struct mmsghdr *v, unsigned n, int fl, struct timespec *t),     \
    (fd, v, n, fl, t))                                                                      \
  X(sendmmsg, int, (int fd, struct mmsghdr *v, unsigned n, int fl), (fd, v, n, fl))         \
  X(connect, int, (int fd, const struct sockaddr *a, socklen_t al), (fd, a, al))            \
  X(accept, int, (int fd, struct sockaddr *a, socklen_t *al), (fd, a, al))                  \
  X(accept4, int, (int fd, struct sockaddr *a, socklen_t *al, int fl), (fd, a, al, fl))     \
  X(close, int, (int fd), (fd))                                                             \
  X(dup, int, (int fd), (fd))                                                               \
  X(dup2, int, (int fd, int to), (fd, to))                                                  \
  X(dup3, int, (int fd, int to, int fl), (fd, to, fl))                                      \
  X(socket, int, (int dom, int type, int proto), (dom, type, proto))                        \
  X(socketpair, int, (int dom, int type, int proto, int sv[2]), (dom, type, proto, sv))     \
  X(pipe, int, (int p[2]), (p))                                                             \
  X(pipe2, int, (int p[2], int fl), (p, fl))                                                \
  X(shutdown, int, (int fd, int how), (fd, how))                                            \
  X(setsockopt, int, (int fd, int lvl, int opt, const void *v, socklen_t l),                 \
    (fd, lvl, opt, v, l))                                                                   \
  X(__open_2, int, (const char *path, int fl), (path, fl))                                  \
  X(__open64_2, int, (const char *path, int fl), (path, fl))                                \
  X(__openat_2, int, (int dir, const char *path, int fl), (dir, path, fl))                  \
  X(__openat64_2, int, (int dir, const char *path, int fl), (dir, path, fl))                \
  X(creat, int, (const char *path, mode_t mode), (path, mode))                              \
  X(fclose, int, (FILE *f), (f))                                                            \
  X(flockfile, void, (FILE *f), (f))                                                        \
  X(ftrylockfile, int, (FILE *f), (f))                                                      \
  X(funlockfile, void, (FILE *f), (f))                                                      \
  X(close_range, int, (unsigned lo, unsigned hi, int fl), (lo, hi, fl))                     \
  X(epoll_create, int, (int size), (size))                                                  \
  X(epoll_create1, int, (int fl), (fl))                                                     \
  X(eventfd, int, (unsigned n, int fl), (n, fl))                                            \
  X(readdir, struct dirent *, (DIR *d), (d))                                                \
  X(readdir64, struct dirent64 *, (DIR *d), (d))                                            \
  X(__read_chk, ssize_t, (int fd, void *buf, size_t n, size_t len), (fd, buf, n, len))      \
  X(__recv_chk, ssize_t, (int fd, void *buf, size_t n, size_t len, int fl),                 \
    (fd, buf, n, len, fl))                                                                  \
  X(__recvfrom_chk, ssize_t,                                                                \
    (int fd, void *buf, size_t n, size_t len, int fl, struct sockaddr *a, socklen_t *al),    \
    (fd, buf, n, len, fl, a, al))                                                           \
  /* ---- moving data between fds ---- */                                                   \
  X(sendfile, ssize_t, (int out, int in, off_t *off, size_t n), (out, in, off, n))          \
  X(sendfile64, ssize_t, (int out, int in, off64_t *off, size_t n), (out, in, off, n))      \
  X(splice, ssize_t,                                                                        \
    (int in, loff_t *off_in, int out, loff_t *off_out, size_t n, unsigned fl),               \
    (in, off_in, out, off_out, n, fl))                                                      \
  X(tee, ssize_t, (int in, int out, size_t n, unsigned fl), (in, out, n, fl))               \
  X(vmsplice, ssize_t, (int fd, const struct iovec *iov, size_t n, unsigned fl),            \
    (fd, iov, n, fl))                                                                       \
  /* ---- waiting ---- */                                                                   \
  X(poll, int, (struct pollfd *p, nfds_t n, int ms), (p, n, ms))                            \
  X(ppoll, int, (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s),  \
    (p, n, t, s))                                                                           \
  X(__poll_chk, int, (struct pollfd *p, nfds_t n, int ms, size_t len), (p, n, ms, len))     \
  X(__ppoll_chk, int,                                                                       \
    (struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s, size_t len),   \
    (p, n, t, s, len))                                                                      \
  X(select, int, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t),               \
    (n, r, w, e, t))                                                                        \
  X(pselect, int,                                                                           \
    (int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *s),   \
    (n, r, w, e, t, s))                                                                     \
  X(epoll_wait, int, (int ep, struct epoll_event *ev, int n, int ms), (ep, ev, n, ms))      \
  X(epoll_pwait, int, (int ep, struct epoll_event *ev, int n, int ms, const sigset_t *s),   \
    (ep, ev, n, ms, s))                                                                     \
  X(epoll_pwait2, int,                                                                      \
    (int ep, struct epoll_event *ev, int n, const struct timespec *t, const sigset_t *s),    \
    (ep, ev, n, t, s))                                                                      \
  /* ---- locks and IPC ---- */                                                             \
  X(flock, int, (int fd, int op), (fd, op))                                                 \
  X(lockf, int, (int fd, int cmd, off_t len), (fd, cmd, len))                               \
  X(lockf64, int, (int fd, int cmd, off64_t len), (fd, cmd, len))                           \
  X(msgsnd, int, (int id, const void *m, size_t sz, int fl), (id, m, sz, fl))               \
  X(msgrcv, ssize_t, (int id, void *m, size_t sz, long type, int fl), (id, m, sz, type, fl)) \
  X(semop, int, (int id, struct sembuf *ops, size_t n), (id, ops, n))                       \
  X(semtimedop, int, (int id, struct sembuf *ops, size_t n, const struct timespec *t),      \
    (id, ops, n, t))                                                                        \
  X(mq_send, int, (mqd_t q, const char *m, size_t len, unsigned prio), (q, m, len, prio))   \
  X(mq_receive, ssize_t, (mqd_t q, char *m, size_t len, unsigned *prio), (q, m, len, prio)) \
  X(mq_timedsend, int,                                                                      \
    (mqd_t q, const char *m, size_t len, unsigned prio, const struct timespec *t),           \
    (q, m, len, prio, t))                                                                   \
  X(mq_close, int, (mqd_t q), (q))                                                          \
  X(mq_timedreceive, ssize_t,                                                               \
    (mqd_t q, char *m, size_t len, unsigned *prio, const struct timespec *t),                \
    (q, m, len, prio, t))                                                                   \
  /* ---- time ---- */                                                                      \
  X(sleep, unsigned, (unsigned s), (s))                                                     \
  X(usleep, int, (useconds_t us), (us))                                                     \
  X(nanosleep, int, (const struct timespec *req, struct timespec *rem), (req, rem))         \
  X(clock_nanosleep, int,                                                                   \
    (clockid_t c, int fl, const struct timespec *req, struct timespec *rem),                \
    (c, fl, req, rem))                                                                      \
  X(sched_yield, int, (void), ())                                                           \
  /* ---- processes and signals ---- */                                                     \
  X(fork, pid_t, (void), ())                                                                \
  X(vfork, pid_t, (void), ())                                                               \
  X(waitpid, pid_t, (pid_t pid, int *st, int opt), (pid, st, opt))                          \
  X(wait, pid_t, (int *st), (st))                                                           \
  X(wait3, pid_t, (int *st, int opt, struct rusage *ru), (st, opt, ru))                     \
  X(wait4, pid_t, (pid_t pid, int *st, int opt, struct rusage *ru), (pid, st, opt, ru))     \
  X(waitid, int, (idtype_t t, id_t id, siginfo_t *info, int opt), (t, id, info, opt))       \
  X(signal, __sighandler_t, (int sig, __sighandler_t h), (sig, h))                          \
  X(sigaction, int, (int sig, const struct sigaction *a, struct sigaction *old),            \
    (sig, a, old))                                                                          \
  X(pause, int, (void), ())                                                                 \
  X(raise, int, (int sig), (sig))                                                           \
  X(sigprocmask, int, (int how, const sigset_t *s, sigset_t *old), (how, s, old))           \
  X(pthread_sigmask, int, (int how, const sigset_t *s, sigset_t *old), (how, s, old))       \
  X(sigsuspend, int, (const sigset_t *m), (m))                                              \
  X(sigwait, int, (const sigset_t *s, int *sig), (s, sig))                                  \
  X(sigwaitinfo, int, (const sigset_t *s, siginfo_t *i), (s, i))                            \
  X(sigtimedwait, int, (const sigset_t *s, siginfo_t *i, const struct timespec *t),         \
    (s, i, t))                                                                              \
  /* ---- stdio input ---- */                                                               \
  X(fgetc, int, (FILE *f), (f))                                                             \
  X(getc, int, (FILE *f), (f))                                                              \
  X(_IO_getc, int, (FILE *f), (f))                                                          \
  X(fgetc_unlocked, int, (FILE *f), (f))                                                    \
  X(getc_unlocked, int, (FILE *f), (f))                                                     \
  X(__uflow, int, (FILE *f), (f))                                                           \
  X(__underflow, int, (FILE *f), (f))                                                       \
  X(getchar, int, (void), ())                                                               \
  X(getchar_unlocked, int, (void), ())                                                      \
  X(fgets, char *, (char *s, int n, FILE *f), (s, n, f))                                    \
  X(fgets_unlocked, char *, (char *s, int n, FILE *f), (s, n, f))                           \
  X(fread, size_t, (void *p, size_t sz, size_t n, FILE *f), (p, sz, n, f))                  \
  X(fread_unlocked, size_t, (void *p, size_t sz, size_t n, FILE *f), (p, sz, n, f))         \
  X(getdelim, ssize_t, (char **lp, size_t *cap, int d, FILE *f), (lp, cap, d, f))           \
  X(__getdelim, ssize_t, (char **lp, size_t *cap, int d, FILE *f), (lp, cap, d, f))         \
  X(getline, ssize_t, (char **lp, size_t *cap, FILE *f), (lp, cap, f))                      \
  X(__fgets_chk, char *, (char *s, size_t sz, int n, FILE *f), (s, sz, n, f))               \
  X(__fgets_unlocked_chk, char *, (char *s, size_t sz, int n, FILE *f), (s, sz, n, f))      \
  X(__fread_chk, size_t, (void *p, size_t len, size_t sz, size_t n, FILE *f),               \
    (p, len, sz, n, f))                                                                     \
  X(__fread_unlocked_chk, size_t, (void *p, size_t len, size_t sz, size_t n, FILE *f),      \
    (p, len, sz, n, f))                                                                     \
  X(vfscanf, int, (FILE *f, const char *fmt, va_list ap), (f, fmt, ap))                     \
  X(__isoc99_vfscanf, int, (FILE *f, const char *fmt, va_list ap), (f, fmt, ap))            \
  X(vscanf, int, (const char *fmt, va_list ap), (fmt, ap))                                  \
  X(__isoc99_vscanf, int, (const char *fmt, va_list ap), (fmt, ap))                         \
  /* ---- wide stdio input ---- */                                                          \
  X(fgetwc, wint_t, (FILE *f), (f))                                                         \
  X(getwc, wint_t, (FILE *f), (f))                                                          \
  X(fgetwc_unlocked, wint_t, (FILE *f), (f))                                                \
  X(getwc_unlocked, wint_t, (FILE *f), (f))                                                 \
  X(getwchar, wint_t, (void), ())                                                           \
  X(getwchar_unlocked, wint_t, (void), ())                                                  \
  X(fgetws, wchar_t *, (wchar_t *s, int n, FILE *f), (s, n, f))                             \
  X(fgetws_unlocked, wchar_t *, (wchar_t *s, int n, FILE *f), (s, n, f))                    \
  X(__fgetws_chk, wchar_t *, (wchar_t *s, size_t len, int n, FILE *f), (s, len, n, f))     \
  X(__fgetws_unlocked_chk, wchar_t *, (wchar_t *s, size_t len, int n, FILE *f),             \
    (s, len, n, f))                                                                         \
  X(vfwscanf, int, (FILE *f, const wchar_t *fmt, va_list ap), (f, fmt, ap))                 \
  X(__isoc99_vfwscanf, int, (FILE *f, const wchar_t *fmt, va_list ap), (f, fmt, ap))        \
  X(vwscanf, int, (const wchar_t *fmt, va_list ap), (fmt, ap))                              \
  X(__isoc99_vwscanf, int, (const wchar_t *fmt, va_list ap), (fmt, ap))                     \
  /* ---- stdio output ---- */                                                              \
  X(fwrite, size_t, (const void *p, size_t sz, size_t n, FILE *f), (p, sz, n, f))           \
  X(fwrite_unlocked, size_t, (const void *p, size_t sz, size_t n, FILE *f), (p, sz, n, f))  \
  X(fputs, int, (const char *s, FILE *f), (s, f))                                           \
  X(fputs_unlocked, int, (const char *s, FILE *f), (s, f))                                  \
  X(puts, int, (const char *s), (s))                                                        \
  X(fputc, int, (int c, FILE *f), (c, f))                                                   \
  X(putc, int, (int c, FILE *f), (c, f))                                                    \
  X(_IO_putc, int, (int c, FILE *f), (c, f))                                                \
  X(fputc_unlocked, int, (int c, FILE *f), (c, f))                                          \
  X(putc_unlocked, int, (int c, FILE *f), (c, f))                                           \
  X(putchar, int, (int c), (c))                                                             \
  X(putchar_unlocked, int, (int c), (c))                                                    \
  X(__overflow, int, (FILE *f, int c), (f, c))                                              \
  X(fflush, int, (FILE *f), (f))                                                            \
  X(fflush_unlocked, int, (FILE *f), (f))                                                   \
  X(vfprintf, int, (FILE *f, const char *fmt, va_list ap), (f, fmt, ap))                    \
  X(vprintf, int, (const char *fmt, va_list ap), (fmt, ap))                                 \
  X(__vfprintf_chk, int, (FILE *f, int fl, const char *fmt, va_list ap), (f, fl, fmt, ap))  \
  X(__vprintf_chk, int, (int fl, const char *fmt, va_list ap), (fl, fmt, ap))               \
  X(vdprintf, int, (int fd, const char *fmt, va_list ap), (fd, fmt, ap))                    \
  X(__vdprintf_chk, int, (int fd, int fl, const char *fmt, va_list ap), (fd, fl, fmt, ap))  \
  GREEN_REALS_THREADS(X)                                                                    \
  GREEN_REALS_NAMES(X)                                                                      \
  GREEN_REALS_IDS(X)

/* The variadic ones. Their optional last argument is passed on as a plain parameter: every
 * caller on Linux passes it in a register. Their __wrap_ functions are written out. The
 * scanf family is passed on through its va_list forms above. */
#define GREEN_REALS_VARIADIC(X)                                                              \
  X(fcntl, int, (int fd, int cmd, void *arg), (fd, cmd, arg))                               \
  X(fcntl64, int, (int fd, int cmd, void *arg), (fd, cmd, arg))                             \
  X(ioctl, int, (int fd, unsigned long req, void *arg), (fd, req, arg))                     \
  X(open, int, (const char *path, int fl, mode_t mode), (path, fl, mode))                   \
  X(open64, int, (const char *path, int fl, mode_t mode), (path, fl, mode))                 \
  X(openat, int, (int dir, const char *path, int fl, mode_t mode), (dir, path, fl, mode))   \
  X(openat64, int, (int dir, const char *path, int fl, mode_t mode), (dir, path, fl, mode)) \
  X(sem_open, sem_t *, (const char *name, int fl, mode_t mode, unsigned value),             \
    (name, fl, mode, value))                                                                \
  X(fscanf, int, (FILE *f, const char *fmt, ...), ())                                       \
  X(__isoc99_fscanf, int, (FILE *f, const char *fmt, ...), ())                              \
  X(scanf, int, (const char *fmt, ...), ())                                                 \
  X(__isoc99_scanf, int, (const char *fmt, ...), ())                                        \
  X(syscall, long, (long nr, ...), ())                                                      \
  X(fwscanf, int, (FILE *f, const wchar_t *fmt, ...), ())                                   \
  X(__isoc99_fwscanf, int, (FILE *f, const wchar_t *fmt, ...), ())                          \
  X(wscanf, int, (const wchar_t *fmt, ...), ())                                             \
  X(__isoc99_wscanf, int, (const wchar_t *fmt, ...), ())                                    \
  X(fprintf, int, (FILE *f, const char *fmt, ...), ())                                      \
  X(printf, int, (const char *fmt, ...), ())                                                \
  X(__fprintf_chk, int, (FILE *f, int fl, const char *fmt, ...), ())                        \
  X(__printf_chk, int, (int fl, const char *fmt, ...), ())                                  \
  X(dprintf, int, (int fd, const char *fmt, ...), ())                                       \
  X(__dprintf_chk, int, (int fd, int fl, const char *fmt, ...), ())

#define GREEN_REALS_THREADS(X)                                                               \
  X(pthread_create, int, (pthread_t * id, const pthread_attr_t *a, void *(*fn)(void *), void *arg), \
    (id, a, fn, arg))                                                                       \
  X(pthread_join, int, (pthread_t id, void **res), (id, res))                               \
  X(pthread_tryjoin_np, int, (pthread_t id, void **res), (id, res))                         \
  X(pthread_timedjoin_np, int, (pthread_t id, void **res, const struct timespec *t),        \
    (id, res, t))                                                                           \
  X(pthread_clockjoin_np, int,                                                              \
    (pthread_t id, void **res, clockid_t c, const struct timespec *t), (id, res, c, t))      \
  X(pthread_detach, int, (pthread_t id), (id))                                              \
  X(pthread_self, pthread_t, (void), ())                                                    \
  X(pthread_cancel, int, (pthread_t id), (id))                                              \
  X(pthread_setcancelstate, int, (int st, int *old), (st, old))                             \
  X(pthread_setcanceltype, int, (int ty, int *old), (ty, old))                              \
  X(pthread_kill, int, (pthread_t id, int sig), (id, sig))                                  \
  X(pthread_sigqueue, int, (pthread_t id, int sig, const union sigval v), (id, sig, v))     \
  X(pthread_getattr_np, int, (pthread_t id, pthread_attr_t *a), (id, a))                    \
  X(pthread_setname_np, int, (pthread_t id, const char *name), (id, name))                  \
  X(pthread_getname_np, int, (pthread_t id, char *buf, size_t len), (id, buf, len))         \
  X(pthread_getcpuclockid, int, (pthread_t id, clockid_t *c), (id, c))                      \
  X(pthread_setschedparam, int, (pthread_t id, int pol, const struct sched_param *p),       \
    (id, pol, p))                                                                           \
  X(pthread_getschedparam, int, (pthread_t id, int *pol, struct sched_param *p),            \
    (id, pol, p))                                                                           \
  X(pthread_setschedprio, int, (pthread_t id, int prio), (id, prio))                        \
  X(pthread_setaffinity_np, int, (pthread_t id, size_t n, const cpu_set_t *set),            \
    (id, n, set))                                                                           \
  X(pthread_getaffinity_np, int, (pthread_t id, size_t n, cpu_set_t *set), (id, n, set))  \
  X(pthread_key_create, int, (pthread_key_t * k, void (*d)(void *)), (k, d))                \
  X(pthread_key_delete, int, (pthread_key_t k), (k))                                        \
  X(pthread_getspecific, void *, (pthread_key_t k), (k))                                    \
  X(pthread_setspecific, int, (pthread_key_t k, const void *v), (k, v))                     \
  X(pthread_once, int, (pthread_once_t * o, void (*init)(void)), (o, init))                 \
  X(__cxa_thread_atexit_impl, int, (void (*fn)(void *), void *obj, void *dso), (fn, obj, dso)) \
  X(pthread_spin_init, int, (pthread_spinlock_t * l, int pshared), (l, pshared))            \
  X(pthread_spin_destroy, int, (pthread_spinlock_t * l), (l))                               \
  X(pthread_spin_lock, int, (pthread_spinlock_t * l), (l))                                  \
  X(pthread_spin_trylock, int, (pthread_spinlock_t * l), (l))                               \
  X(pthread_spin_unlock, int, (pthread_spinlock_t * l), (l))                                \
  X(pthread_barrier_init, int,                                                              \
    (pthread_barrier_t * b, const pthread_barrierattr_t *a, unsigned n), (b, a, n))         \
  X(pthread_barrier_wait, int, (pthread_barrier_t * b), (b))                                \
  X(pthread_barrier_destroy, int, (pthread_barrier_t * b), (b))                            \
  X(pthread_mutex_init, int, (pthread_mutex_t * m, const pthread_mutexattr_t *a), (m, a))  \
  X(pthread_mutex_destroy, int, (pthread_mutex_t * m), (m))                                 \
  X(pthread_mutex_timedlock, int, (pthread_mutex_t * m, const struct timespec *t), (m, t))  \
  X(pthread_mutex_clocklock, int, (pthread_mutex_t * m, clockid_t c, const struct timespec *t), \
    (m, c, t))                                                                              \
  X(pthread_cond_init, int, (pthread_cond_t * c, const pthread_condattr_t *a), (c, a))      \
  X(pthread_cond_destroy, int, (pthread_cond_t * c), (c))                                   \
  X(pthread_cond_signal, int, (pthread_cond_t * c), (c))                                    \
  X(pthread_cond_broadcast, int, (pthread_cond_t * c), (c))                                 \
  X(pthread_cond_wait, int, (pthread_cond_t * c, pthread_mutex_t *m), (c, m))               \
  X(pthread_cond_timedwait, int,                                                            \
    (pthread_cond_t * c, pthread_mutex_t *m, const struct timespec *t), (c, m, t))          \
  X(pthread_cond_clockwait, int,                                                            \
    (pthread_cond_t * c, pthread_mutex_t *m, clockid_t k, const struct timespec *t),        \
    (c, m, k, t))                                                                           \
  X(sem_init, int, (sem_t * s, int pshared, unsigned v), (s, pshared, v))                   \
  X(sem_destroy, int, (sem_t * s), (s))                                                     \
  X(sem_wait, int, (sem_t * s), (s))                                                        \
  X(sem_timedwait, int, (sem_t * s, const struct timespec *t), (s, t))                      \
  X(sem_clockwait, int, (sem_t * s, clockid_t c, const struct timespec *t), (s, c, t))      \
  X(sem_trywait, int, (sem_t * s), (s))                                                     \
  X(sem_post, int, (sem_t * s), (s))                                                        \
  X(sem_getvalue, int, (sem_t * s, int *v), (s, v))                                         \
  X(sem_close, int, (sem_t * s), (s))                                                       \
  X(pthread_rwlock_init, int, (pthread_rwlock_t * l, const pthread_rwlockattr_t *a), (l, a)) \
  X(pthread_rwlock_destroy, int, (pthread_rwlock_t * l), (l))                               \
  X(pthread_rwlock_rdlock, int, (pthread_rwlock_t * l), (l))                                \
  X(pthread_rwlock_tryrdlock, int, (pthread_rwlock_t * l), (l))                             \
  X(pthread_rwlock_timedrdlock, int, (pthread_rwlock_t * l, const struct timespec *t), (l, t)) \
  X(pthread_rwlock_clockrdlock, int,                                                        \
    (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), (l, c, t))               \
  X(pthread_rwlock_wrlock, int, (pthread_rwlock_t * l), (l))                                \
  X(pthread_rwlock_trywrlock, int, (pthread_rwlock_t * l), (l))                             \
  X(pthread_rwlock_timedwrlock, int, (pthread_rwlock_t * l, const struct timespec *t), (l, t)) \
  X(pthread_rwlock_clockwrlock, int,                                                        \
    (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), (l, c, t))               \
  X(pthread_rwlock_unlock, int, (pthread_rwlock_t * l), (l))

#define GREEN_REALS_NAMES(X)                                                                 \
  X(getaddrinfo, int,                                                                       \
    (const char *node, const char *serv, const struct addrinfo *hints, struct addrinfo **res), \
    (node, serv, hints, res))                                                               \
  X(getnameinfo, int,                                                                       \
    (const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv, \
     socklen_t servlen, int flags),                                                         \
    (sa, salen, host, hostlen, serv, servlen, flags))                                       \
  X(gethostbyname, struct hostent *, (const char *name), (name))                           \
  X(gethostbyname2, struct hostent *, (const char *name, int af), (name, af))              \
  X(gethostbyaddr, struct hostent *, (const void *a, socklen_t len, int type), (a, len, type)) \
  X(gethostbyname_r, int,                                                                   \
    (const char *name, struct hostent *ret, char *buf, size_t len, struct hostent **res,     \
     int *herr),                                                                            \
    (name, ret, buf, len, res, herr))                                                       \
  X(gethostbyname2_r, int,                                                                  \
    (const char *name, int af, struct hostent *ret, char *buf, size_t len,                  \
     struct hostent **res, int *herr),                                                      \
    (name, af, ret, buf, len, res, herr))                                                   \
  X(gethostbyaddr_r, int,                                                                   \
    (const void *a, socklen_t alen, int type, struct hostent *ret, char *buf, size_t len,   \
     struct hostent **res, int *herr),                                                      \
    (a, alen, type, ret, buf, len, res, herr))

/* Calls that name a thread by its id (tid.c): a green thread's id is translated. */
#define GREEN_REALS_IDS(X)                                                                   \
  X(gettid, pid_t, (void), ())                                                              \
  X(tgkill, int, (pid_t tgid, pid_t tid, int sig), (tgid, tid, sig))                        \
  X(sched_setaffinity, int, (pid_t tid, size_t n, const cpu_set_t *set), (tid, n, set))     \
  X(sched_getaffinity, int, (pid_t tid, size_t n, cpu_set_t *set), (tid, n, set))           \
  X(sched_setscheduler, int, (pid_t tid, int pol, const struct sched_param *p),             \
    (tid, pol, p))                                                                          \
  X(sched_getscheduler, int, (pid_t tid), (tid))                                            \
  X(sched_setparam, int, (pid_t tid, const struct sched_param *p), (tid, p))                \
  X(sched_getparam, int, (pid_t tid, struct sched_param *p), (tid, p))                      \
  X(sched_rr_get_interval, int, (pid_t tid, struct timespec *t), (tid, t))                  \
  X(setpriority, int, (__priority_which_t w, id_t who, int prio), (w, who, prio))           \
  X(getpriority, int, (__priority_which_t w, id_t who), (w, who))                           \
  X(fopen, FILE *, (const char *path, const char *mode), (path, mode))                      \
  X(fopen64, FILE *, (const char *path, const char *mode), (path, mode))

/* The runtime's own mutexes: their __wrap_ functions count what the OS thread holds (real.c). */
#define GREEN_REALS_LOCK(X)                                                                  \
  X(pthread_mutex_lock, int, (pthread_mutex_t * m), (m))                                    \
  X(pthread_mutex_trylock, int, (pthread_mutex_t * m), (m))                                 \
  X(pthread_mutex_unlock, int, (pthread_mutex_t * m), (m))

/* The ones returning void: their __wrap_ functions return nothing. */
#define GREEN_REALS_VOID(X)                                                                  \
  X(pthread_exit, void, (void *value), (value))                                             \
  X(pthread_testcancel, void, (void), ())                                                   \
  X(__pthread_register_cancel, void, (__pthread_unwind_buf_t * b), (b))                     \
  X(__pthread_unregister_cancel, void, (__pthread_unwind_buf_t * b), (b))                   \
  X(__pthread_unwind_next, void, (__pthread_unwind_buf_t * b), (b))                        \
  X(freeaddrinfo, void, (struct addrinfo * res), (res))

/* open's mode argument is there only with these flags. */
#define GREEN__OPEN_HAS_MODE(fl) (((fl) & O_CREAT) || ((fl) & O_TMPFILE) == O_TMPFILE)

/* The two the runtime never calls (not wrapped): main()'s start and exit (shim.c). */
#define GREEN_REALS_START(E)                                                                 \
  E(__libc_start_main, int,                                                                 \
    (int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),          \
     void (*fini)(void), void (*rtld_fini)(void), void *stack_end),                          \
    (main, argc, argv, init, fini, rtld_fini, stack_end))                                   \
  E(exit, void, (int status), (status))

#define GREEN__REAL_MEMBER(name, ret, params, args) ret(*name) params;
struct green__real {
  GREEN_REALS(GREEN__REAL_MEMBER)
  GREEN_REALS_VARIADIC(GREEN__REAL_MEMBER)
  GREEN_REALS_LOCK(GREEN__REAL_MEMBER)
  GREEN_REALS_VOID(GREEN__REAL_MEMBER)
  GREEN_REALS_START(GREEN__REAL_MEMBER)
};

/* libc's functions; valid once green__real_ready(). */
extern struct green__real green__real;

/* Resolve every pointer (idempotent, safe from any thread, early or late). */
void green__real_init(void);

extern int green__real_resolved;

/* Called at the top of every hook. A hook can run before the shim's constructor, from
 * another library's constructor. So the pointers are resolved on first need. */
static inline void green__real_ready(void) {
  if (__builtin_expect(!__atomic_load_n(&green__real_resolved, __ATOMIC_ACQUIRE), 0))
    green__real_init();
}

#endif
