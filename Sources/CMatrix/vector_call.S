/* Calls into glibc's vector math (vector_math.c): mbm_vector_call16(f, x) sets x[0..16) to
 * f(x[0..16)) for f a libmvec function of the x86-64 vector ABI that takes and returns its
 * floats in zmm0 (_ZGVeN16v_*); mbm_vector_call8 the same with 8 floats in ymm0 (_ZGVdN8v_*),
 * mbm_vector_call4 with 4 in xmm0 (_ZGVbN4v_*). In assembly because a C call through a
 * function pointer passes a 32- or 64-byte vector in registers only where the whole file is
 * compiled for AVX (clang decides it from the command line, not from a function's target
 * attribute, and otherwise passes it in memory, where libmvec does not read it). The caller
 * checks that the CPU runs the width's instructions. */
#if defined(__x86_64__) && defined(__ELF__)
        .text

        .globl  mbm_vector_call16
        .hidden mbm_vector_call16
        .type   mbm_vector_call16, @function
        .p2align 4
mbm_vector_call16:
        .cfi_startproc
        pushq   %rbx                    /* (also aligns the stack for the call) */
        .cfi_def_cfa_offset 16
        .cfi_offset %rbx, -16
        movq    %rsi, %rbx
        vmovups (%rsi), %zmm0
        call    *%rdi
        vmovups %zmm0, (%rbx)
        vzeroupper
        popq    %rbx
        .cfi_def_cfa_offset 8
        ret
        .cfi_endproc
        .size   mbm_vector_call16, .-mbm_vector_call16

        .globl  mbm_vector_call8
        .hidden mbm_vector_call8
        .type   mbm_vector_call8, @function
        .p2align 4
mbm_vector_call8:
        .cfi_startproc
        pushq   %rbx
        .cfi_def_cfa_offset 16
        .cfi_offset %rbx, -16
        movq    %rsi, %rbx
        vmovups (%rsi), %ymm0
        call    *%rdi
        vmovups %ymm0, (%rbx)
        vzeroupper
        popq    %rbx
        .cfi_def_cfa_offset 8
        ret
        .cfi_endproc
        .size   mbm_vector_call8, .-mbm_vector_call8

        .globl  mbm_vector_call4
        .hidden mbm_vector_call4
        .type   mbm_vector_call4, @function
        .p2align 4
mbm_vector_call4:
        .cfi_startproc
        pushq   %rbx
        .cfi_def_cfa_offset 16
        .cfi_offset %rbx, -16
        movq    %rsi, %rbx
        movups  (%rsi), %xmm0
        call    *%rdi
        movups  %xmm0, (%rbx)
        popq    %rbx
        .cfi_def_cfa_offset 8
        ret
        .cfi_endproc
        .size   mbm_vector_call4, .-mbm_vector_call4
#endif

#if defined(__ELF__)
        .section .note.GNU-stack, "", %progbits
#endif
