/* SPDX-License-Identifier: MIT */
/*
 * The benchmark's reference context switches (AAPCS64).
 *
 * bare_swap(void **save_sp, void *load_sp): saves the callee-saved registers in a 160-byte
 * frame (x19..x28, x29, x30, d8..d15, in that order from sp up), stores sp in *save_sp, loads
 * load_sp and restores the other context's frame; ret jumps to its x30, so a fresh context's
 * frame holds its entry point there.
 *
 * bare_swap_fpu: the same plus FPCR, in a 176-byte frame whose slot 20 (byte 160) holds it.
 */
#if defined(__aarch64__)
        .macro  SAVE_REGS
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
        .endm
        .macro  LOAD_REGS
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
        .endm

        .text
        .globl  bare_swap
        .type   bare_swap, %function
        .p2align 4
bare_swap:
        sub     sp, sp, #160
        SAVE_REGS
        mov     x2, sp
        str     x2, [x0]
        mov     sp, x1
        LOAD_REGS
        add     sp, sp, #160
        ret
        .size   bare_swap, .-bare_swap

        .globl  bare_swap_fpu
        .type   bare_swap_fpu, %function
        .p2align 4
bare_swap_fpu:
        sub     sp, sp, #176
        SAVE_REGS
        mrs     x3, fpcr
        str     x3, [sp, #160]
        mov     x2, sp
        str     x2, [x0]
        mov     sp, x1
        LOAD_REGS
        ldr     x3, [sp, #160]
        msr     fpcr, x3
        add     sp, sp, #176
        ret
        .size   bare_swap_fpu, .-bare_swap_fpu
#endif
        .section .note.GNU-stack,"",%progbits
