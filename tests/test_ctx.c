/* SPDX-License-Identifier: MIT */
/* The context switch alone (src/ctx.h), below greenlets and the hub. Built natively as a
 * ctest, and by scripts/test for aarch64 under qemu-user (TEST_WITHOUT_HUB: the cross build
 * links only the switch, not libev). */
#include <fenv.h>
#include <stdint.h>

#include "../src/ctx.h"
#include "test.h"

enum { STACK = 64 * 1024 };

static green__ctx_t main_ctx, a_ctx, b_ctx;
static char stack_a[STACK] __attribute__((aligned(16)));
static char stack_b[STACK] __attribute__((aligned(16)));

/* ---- ping-pong -------------------------------------------------------------------------- */

static long turns;

static void ping(void *arg) {
  long n = (long)(intptr_t)arg;
  for (long i = 0; i < n; i++) {
    turns++;
    green__ctx_switch(&a_ctx, &b_ctx);
  }
  green__ctx_switch(&a_ctx, &main_ctx);
  TEST_FAIL("a finished context was resumed");
}

static void pong(void *arg) {
  (void)arg;
  for (;;) {
    turns++;
    green__ctx_switch(&b_ctx, &a_ctx);
  }
}

TEST_CASE(ping_pong) {
  green__ctx_make(&a_ctx, stack_a, sizeof stack_a, ping, (void *)(intptr_t)1000);
  green__ctx_make(&b_ctx, stack_b, sizeof stack_b, pong, NULL);
  green__ctx_switch(&main_ctx, &a_ctx);
  ASSERT_EQ(turns, 2000);
}

/* ---- callee-saved registers ------------------------------------------------------------- */

/* Overwrites every callee-saved register, then switches back: whatever the switch fails to
 * restore, the other side sees as garbage. */
static void clobber(void *arg) {
  (void)arg;
  for (;;) {
#if defined(__x86_64__)
    __asm__ volatile("mov $-1, %%rbx\n mov $-1, %%r12\n mov $-1, %%r13\n"
                     "mov $-1, %%r14\n mov $-1, %%r15\n"
                     ::: "rbx", "r12", "r13", "r14", "r15");
#elif defined(__aarch64__)
    __asm__ volatile("mov x19, #-1\n mov x20, #-1\n mov x21, #-1\n mov x22, #-1\n"
                     "mov x23, #-1\n mov x24, #-1\n mov x25, #-1\n mov x26, #-1\n"
                     "mov x27, #-1\n mov x28, #-1\n"
                     "fmov d8, #-1.0\n fmov d9, #-1.0\n fmov d10, #-1.0\n fmov d11, #-1.0\n"
                     "fmov d12, #-1.0\n fmov d13, #-1.0\n fmov d14, #-1.0\n fmov d15, #-1.0\n"
                     ::: "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",
                         "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15");
#endif
    green__ctx_switch(&b_ctx, &main_ctx);
  }
}

/* Enough integers and doubles live across the switch that the compiler must keep them in
 * callee-saved registers. */
TEST_CASE(callee_saved_preserved) {
  volatile long seed = 7;
  volatile double fseed = 0.5;
  long v[8];
  double f[8];
  green__ctx_make(&b_ctx, stack_b, sizeof stack_b, clobber, NULL);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 8; i++) {
      v[i] = seed * (i + 1) + round;
      f[i] = fseed * (i + 1) + round;
    }
    long s0 = v[0], s1 = v[1], s2 = v[2], s3 = v[3], s4 = v[4], s5 = v[5], s6 = v[6];
    double d0 = f[0], d1 = f[1], d2 = f[2], d3 = f[3], d4 = f[4], d5 = f[5], d6 = f[6];
    green__ctx_switch(&main_ctx, &b_ctx);
    ASSERT_EQ(s0 + s1 + s2 + s3 + s4 + s5 + s6, 7 * 28 + 7 * round);
    ASSERT_TRUE(d0 + d1 + d2 + d3 + d4 + d5 + d6 == 0.5 * 28 + 7 * round);
  }
}

/* ---- floating-point control state ------------------------------------------------------- */

static int seen_by_b[2];

static void rounding(void *arg) {
  (void)arg;
  seen_by_b[0] = fegetround(); /* inherited from whoever made the context */
  fesetround(FE_DOWNWARD);
  green__ctx_switch(&b_ctx, &main_ctx);
  seen_by_b[1] = fegetround();
  green__ctx_switch(&b_ctx, &main_ctx);
  TEST_FAIL("resumed once too often");
}

TEST_CASE(fp_control_preserved) {
  ASSERT_EQ(fesetround(FE_UPWARD), 0);
  green__ctx_make(&b_ctx, stack_b, sizeof stack_b, rounding, NULL);
  ASSERT_EQ(fesetround(FE_TOWARDZERO), 0);
  green__ctx_switch(&main_ctx, &b_ctx);
  ASSERT_EQ(fegetround(), FE_TOWARDZERO); /* b's FE_DOWNWARD did not leak out */
  green__ctx_switch(&main_ctx, &b_ctx);
  ASSERT_EQ(seen_by_b[0], FE_UPWARD);
  ASSERT_EQ(seen_by_b[1], FE_DOWNWARD);
  ASSERT_EQ(fegetround(), FE_TOWARDZERO);
  fesetround(FE_TONEAREST);
}

#if defined(__x86_64__)
/* The switch skips the loads when nothing differs. The x87 control word alone differing (its
 * precision), MXCSR alone (flush to zero), or only the exception flags must still be loaded. */
static unsigned short x87_cw(void) {
  unsigned short cw;
  __asm__ volatile("fnstcw %0" : "=m"(cw));
  return cw;
}

static void set_x87_cw(unsigned short cw) { __asm__ volatile("fldcw %0" : : "m"(cw)); }

static unsigned mxcsr(void) {
  unsigned m;
  __asm__ volatile("stmxcsr %0" : "=m"(m));
  return m;
}

static void set_mxcsr(unsigned m) { __asm__ volatile("ldmxcsr %0" : : "m"(m)); }

static unsigned short cw_seen_by_b;
static unsigned mxcsr_seen_by_b;

static void x87_reader(void *arg) {
  (void)arg;
  for (;;) {
    cw_seen_by_b = x87_cw();
    mxcsr_seen_by_b = mxcsr();
    feclearexcept(FE_ALL_EXCEPT);
    green__ctx_switch(&b_ctx, &main_ctx);
  }
}

TEST_CASE(fp_state_differing_in_one_part_preserved) {
  unsigned short cw = x87_cw();
  green__ctx_make(&b_ctx, stack_b, sizeof stack_b, x87_reader, NULL);
  set_x87_cw((unsigned short)(cw & ~0x0300)); /* single precision; MXCSR untouched */
  green__ctx_switch(&main_ctx, &b_ctx);
  ASSERT_EQ(cw_seen_by_b, cw);
  ASSERT_EQ(x87_cw(), cw & ~0x0300);
  set_x87_cw(cw);

  unsigned m = mxcsr();
  set_mxcsr(m | 0x8000); /* flush to zero; the x87 word untouched */
  green__ctx_switch(&main_ctx, &b_ctx);
  ASSERT_EQ(mxcsr_seen_by_b & 0x8000, 0);
  ASSERT_EQ(mxcsr() & 0x8000, 0x8000);
  set_mxcsr(m);

  set_mxcsr(m | 0x20); /* the inexact flag; b cleared its flags when it last ran */
  green__ctx_switch(&main_ctx, &b_ctx);
  ASSERT_EQ(mxcsr_seen_by_b & 0x20, 0);
  ASSERT_EQ(mxcsr() & 0x20, 0x20);
  set_mxcsr(m);
}
#endif
