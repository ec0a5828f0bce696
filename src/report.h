/* SPDX-License-Identifier: MIT */
/*
 * Reports the runtime writes by itself: the watchdog's, dumps, stack overflows, deadlocks.
 * Lines are built in a fixed buffer and written straight to an fd (no malloc, no stdio). Most
 * are written from a signal handler or a broken state. Backtraces come from libunwind,
 * loaded privately on first need (green__unwind_load), and dladdr.
 */
#ifndef GREEN_REPORT_H
#define GREEN_REPORT_H

#include <stddef.h>
#include <ucontext.h>

#include "greenlet.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

typedef struct green__report {
  int fd;
  int deep;   /* backtraces show the innermost and outermost frames and count the rest */
  size_t n;
  char buf[4096];
} green__report_t;

/* What a layer on top of the library adds to reports; every member may be NULL. */
typedef struct green__report_ops {
  const char *(*prefix)(void); /* each line's prefix ("libgreen" when NULL) */
  /* Words that name g for a report (the layer's own name for it); returns the length written. */
  size_t (*describe)(green_t *g, char *buf, size_t len);
  void (*enter)(void); /* around every report (in a signal handler or not) and libunwind's */
  void (*leave)(void); /* load: a layer that intercepts calls passes those made there to libc */
} green__report_ops_t;

extern green__report_ops_t green__report_ops;

/* Around every report, in a handler or not. The calls libunwind and libc make meanwhile go
 * straight to the kernel. libunwind, for one, writes to a pipe to test addresses. */
static inline void green__report_enter(void) {
  if (green__report_ops.enter) green__report_ops.enter();
}
static inline void green__report_leave(void) {
  if (green__report_ops.leave) green__report_ops.leave();
}

static inline void green__report_init(green__report_t *r, int fd) {
  r->fd = fd;
  r->deep = 0;
  r->n = 0;
}

/* Append to the buffer; it is written out whenever it fills up. */
void green__report_put(green__report_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Write the buffer out. */
void green__report_flush(green__report_t *r);

/* The prefix of each line. */
const char *green__report_prefix(void);

/* Whether the file name of path starts with one of names (NULL-terminated). */
int green__report_named(const char *path, const char *const *names);

/* Append the words that name g: "greenlet 42 \"name\"", "the main greenlet", or describe's. */
void green__report_name(green__report_t *r, green_t *g);

/* Load libunwind now if it is not yet (never from a signal handler: it takes locks and
 * opens a pipe). Returns whether backtraces are possible. */
int green__unwind_load(void);

/* libunwind's calls, valid once green__unwind_load has returned 1 (ready is set then). */
extern struct green__unw {
  int (*init_local2)(unw_cursor_t *, unw_context_t *, int);
  int (*step)(unw_cursor_t *);
  int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
  int (*get_proc_info)(unw_cursor_t *, unw_proc_info_t *);
  int (*get_proc_name)(unw_cursor_t *, char *, size_t, unw_word_t *);
  int ready;
} green__unw;

/* Whose code an address is (green__code_of). */
enum {
  GREEN__CODE_NONE,    /* in no loaded object (JIT code) */
  GREEN__CODE_PROGRAM, /* the program's own */
  GREEN__CODE_SYSTEM,  /* calls pass through it: libc, the loader, libgcc, libstdc++, libunwind,
                          the allocators, the sanitizers, the vDSO */
  GREEN__CODE_RUNTIME, /* libgreen (and the object it is linked into), libev, c-ares */
};

/* Which of those the code at ip is. For a return address, pass ip - 1: it may be past its
 * call. Valid once green__unwind_load has run. */
int green__code_of(uintptr_t ip);

/* How fd is described in reports: "a socket", "a pipe", "an eventfd", "not open"... */
const char *green__report_fd_kind(int fd);

/* Append the backtrace of the code uc interrupted (a signal handler's context), one line
 * per frame, each starting with `indent`. */
void green__report_backtrace_signal(green__report_t *r, ucontext_t *uc, const char *indent);

/* Append the backtrace of a greenlet that is switched out (not running on any thread). It
 * comes from the saved context, without switching to the greenlet. */
void green__report_backtrace_parked(green__report_t *r, green_t *g, const char *indent);

/* Append the backtrace of the caller, from the frame below the one of function `below`. The
 * report's own frames are left out. Every frame goes in when none is `below`. */
void green__report_backtrace_here(green__report_t *r, const char *indent, const char *below);

#endif
