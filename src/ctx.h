/* SPDX-License-Identifier: MIT */
/*
 * The context switch. A context is what a suspended greenlet needs to resume. On the assembly
 * targets it is only the stack pointer. The callee-saved registers and the floating-point
 * control state are pushed on the greenlet's own stack. Elsewhere it is a ucontext_t. The
 * choice is made at configure time (GREEN_CONTEXT): ctx-x86_64.S, ctx-aarch64.S, ctx-ucontext.c.
 */
#ifndef GREEN_CTX_H
#define GREEN_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "green_config.h" /* GREEN_CTX_UCONTEXT */

#if GREEN_CTX_UCONTEXT
#include <ucontext.h>
typedef struct green__ctx {
  ucontext_t uc;
  void (*entry)(void *);
  void *arg;
} green__ctx_t;
#else
typedef struct green__ctx {
  void *sp;
} green__ctx_t;
#endif

/* Save the running context into *from and resume *to. Returns when something switches back
 * to *from. */
void green__ctx_switch(green__ctx_t *from, green__ctx_t *to);

/* Prepare *ctx so that switching to it runs entry(arg) on the stack [lo, lo + size).
 * entry must never return. The new context inherits the caller's floating-point control
 * state, as a new thread does. */
void green__ctx_make(green__ctx_t *ctx, void *lo, size_t size, void (*entry)(void *),
                     void *arg);

#endif
