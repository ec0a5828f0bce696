/* SPDX-License-Identifier: MIT */
/*
 * AArch64 (AAPCS64) context switch. A suspended context's stack holds, from its saved sp up:
 *   [0] x19..x28  [80] x29 (fp), x30 (lr)  [96] d8..d15  [160] FPCR  [168] padding
 * These are exactly the registers the ABI makes callee-saved, plus the FP control register.
 */
        .text
        .globl  green__ctx_switch
        .hidden green__ctx_switch
        .type   green__ctx_switch, %function
        .p2align 4
/* void green__ctx_switch(green__ctx_t *from, green__ctx_t *to) */
green__ctx_switch:
        .cfi_startproc
        sub     sp, sp, #176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mrs     x9, fpcr
        str     x9, [sp, #160]
        mov     x10, sp
        str     x10, [x0]
        ldr     x10, [x1]
        mov     sp, x10
        /* Writing FPCR costs more than the rest of the switch, and greenlets almost never
         * differ in it. So write it only when it differs from what is live (x9). */
        ldr     x10, [sp, #160]
        cmp     x9, x10
        b.eq    1f
        msr     fpcr, x10
1:
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #176
        ret
        .cfi_endproc
        .size   green__ctx_switch, .-green__ctx_switch

/* First code of a new context: green__ctx_make left entry in x19 and its argument in x20. */
        .globl  green__ctx_trampoline
        .hidden green__ctx_trampoline
        .type   green__ctx_trampoline, %function
        .p2align 4
green__ctx_trampoline:
        .cfi_startproc
        .cfi_undefined x30
        mov     x0, x20
        blr     x19
        brk     #0
        .cfi_endproc
        .size   green__ctx_trampoline, .-green__ctx_trampoline

        .section .note.GNU-stack,"",%progbits
