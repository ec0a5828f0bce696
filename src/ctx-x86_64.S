/* SPDX-License-Identifier: MIT */
/*
 * x86-64 System V context switch. A suspended context's stack holds, from its saved rsp up:
 *   [0] MXCSR (4 bytes), x87 control word (2), padding (2)
 *   [8] r15 r14 r13 r12 rbx rbp   [56] return address
 * Nothing else is callee-saved in this ABI, so nothing else is stored.
 *
 * The switch loads the saved MXCSR and x87 control word only when they differ from the running
 * ones: the load alone is a sixth of the switch. Most contexts share one state (libev's clock
 * sets the inexact flag everywhere early). Exception flags stay per context, as per thread.
 */
        .text
        .globl  green__ctx_switch
        .hidden green__ctx_switch
        .type   green__ctx_switch, @function
        .p2align 4
/* void green__ctx_switch(green__ctx_t *from, green__ctx_t *to) */
green__ctx_switch:
        .cfi_startproc
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movl    (%rsp), %eax
        movzwl  4(%rsp), %ecx
        movq    %rsp, (%rdi)
        movq    (%rsi), %rsp
        xorl    (%rsp), %eax
        xorw    4(%rsp), %cx
        orl     %ecx, %eax
        jnz     .Lload_fp_control
.Lpop:
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
.Lload_fp_control:
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        jmp     .Lpop
        .cfi_endproc
        .size   green__ctx_switch, .-green__ctx_switch

/* First code of a new context. green__ctx_make left entry in r12 and its argument in r13.
 * rsp is 16-byte aligned here, as the call needs. */
        .globl  green__ctx_trampoline
        .hidden green__ctx_trampoline
        .type   green__ctx_trampoline, @function
green__ctx_trampoline:
        .cfi_startproc
        .cfi_undefined rip
        movq    %r13, %rdi
        callq   *%r12
        ud2
        .cfi_endproc
        .size   green__ctx_trampoline, .-green__ctx_trampoline

        .section .note.GNU-stack,"",@progbits
