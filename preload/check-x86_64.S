/* SPDX-License-Identifier: MIT */
/*
 * greenrun --check (check.c): the only code from which the checked thread's system calls
 * reach the kernel without a trap. Syscall User Dispatch lets through the calls whose return
 * address lies in [green__check_region_start, green__check_region_end): everything between
 * the two labels, and the byte after the last syscall instruction, must stay inside.
 */
	.text
	.p2align 4
	.globl green__check_region_start
	.hidden green__check_region_start
green__check_region_start:

/* long green__check_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5):
 * the raw result (-errno on failure). */
	.globl green__check_syscall
	.hidden green__check_syscall
	.type green__check_syscall, @function
green__check_syscall:
	.cfi_startproc
	movq %rdi, %rax
	movq %rsi, %rdi
	movq %rdx, %rsi
	movq %rcx, %rdx
	movq %r8, %r10
	movq %r9, %r8
	movq 8(%rsp), %r9
	syscall
	ret
	.cfi_endproc
	.size green__check_syscall, .-green__check_syscall

/* void green__check_sigreturn(void *sp): rt_sigreturn with the stack pointer a signal
 * handler's restorer had when it was trapped: returns from that handler, never here. */
	.globl green__check_sigreturn
	.hidden green__check_sigreturn
	.type green__check_sigreturn, @function
green__check_sigreturn:
	movq %rdi, %rsp
	movl $15, %eax
	syscall
	ud2
	.size green__check_sigreturn, .-green__check_sigreturn

/* long green__check_clone(const long regs[13]): clone or clone3 onto a new stack, with the
 * trapped context's registers: regs = rax (the number), rdi, rsi, rdx, r10, r8, r9, rbx, rbp,
 * r12, r13, r14, r15. The caller has pushed the address to resume at onto the child's stack
 * (and lowered the stack argument by 8): the child returns there, on its own stack, exactly
 * as from the trapped syscall instruction. The parent gets the result. */
	.globl green__check_clone
	.hidden green__check_clone
	.type green__check_clone, @function
green__check_clone:
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rdi, %r11
	movq 0(%r11), %rax
	movq 8(%r11), %rdi
	movq 16(%r11), %rsi
	movq 24(%r11), %rdx
	movq 32(%r11), %r10
	movq 40(%r11), %r8
	movq 48(%r11), %r9
	movq 56(%r11), %rbx
	movq 64(%r11), %rbp
	movq 72(%r11), %r12
	movq 80(%r11), %r13
	movq 88(%r11), %r14
	movq 96(%r11), %r15
	syscall
	testq %rax, %rax
	jnz 1f
	ret			/* the child: pops the resume address off its new stack */
1:	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	ret
	.size green__check_clone, .-green__check_clone

/* The SIGSYS handler's restorer (SA_RESTORER). These exact bytes (mov $15, %rax; syscall)
 * are what libunwind and gdb recognise as a signal frame's return. */
	.globl green__check_restorer
	.hidden green__check_restorer
	.type green__check_restorer, @function
green__check_restorer:
	.byte 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00	/* movq $15, %rax */
	syscall
	ud2
	.size green__check_restorer, .-green__check_restorer

	.globl green__check_region_end
	.hidden green__check_region_end
green__check_region_end:

	.section .note.GNU-stack, "", @progbits
