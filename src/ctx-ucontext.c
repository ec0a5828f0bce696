/* SPDX-License-Identifier: MIT */
/*
 * Portable fallback context switch on getcontext/makecontext/swapcontext, for targets with
 * no assembly switch. Slower: glibc's swapcontext also saves the signal mask with a
 * sigprocmask system call on every switch.
 */
#include "ctx.h"

#include <stdint.h>

#include "internal.h"

/* makecontext passes only ints: the context pointer travels as two 32-bit halves. */
static void trampoline(unsigned hi, unsigned lo) {
  green__ctx_t *ctx = (green__ctx_t *)(((uintptr_t)hi << 16 << 16) | (uintptr_t)lo);
  ctx->entry(ctx->arg);
  green__fatal("context entry returned");
}

void green__ctx_make(green__ctx_t *ctx, void *lo, size_t size, void (*entry)(void *),
                     void *arg) {
  uintptr_t p = (uintptr_t)ctx;
  if (getcontext(&ctx->uc) != 0) green__fatal("getcontext failed");
  ctx->uc.uc_stack.ss_sp = lo;
  ctx->uc.uc_stack.ss_size = size;
  ctx->uc.uc_link = NULL;
  ctx->entry = entry;
  ctx->arg = arg;
  makecontext(&ctx->uc, (void (*)(void))trampoline, 2, (unsigned)(p >> 16 >> 16),
              (unsigned)(p & 0xffffffffu));
}

void green__ctx_switch(green__ctx_t *from, green__ctx_t *to) {
  if (swapcontext(&from->uc, &to->uc) != 0) green__fatal("swapcontext failed");
}
