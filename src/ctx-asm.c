/* SPDX-License-Identifier: MIT */
/*
 * green__ctx_make for the assembly switches: builds the frame that green__ctx_switch pops,
 * so the first switch to a new context "returns" into green__ctx_trampoline.
 */
#include "ctx.h"

#include <string.h>

void green__ctx_trampoline(void);

#if defined(__x86_64__)
void green__ctx_make(green__ctx_t *ctx, void *lo, size_t size, void (*entry)(void *),
                     void *arg) {
  uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
  uint64_t *frame = (uint64_t *)(top - 16 - 8 * 8); /* 16 bytes of zeros above the frame */
  uint32_t mxcsr;
  uint16_t fpucw;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(fpucw));
  memset(frame, 0, 8 * 8 + 16);
  frame[0] = mxcsr | ((uint64_t)fpucw << 32);
  frame[3] = (uint64_t)(uintptr_t)arg;   /* r13 */
  frame[4] = (uint64_t)(uintptr_t)entry; /* r12 */
  frame[7] = (uint64_t)(uintptr_t)green__ctx_trampoline;
  ctx->sp = frame;
}
#elif defined(__aarch64__)
void green__ctx_make(green__ctx_t *ctx, void *lo, size_t size, void (*entry)(void *),
                     void *arg) {
  uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
  uint64_t *frame = (uint64_t *)(top - 16 - 176);
  uint64_t fpcr;
  __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
  memset(frame, 0, 176 + 16);
  frame[0] = (uint64_t)(uintptr_t)entry; /* x19 */
  frame[1] = (uint64_t)(uintptr_t)arg;   /* x20 */
  frame[11] = (uint64_t)(uintptr_t)green__ctx_trampoline; /* x30 */
  frame[20] = fpcr;
  ctx->sp = frame;
}
#else
#error "no assembly context switch for this target: configure with -DGREEN_CONTEXT=ucontext"
#endif
