/* SPDX-License-Identifier: MIT */
/*
 * The benchmark's reference context switches (x86-64 System V).
 *
 * bare_swap(void **save_sp, void *load_sp): pushes the callee-saved registers, stores rsp in
 * *save_sp, loads load_sp and pops the other context's registers. A suspended context's stack
 * holds, from its saved rsp up: r15 r14 r13 r12 rbx rbp, return address.
 *
 * bare_swap_fpu: the same plus MXCSR and the x87 control word, which the SysV ABI also calls
 * callee-saved, in one more 8-byte slot below r15 (MXCSR in its low 4 bytes, x87 CW next).
 */
#if defined(__x86_64__)
        .text
        .globl  bare_swap
        .type   bare_swap, @function
        .p2align 4
bare_swap:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .size   bare_swap, .-bare_swap

        .globl  bare_swap_fpu
        .type   bare_swap_fpu, @function
        .p2align 4
bare_swap_fpu:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .size   bare_swap_fpu, .-bare_swap_fpu
#endif
        .section .note.GNU-stack,"",@progbits
