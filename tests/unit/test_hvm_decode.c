/*
 * test_hvm_decode.c - host unit tests for the HVM MMIO decoder (cmocka,
 * ASan/UBSan). Tests: every supported form in 16-, 32- and 64-bit code
 * (bytes from GNU as, expected fields written from the mnemonic), each cut
 * short at every length; every ModRM mod/rm (and SIB base) length in 16-,
 * 32- and 64-bit addressing; prefixes in several orders, REX not last,
 * REX.W against 0x66, AH..BH against SPL..DIL; the 15-byte limit; the
 * refused forms; the store-value and load-complete helpers; and a fuzz
 * loop over exactly-sized buffers (ASan sees any read past avail).
 * Links: hv/arch/x86/hvm/decode.c only. Mocks: nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xenolith/hvm_decode.h>
#include <xenolith/errno.h>

#define EINVAL_RC     (-XL_EINVAL)
#define EOPNOTSUPP_RC (-XL_EOPNOTSUPP)

struct form {
    int mode;
    uint8_t len;
    uint8_t bytes[15];
    enum hvm_mmio_kind kind;
    uint8_t size, dst_size, reg, high_byte, sign_extend;
    uint64_t imm;
};

#define L HVM_MMIO_LOAD
#define S HVM_MMIO_STORE_REG
#define I HVM_MMIO_STORE_IMM

/* Encodings from GNU as (.intel_syntax, .code16/32/64); the expected
 * fields are read off the instruction in the comment. */
static const struct form as_forms[] = {
    { 64, 2, { 0x88, 0x00 }, HVM_MMIO_STORE_REG, 1, 0, 0, 0, 0, 0x0 }, /* mov byte ptr [rax], al */
    { 64, 2, { 0x88, 0x20 }, HVM_MMIO_STORE_REG, 1, 0, 0, 1, 0, 0x0 }, /* mov byte ptr [rax], ah */
    { 64, 2, { 0x88, 0x3b }, HVM_MMIO_STORE_REG, 1, 0, 3, 1, 0, 0x0 }, /* mov byte ptr [rbx], bh */
    { 64, 3, { 0x40, 0x88, 0x20 }, HVM_MMIO_STORE_REG, 1, 0, 4, 0, 0, 0x0 }, /* mov byte ptr [rax], spl */
    { 64, 3, { 0x40, 0x88, 0x38 }, HVM_MMIO_STORE_REG, 1, 0, 7, 0, 0, 0x0 }, /* mov byte ptr [rax], dil */
    { 64, 3, { 0x44, 0x88, 0x08 }, HVM_MMIO_STORE_REG, 1, 0, 9, 0, 0, 0x0 }, /* mov byte ptr [rax], r9b */
    { 64, 3, { 0x66, 0x89, 0x08 }, HVM_MMIO_STORE_REG, 2, 0, 1, 0, 0, 0x0 }, /* mov word ptr [rax], cx */
    { 64, 4, { 0x89, 0x54, 0x24, 0x08 }, HVM_MMIO_STORE_REG, 4, 0, 2, 0, 0, 0x0 }, /* mov dword ptr [rsp+8], edx */
    { 64, 4, { 0x4c, 0x89, 0x7d, 0x80 }, HVM_MMIO_STORE_REG, 8, 0, 15, 0, 0, 0x0 }, /* mov qword ptr [rbp-0x80], r15 */
    { 64, 7, { 0x48, 0x89, 0x35, 0x78, 0x56, 0x34, 0x12 }, HVM_MMIO_STORE_REG, 8, 0, 6, 0, 0, 0x0 }, /* mov qword ptr [rip+0x12345678], rsi */
    { 64, 8, { 0x47, 0x89, 0xb4, 0xac, 0x00, 0x10, 0x00, 0x00 }, HVM_MMIO_STORE_REG, 4, 0, 14, 0, 0, 0x0 }, /* mov dword ptr [r12+r13*4+0x1000], r14d */
    { 64, 4, { 0x41, 0x89, 0x45, 0x00 }, HVM_MMIO_STORE_REG, 4, 0, 0, 0, 0, 0x0 }, /* mov dword ptr [r13], eax */
    { 64, 7, { 0x89, 0x1c, 0xcd, 0x00, 0x01, 0x00, 0x00 }, HVM_MMIO_STORE_REG, 4, 0, 3, 0, 0, 0x0 }, /* mov dword ptr [0x100+rcx*8], ebx */
    { 64, 2, { 0x8a, 0x07 }, HVM_MMIO_LOAD, 1, 1, 0, 0, 0, 0x0 }, /* mov al, byte ptr [rdi] */
    { 64, 2, { 0x8a, 0x2f }, HVM_MMIO_LOAD, 1, 1, 1, 1, 0, 0x0 }, /* mov ch, byte ptr [rdi] */
    { 64, 3, { 0x40, 0x8a, 0x2f }, HVM_MMIO_LOAD, 1, 1, 5, 0, 0, 0x0 }, /* mov bpl, byte ptr [rdi] */
    { 64, 5, { 0x66, 0x44, 0x8b, 0x42, 0x7f }, HVM_MMIO_LOAD, 2, 2, 8, 0, 0, 0x0 }, /* mov r8w, word ptr [rdx+0x7f] */
    { 64, 6, { 0x8b, 0x0d, 0xfc, 0xff, 0xff, 0xff }, HVM_MMIO_LOAD, 4, 4, 1, 0, 0, 0x0 }, /* mov ecx, dword ptr [rip-4] */
    { 64, 6, { 0x64, 0x48, 0x8b, 0x44, 0x73, 0xf0 }, HVM_MMIO_LOAD, 8, 8, 0, 0, 0, 0x0 }, /* mov rax, qword ptr fs:[rbx+rsi*2-0x10] */
    { 64, 9, { 0x65, 0x4c, 0x8b, 0x1c, 0x25, 0x28, 0x00, 0x00, 0x00 }, HVM_MMIO_LOAD, 8, 8, 11, 0, 0, 0x0 }, /* mov r11, qword ptr gs:[0x28] */
    { 64, 3, { 0xc6, 0x00, 0x5a }, HVM_MMIO_STORE_IMM, 1, 0, 0, 0, 0, 0x5a }, /* mov byte ptr [rax], 0x5a */
    { 64, 6, { 0x66, 0xc7, 0x04, 0x18, 0xef, 0xbe }, HVM_MMIO_STORE_IMM, 2, 0, 0, 0, 0, 0xbeef }, /* mov word ptr [rax+rbx], 0xbeef */
    { 64, 10, { 0xc7, 0x05, 0x40, 0x00, 0x00, 0x00, 0xef, 0xbe, 0xad, 0xde }, HVM_MMIO_STORE_IMM, 4, 0, 0, 0, 0, 0xdeadbeef }, /* mov dword ptr [rip+0x40], 0xdeadbeef */
    { 64, 7, { 0x49, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff }, HVM_MMIO_STORE_IMM, 8, 0, 0, 0, 0, 0xffffffffffffffff }, /* mov qword ptr [r8], -1 */
    { 64, 7, { 0x49, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80 }, HVM_MMIO_STORE_IMM, 8, 0, 0, 0, 0, 0xffffffff80000000 }, /* mov qword ptr [r8], -0x80000000 */
    { 64, 12, { 0x4b, 0xc7, 0x84, 0xc8, 0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0x7f }, HVM_MMIO_STORE_IMM, 8, 0, 0, 0, 0, 0x7fffffff }, /* mov qword ptr [r8+r9*8+0x12345678], 0x7fffffff */
    { 64, 9, { 0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, HVM_MMIO_LOAD, 1, 1, 0, 0, 0, 0x0 }, /* movabs al, byte ptr [0x1122334455667788] */
    { 64, 9, { 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, HVM_MMIO_LOAD, 4, 4, 0, 0, 0, 0x0 }, /* movabs eax, dword ptr [0x1122334455667788] */
    { 64, 10, { 0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, HVM_MMIO_LOAD, 8, 8, 0, 0, 0, 0x0 }, /* movabs rax, qword ptr [0x1122334455667788] */
    { 64, 10, { 0x66, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, HVM_MMIO_STORE_REG, 2, 0, 0, 0, 0, 0x0 }, /* movabs word ptr [0x1122334455667788], ax */
    { 64, 10, { 0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 }, HVM_MMIO_STORE_REG, 8, 0, 0, 0, 0, 0x0 }, /* movabs qword ptr [0x1122334455667788], rax */
    { 64, 6, { 0x67, 0xa1, 0x44, 0x33, 0x22, 0x11 }, HVM_MMIO_LOAD, 4, 4, 0, 0, 0, 0x0 }, /* addr32 mov eax, dword ptr [0x11223344] */
    { 64, 3, { 0x0f, 0xb6, 0x06 }, HVM_MMIO_LOAD, 1, 4, 0, 0, 0, 0x0 }, /* movzx eax, byte ptr [rsi] */
    { 64, 5, { 0x4c, 0x0f, 0xb7, 0x56, 0x10 }, HVM_MMIO_LOAD, 2, 8, 10, 0, 0, 0x0 }, /* movzx r10, word ptr [rsi+0x10] */
    { 64, 4, { 0x66, 0x0f, 0xb6, 0x26 }, HVM_MMIO_LOAD, 1, 2, 4, 0, 0, 0x0 }, /* movzx sp, byte ptr [rsi] */
    { 64, 4, { 0x48, 0x0f, 0xbe, 0x16 }, HVM_MMIO_LOAD, 1, 8, 2, 0, 1, 0x0 }, /* movsx rdx, byte ptr [rsi] */
    { 64, 4, { 0x41, 0x0f, 0xbf, 0x39 }, HVM_MMIO_LOAD, 2, 4, 7, 0, 1, 0x0 }, /* movsx edi, word ptr [r9] */
    { 64, 8, { 0x66, 0x0f, 0xbe, 0x0d, 0x10, 0x00, 0x00, 0x00 }, HVM_MMIO_LOAD, 1, 2, 1, 0, 1, 0x0 }, /* movsx cx, byte ptr [rip+0x10] */
    { 64, 4, { 0x4c, 0x63, 0x24, 0x08 }, HVM_MMIO_LOAD, 4, 8, 12, 0, 1, 0x0 }, /* movsxd r12, dword ptr [rax+rcx] */
    { 64, 4, { 0x67, 0x48, 0x63, 0x00 }, HVM_MMIO_LOAD, 4, 8, 0, 0, 1, 0x0 }, /* movsxd rax, dword ptr [eax] */
    { 64, 7, { 0x67, 0x8b, 0x15, 0x10, 0x00, 0x00, 0x00 }, HVM_MMIO_LOAD, 4, 4, 2, 0, 0, 0x0 }, /* mov edx, dword ptr [eip+0x10] */
    { 64, 5, { 0x67, 0x43, 0x89, 0x04, 0x48 }, HVM_MMIO_STORE_REG, 4, 0, 0, 0, 0, 0x0 }, /* mov dword ptr [r8d+r9d*2], eax */
    { 64, 4, { 0x26, 0xc6, 0x00, 0x01 }, HVM_MMIO_STORE_IMM, 1, 0, 0, 0, 0, 0x1 }, /* mov byte ptr es:[rax], 1 */
    { 64, 6, { 0x66, 0xc7, 0x04, 0x24, 0x34, 0x12 }, HVM_MMIO_STORE_IMM, 2, 0, 0, 0, 0, 0x1234 }, /* mov word ptr ss:[rsp], 0x1234 */
    { 32, 2, { 0x88, 0x38 }, HVM_MMIO_STORE_REG, 1, 0, 3, 1, 0, 0x0 }, /* mov byte ptr [eax], bh */
    { 32, 2, { 0x88, 0x10 }, HVM_MMIO_STORE_REG, 1, 0, 2, 0, 0, 0x0 }, /* mov byte ptr [eax], dl */
    { 32, 3, { 0x89, 0x3c, 0x24 }, HVM_MMIO_STORE_REG, 4, 0, 7, 0, 0, 0x0 }, /* mov dword ptr [esp], edi */
    { 32, 7, { 0x66, 0x89, 0xb5, 0x34, 0x12, 0x00, 0x00 }, HVM_MMIO_STORE_REG, 2, 0, 6, 0, 0, 0x0 }, /* mov word ptr [ebp+0x1234], si */
    { 32, 6, { 0x89, 0x2d, 0x78, 0x56, 0x34, 0x12 }, HVM_MMIO_STORE_REG, 4, 0, 5, 0, 0, 0x0 }, /* mov dword ptr [0x12345678], ebp */
    { 32, 4, { 0x89, 0x44, 0xf3, 0x01 }, HVM_MMIO_STORE_REG, 4, 0, 0, 0, 0, 0x0 }, /* mov dword ptr [ebx+esi*8+1], eax */
    { 32, 2, { 0x8a, 0x21 }, HVM_MMIO_LOAD, 1, 1, 0, 1, 0, 0x0 }, /* mov ah, byte ptr [ecx] */
    { 32, 3, { 0x8b, 0x24, 0x01 }, HVM_MMIO_LOAD, 4, 4, 4, 0, 0, 0x0 }, /* mov esp, dword ptr [ecx+eax*1] */
    { 32, 7, { 0x64, 0x66, 0xa1, 0x10, 0x00, 0x00, 0x00 }, HVM_MMIO_LOAD, 2, 2, 0, 0, 0, 0x0 }, /* mov ax, word ptr fs:[0x10] */
    { 32, 3, { 0x67, 0x8b, 0x08 }, HVM_MMIO_LOAD, 4, 4, 1, 0, 0, 0x0 }, /* mov ecx, dword ptr [bx+si] */
    { 32, 5, { 0x67, 0x8b, 0x8b, 0x34, 0x12 }, HVM_MMIO_LOAD, 4, 4, 1, 0, 0, 0x0 }, /* mov ecx, dword ptr [bp+di+0x1234] */
    { 32, 3, { 0xc6, 0x03, 0x80 }, HVM_MMIO_STORE_IMM, 1, 0, 0, 0, 0, 0x80 }, /* mov byte ptr [ebx], 0x80 */
    { 32, 5, { 0x66, 0xc7, 0x03, 0x00, 0x80 }, HVM_MMIO_STORE_IMM, 2, 0, 0, 0, 0, 0x8000 }, /* mov word ptr [ebx], 0x8000 */
    { 32, 7, { 0xc7, 0x43, 0x7f, 0x00, 0x00, 0x00, 0x80 }, HVM_MMIO_STORE_IMM, 4, 0, 0, 0, 0, 0x80000000 }, /* mov dword ptr [ebx+0x7f], 0x80000000 */
    { 32, 5, { 0xa0, 0x78, 0x56, 0x34, 0x12 }, HVM_MMIO_LOAD, 1, 1, 0, 0, 0, 0x0 }, /* mov al, byte ptr ds:[0x12345678] */
    { 32, 5, { 0xa1, 0x78, 0x56, 0x34, 0x12 }, HVM_MMIO_LOAD, 4, 4, 0, 0, 0, 0x0 }, /* mov eax, dword ptr ds:[0x12345678] */
    { 32, 6, { 0x66, 0xa3, 0x78, 0x56, 0x34, 0x12 }, HVM_MMIO_STORE_REG, 2, 0, 0, 0, 0, 0x0 }, /* mov word ptr ds:[0x12345678], ax */
    { 32, 4, { 0x67, 0xa2, 0x34, 0x12 }, HVM_MMIO_STORE_REG, 1, 0, 0, 0, 0, 0x0 }, /* addr16 mov byte ptr ds:[0x1234], al */
    { 32, 3, { 0x0f, 0xb6, 0x10 }, HVM_MMIO_LOAD, 1, 4, 2, 0, 0, 0x0 }, /* movzx edx, byte ptr [eax] */
    { 32, 4, { 0x66, 0x0f, 0xb6, 0x10 }, HVM_MMIO_LOAD, 1, 2, 2, 0, 0, 0x0 }, /* movzx dx, byte ptr [eax] */
    { 32, 4, { 0x0f, 0xbf, 0x58, 0x10 }, HVM_MMIO_LOAD, 2, 4, 3, 0, 1, 0x0 }, /* movsx ebx, word ptr [eax+0x10] */
    { 32, 4, { 0x2e, 0x0f, 0xbe, 0x18 }, HVM_MMIO_LOAD, 1, 4, 3, 0, 1, 0x0 }, /* movsx ebx, byte ptr cs:[eax] */
    { 16, 2, { 0x88, 0x00 }, HVM_MMIO_STORE_REG, 1, 0, 0, 0, 0, 0x0 }, /* mov byte ptr [bx+si], al */
    { 16, 2, { 0x88, 0x2f }, HVM_MMIO_STORE_REG, 1, 0, 1, 1, 0, 0x0 }, /* mov byte ptr [bx], ch */
    { 16, 3, { 0x89, 0x56, 0x00 }, HVM_MMIO_STORE_REG, 2, 0, 2, 0, 0, 0x0 }, /* mov word ptr [bp], dx */
    { 16, 4, { 0x89, 0x1e, 0x34, 0x12 }, HVM_MMIO_STORE_REG, 2, 0, 3, 0, 0, 0x0 }, /* mov word ptr [0x1234], bx */
    { 16, 4, { 0x66, 0x89, 0x4c, 0x12 }, HVM_MMIO_STORE_REG, 4, 0, 1, 0, 0, 0x0 }, /* mov dword ptr [si+0x12], ecx */
    { 16, 9, { 0x67, 0x66, 0x89, 0xb4, 0x48, 0x00, 0x01, 0x00, 0x00 }, HVM_MMIO_STORE_REG, 4, 0, 6, 0, 0, 0x0 }, /* mov dword ptr [eax+ecx*2+0x100], esi */
    { 16, 4, { 0x8a, 0xb5, 0x00, 0xf0 }, HVM_MMIO_LOAD, 1, 1, 2, 1, 0, 0x0 }, /* mov dh, byte ptr [di-0x1000] */
    { 16, 3, { 0x26, 0x8b, 0x21 }, HVM_MMIO_LOAD, 2, 2, 4, 0, 0, 0x0 }, /* mov sp, word ptr es:[bx+di] */
    { 16, 5, { 0x67, 0x66, 0x8b, 0x45, 0x00 }, HVM_MMIO_LOAD, 4, 4, 0, 0, 0, 0x0 }, /* mov eax, dword ptr [ebp] */
    { 16, 3, { 0xc6, 0x07, 0xff }, HVM_MMIO_STORE_IMM, 1, 0, 0, 0, 0, 0xff }, /* mov byte ptr [bx], 0xff */
    { 16, 4, { 0xc7, 0x07, 0xfe, 0xff }, HVM_MMIO_STORE_IMM, 2, 0, 0, 0, 0, 0xfffe }, /* mov word ptr [bx], 0xfffe */
    { 16, 7, { 0x66, 0xc7, 0x07, 0xef, 0xcd, 0xab, 0x89 }, HVM_MMIO_STORE_IMM, 4, 0, 0, 0, 0, 0x89abcdef }, /* mov dword ptr [bx], 0x89abcdef */
    { 16, 3, { 0xa0, 0x34, 0x12 }, HVM_MMIO_LOAD, 1, 1, 0, 0, 0, 0x0 }, /* mov al, byte ptr ds:[0x1234] */
    { 16, 3, { 0xa1, 0x34, 0x12 }, HVM_MMIO_LOAD, 2, 2, 0, 0, 0, 0x0 }, /* mov ax, word ptr ds:[0x1234] */
    { 16, 4, { 0x66, 0xa1, 0x34, 0x12 }, HVM_MMIO_LOAD, 4, 4, 0, 0, 0, 0x0 }, /* mov eax, dword ptr ds:[0x1234] */
    { 16, 6, { 0x67, 0xa3, 0x78, 0x56, 0x34, 0x12 }, HVM_MMIO_STORE_REG, 2, 0, 0, 0, 0, 0x0 }, /* addr32 mov word ptr ds:[0x12345678], ax */
    { 16, 3, { 0x0f, 0xb6, 0x04 }, HVM_MMIO_LOAD, 1, 2, 0, 0, 0, 0x0 }, /* movzx ax, byte ptr [si] */
    { 16, 4, { 0x66, 0x0f, 0xb7, 0x0c }, HVM_MMIO_LOAD, 2, 4, 1, 0, 0, 0x0 }, /* movzx ecx, word ptr [si] */
    { 16, 4, { 0x0f, 0xbe, 0x56, 0x02 }, HVM_MMIO_LOAD, 1, 2, 2, 0, 1, 0x0 }, /* movsx dx, byte ptr [bp+2] */
};

/* Hand-made: prefix orders, REX not last, REX.W against 0x66, two REX,
 * the 15-byte maximum. */
static const struct form hand_forms[] = {
    /* REX followed by a legacy prefix is ignored: 0x66 alone rules. */
    { 64, 4, { 0x48, 0x66, 0x89, 0x00 }, S, 2, 0, 0, 0, 0, 0 },
    /* REX.W beats 0x66 when it is last. */
    { 64, 4, { 0x66, 0x48, 0x89, 0x00 }, S, 8, 0, 0, 0, 0, 0 },
    /* 88 /4 with the REX voided by a segment prefix: AH, not SPL. */
    { 64, 4, { 0x41, 0x2e, 0x88, 0x20 }, S, 1, 0, 0, 1, 0, 0 },
    { 64, 4, { 0x2e, 0x41, 0x88, 0x20 }, S, 1, 0, 4, 0, 0, 0 },
    { 64, 4, { 0x40, 0x66, 0x8a, 0x3f }, L, 1, 1, 3, 1, 0, 0 },  /* bh */
    { 64, 3, { 0x40, 0x8a, 0x3f }, L, 1, 1, 7, 0, 0, 0 },        /* dil */
    { 64, 3, { 0x44, 0x8a, 0x3f }, L, 1, 1, 15, 0, 0, 0 },       /* r15b */
    /* Two REX: the last one counts. */
    { 64, 4, { 0x44, 0x48, 0x89, 0x00 }, S, 8, 0, 0, 0, 0, 0 },
    { 64, 4, { 0x48, 0x44, 0x89, 0x00 }, S, 4, 0, 8, 0, 0, 0 },
    /* A voided REX does not change the register or the size; 0x67 still
     * applies (32-bit addressing, disp32 EIP-relative). */
    { 64, 8, { 0x4c, 0x67, 0x8b, 0x05, 1, 2, 3, 4 }, L, 4, 4, 0, 0, 0, 0 },
    /* The same three prefixes in two orders; SIB base 5, mod 0: disp32. */
    { 64, 10, { 0x66, 0x67, 0x2e, 0x8b, 0x04, 0x25, 1, 2, 3, 4 }, L, 2, 2, 0, 0, 0, 0 },
    { 64, 10, { 0x2e, 0x67, 0x66, 0x8b, 0x04, 0x25, 1, 2, 3, 4 }, L, 2, 2, 0, 0, 0, 0 },
    { 64, 7, { 0x8b, 0x04, 0x25, 1, 2, 3, 4 }, L, 4, 4, 0, 0, 0, 0 },
    /* Segment prefixes repeated: harmless. */
    { 64, 6, { 0x65, 0x64, 0x65, 0x3e, 0x89, 0x00 }, S, 4, 0, 0, 0, 0, 0 },
    /* 32-bit code, 16-bit addressing by 0x67 (mod 0 rm 6: disp16), both
     * orders with 0x66. */
    { 32, 6, { 0x67, 0x66, 0x8b, 0x06, 0x34, 0x12 }, L, 2, 2, 0, 0, 0, 0 },
    { 32, 6, { 0x66, 0x67, 0x8b, 0x06, 0x34, 0x12 }, L, 2, 2, 0, 0, 0, 0 },
    /* 40..4F are not REX outside 64-bit code (see refusals); 16-bit code
     * with 32-bit addressing: SIB base 5 mod 0 has disp32. */
    { 16, 9, { 0x66, 0x67, 0x8b, 0x04, 0x25, 1, 2, 3, 4 }, L, 4, 4, 0, 0, 0, 0 },
    /* C7 in 16-bit code: imm16; with 0x66: imm32. */
    { 16, 6, { 0xc7, 0x06, 0x00, 0x10, 0x34, 0x12 }, I, 2, 0, 0, 0, 0, 0x1234 },
    /* 48 C7 with an imm32 of 0x80000001: sign-extended. */
    { 64, 7, { 0x48, 0xc7, 0x00, 0x01, 0x00, 0x00, 0x80 }, I, 8, 0, 0, 0, 0, 0xffffffff80000001ULL },
    /* 66 48 C7: REX.W wins, imm32 (not imm16). */
    { 64, 8, { 0x66, 0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff }, I, 8, 0, 0, 0, 0, 0xfffffffffffffffeULL },
    /* moffs with 0x67 in each mode; REX.B/REX.R do not move A0-A3 off
     * the accumulator. */
    { 16, 7, { 0x66, 0x67, 0xa1, 1, 2, 3, 4 }, L, 4, 4, 0, 0, 0, 0 },
    { 16, 6, { 0x67, 0xa0, 1, 2, 3, 4 }, L, 1, 1, 0, 0, 0, 0 },
    { 32, 4, { 0x67, 0xa1, 1, 2 }, L, 4, 4, 0, 0, 0, 0 },
    { 64, 6, { 0x67, 0xa2, 1, 2, 3, 4 }, S, 1, 0, 0, 0, 0, 0 },
    { 64, 7, { 0x67, 0x4d, 0xa3, 1, 2, 3, 4 }, S, 8, 0, 0, 0, 0, 0 },
    { 64, 10, { 0x45, 0xa2, 1, 2, 3, 4, 5, 6, 7, 8 }, S, 1, 0, 0, 0, 0, 0 },
    /* Exactly 15 bytes: 12 prefixes, a REX, 89 /r. */
    { 64, 15, { 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67, 0x2e, 0x36, 0x3e, 0x26, 0x40,
                0x89, 0x00 }, S, 2, 0, 0, 0, 0, 0 },
    /* Exactly 15 bytes: 48 C7 /0 with SIB, disp32 and imm32. */
    { 64, 15, { 0x3e, 0x65, 0x67, 0x48, 0xc7, 0x84, 0x88, 0x78, 0x56, 0x34, 0x12, 0x00, 0x00, 0x00,
                0x80 }, I, 8, 0, 0, 0, 0, 0xffffffff80000000ULL },
    /* Exactly 15 bytes in 32-bit code: 66 C7 /0 with SIB, disp32, imm16. */
    { 32, 15, { 0x66, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0xc7, 0x84, 0x88, 0x78, 0x56, 0x34, 0x12,
                0x34, 0x12 }, I, 2, 0, 0, 0, 0, 0x1234 },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Decode from an exactly-sized heap copy of the first avail bytes, so that
 * ASan reports any read at or past avail; *out is pre-filled with 0xa5 to
 * see whether a failing call wrote it. */
static int decode_exact(const uint8_t *bytes, unsigned int avail, int mode,
                        struct hvm_mmio_insn *out)
{
    uint8_t *copy = malloc(avail ? avail : 1);
    assert_non_null(copy);
    memcpy(copy, bytes, avail);
    memset(out, 0xa5, sizeof(*out));
    int rc = hvm_decode_mmio(avail ? copy : copy + 1, avail, (enum hvm_cpu_mode)mode, out);
    free(copy);
    return rc;
}

static void assert_untouched(const struct hvm_mmio_insn *out)
{
    struct hvm_mmio_insn pattern;
    memset(&pattern, 0xa5, sizeof(pattern));
    assert_memory_equal(out, &pattern, sizeof(pattern));
}

static void check_form(const struct form *f)
{
    struct hvm_mmio_insn out;
    int rc = decode_exact(f->bytes, f->len, f->mode, &out);
    if (rc != 0 || out.len != f->len || out.kind != f->kind || out.size != f->size ||
        out.reg != f->reg || out.high_byte != f->high_byte ||
        (f->kind == HVM_MMIO_LOAD && (out.dst_size != f->dst_size ||
                                     out.sign_extend != f->sign_extend)) ||
        (f->kind == HVM_MMIO_STORE_IMM && out.imm != f->imm)) {
        fprintf(stderr, "mode %d bytes", f->mode);
        for (unsigned int i = 0; i < f->len; i++)
            fprintf(stderr, " %02x", f->bytes[i]);
        fprintf(stderr, ": rc %d len %u kind %d size %u dst %u reg %u hb %u sx %u imm %#llx\n",
                rc, out.len, out.kind, out.size, out.dst_size, out.reg, out.high_byte,
                out.sign_extend, (unsigned long long)out.imm);
        fail();
    }
    /* Bytes after the instruction change nothing. */
    uint8_t longer[15];
    memset(longer, 0xc7, sizeof(longer));
    memcpy(longer, f->bytes, f->len);
    struct hvm_mmio_insn again;
    assert_int_equal(decode_exact(longer, 15, f->mode, &again), 0);
    assert_memory_equal(&again, &out, sizeof(out));
    /* Cut short anywhere: -EINVAL, and *out untouched. */
    for (unsigned int avail = 0; avail < f->len; avail++) {
        struct hvm_mmio_insn cut;
        int crc = decode_exact(f->bytes, avail, f->mode, &cut);
        if (crc != EINVAL_RC)
            fprintf(stderr, "mode %d first byte %02x len %u avail %u: rc %d\n", f->mode,
                    f->bytes[0], f->len, avail, crc);
        assert_int_equal(crc, EINVAL_RC);
        assert_untouched(&cut);
    }
}

static void test_as_forms(void **state)
{
    (void)state;
    for (unsigned int i = 0; i < ARRAY_SIZE(as_forms); i++)
        check_form(&as_forms[i]);
}

static void test_hand_forms(void **state)
{
    (void)state;
    for (unsigned int i = 0; i < ARRAY_SIZE(hand_forms); i++)
        check_form(&hand_forms[i]);
}

/* The bytes after ModRM, from the SDM's ModRM tables (Vol. 2A 2.1.5):
 * 16-bit forms have no SIB; mod 0 rm 6 is [disp16]. */
static const uint8_t after16[3][8] = {
    { 0, 0, 0, 0, 0, 0, 2, 0 },
    { 1, 1, 1, 1, 1, 1, 1, 1 },
    { 2, 2, 2, 2, 2, 2, 2, 2 },
};
/* 32/64-bit forms: rm 4 is a SIB (one byte, plus disp32 when its base is
 * 5 and mod is 0); mod 0 rm 5 is disp32 (RIP/EIP-relative in 64-bit). */
static const uint8_t after32[3][8] = {
    { 0, 0, 0, 0, 1, 4, 0, 0 },
    { 1, 1, 1, 1, 2, 1, 1, 1 },
    { 4, 4, 4, 4, 5, 4, 4, 4 },
};

static void modrm_lengths(int mode, int prefix67, int addr_bits, uint8_t rex)
{
    unsigned int checked = 0;
    for (unsigned int mod = 0; mod < 4; mod++) {
        for (unsigned int rm = 0; rm < 8; rm++) {
            for (unsigned int base = 0; base < 8; base++) {
                uint8_t b[15];
                unsigned int n = 0;
                memset(b, 0x90, sizeof(b));
                if (prefix67)
                    b[n++] = 0x67;
                if (rex)
                    b[n++] = rex;
                b[n++] = 0x8b;
                unsigned int reg = (mod + rm + base) & 7;
                b[n++] = (uint8_t)(mod << 6 | reg << 3 | rm);
                /* SIB: index 1, scale 2, the base under test. */
                b[n] = (uint8_t)(1 << 6 | 1 << 3 | base);
                struct hvm_mmio_insn out;
                int rc = decode_exact(b, sizeof(b), mode, &out);
                if (mod == 3) {
                    assert_int_equal(rc, EOPNOTSUPP_RC);
                    assert_untouched(&out);
                    continue;
                }
                unsigned int extra;
                if (addr_bits == 16) {
                    extra = after16[mod][rm];
                } else {
                    extra = after32[mod][rm];
                    if (rm == 4 && mod == 0 && base == 5)
                        extra += 4;
                }
                if (rc != 0 || out.len != n + extra)
                    fprintf(stderr, "mode %d 67 %d rex %02x mod %u rm %u base %u: rc %d len %u, want %u\n",
                            mode, prefix67, rex, mod, rm, base, rc, out.len, n + extra);
                assert_int_equal(rc, 0);
                assert_int_equal(out.len, n + extra);
                assert_int_equal(out.kind, HVM_MMIO_LOAD);
                assert_int_equal(out.reg, reg | (rex & 4 ? 8 : 0));
                /* One byte less: truncated. */
                assert_int_equal(decode_exact(b, out.len - 1, mode, &out), EINVAL_RC);
                checked++;
            }
        }
    }
    assert_int_equal(checked, 3 * 8 * 8);
}

static void test_modrm_16bit_addressing(void **state)
{
    (void)state;
    modrm_lengths(16, 0, 16, 0);
    modrm_lengths(32, 1, 16, 0);
}

static void test_modrm_32bit_addressing(void **state)
{
    (void)state;
    modrm_lengths(32, 0, 32, 0);
    modrm_lengths(16, 1, 32, 0);
    modrm_lengths(64, 1, 32, 0);
    modrm_lengths(64, 1, 32, 0x45);
}

static void test_modrm_64bit_addressing(void **state)
{
    (void)state;
    modrm_lengths(64, 0, 64, 0);
    /* REX.B (r12, r13 bases) does not change the special cases. */
    modrm_lengths(64, 0, 64, 0x41);
    modrm_lengths(64, 0, 64, 0x4f);
    modrm_lengths(64, 0, 64, 0x44);
}

/* Operand size by mode, 0x66 and REX.W for 89 /r; address size by mode
 * and 0x67 for A1 (moffs). */
static void test_sizes(void **state)
{
    (void)state;
    static const struct { int mode; uint8_t p66, p67, rexw, opsize, moffs; } t[] = {
        { 16, 0, 0, 0, 2, 2 }, { 16, 1, 0, 0, 4, 2 }, { 16, 0, 1, 0, 2, 4 }, { 16, 1, 1, 0, 4, 4 },
        { 32, 0, 0, 0, 4, 4 }, { 32, 1, 0, 0, 2, 4 }, { 32, 0, 1, 0, 4, 2 }, { 32, 1, 1, 0, 2, 2 },
        { 64, 0, 0, 0, 4, 8 }, { 64, 1, 0, 0, 2, 8 }, { 64, 0, 1, 0, 4, 4 }, { 64, 1, 1, 0, 2, 4 },
        { 64, 0, 0, 1, 8, 8 }, { 64, 1, 0, 1, 8, 8 }, { 64, 0, 1, 1, 8, 4 }, { 64, 1, 1, 1, 8, 4 },
    };
    for (unsigned int i = 0; i < ARRAY_SIZE(t); i++) {
        for (unsigned int op = 0; op < 2; op++) {
            uint8_t b[15];
            unsigned int n = 0;
            memset(b, 0, sizeof(b));
            if (t[i].p66)
                b[n++] = 0x66;
            if (t[i].p67)
                b[n++] = 0x67;
            if (t[i].rexw)
                b[n++] = 0x48;
            b[n++] = op ? 0xa1 : 0x89;
            struct hvm_mmio_insn out;
            assert_int_equal(decode_exact(b, sizeof(b), t[i].mode, &out), 0);
            assert_int_equal(out.size, t[i].opsize);
            if (op) {
                assert_int_equal(out.kind, HVM_MMIO_LOAD);
                assert_int_equal(out.dst_size, t[i].opsize);
                assert_int_equal(out.len, n + t[i].moffs);
            } else {
                assert_int_equal(out.kind, HVM_MMIO_STORE_REG);
                assert_int_equal(out.len, n + 1); /* ModRM 00: [bx+si] / [eax] / [rax] */
            }
        }
    }
}

/* 88/8A with every register 0..7, with and without a REX (and with a REX
 * voided by a prefix after it), in each mode. */
static void test_byte_registers(void **state)
{
    (void)state;
    for (int mode = 16; mode <= 64; mode *= 2) {
        for (unsigned int r = 0; r < 8; r++) {
            for (unsigned int variant = 0; variant < 3; variant++) {
                if (mode != 64 && variant)
                    continue;
                uint8_t b[4];
                unsigned int n = 0;
                if (variant == 1) {
                    b[n++] = 0x40;
                } else if (variant == 2) {
                    b[n++] = 0x40;
                    b[n++] = 0x3e; /* voids the REX */
                }
                b[n++] = r & 1 ? 0x8a : 0x88;
                b[n++] = (uint8_t)(r << 3 | 7); /* [bx] / [edi] / [rdi] */
                struct hvm_mmio_insn out;
                assert_int_equal(decode_exact(b, n, mode, &out), 0);
                assert_int_equal(out.size, 1);
                int rex_on = variant == 1;
                if (r >= 4 && !rex_on) {
                    assert_int_equal(out.high_byte, 1);
                    assert_int_equal(out.reg, r - 4);
                } else {
                    assert_int_equal(out.high_byte, 0);
                    assert_int_equal(out.reg, r);
                }
            }
        }
    }
    /* MOVZX's register is never a byte register: no high_byte. */
    static const uint8_t movzx_esp[] = { 0x0f, 0xb6, 0x20 };
    struct hvm_mmio_insn out;
    assert_int_equal(decode_exact(movzx_esp, sizeof(movzx_esp), 32, &out), 0);
    assert_int_equal(out.reg, 4);
    assert_int_equal(out.high_byte, 0);
}

struct refusal {
    int mode;
    uint8_t len;
    uint8_t bytes[20];
    int rc;
};

static const struct refusal refusals[] = {
    /* mod == 3: register forms, not memory. */
    { 64, 2, { 0x89, 0xc0 }, EOPNOTSUPP_RC },
    { 64, 2, { 0x8b, 0xc8 }, EOPNOTSUPP_RC },
    { 32, 2, { 0x8a, 0xe0 }, EOPNOTSUPP_RC },
    { 16, 2, { 0x88, 0xff }, EOPNOTSUPP_RC },
    { 64, 3, { 0xc6, 0xc0, 0x01 }, EOPNOTSUPP_RC },
    { 64, 6, { 0xc7, 0xc0, 1, 2, 3, 4 }, EOPNOTSUPP_RC },
    { 64, 3, { 0x0f, 0xb6, 0xc0 }, EOPNOTSUPP_RC },
    { 32, 3, { 0x0f, 0xbf, 0xc0 }, EOPNOTSUPP_RC },
    { 64, 3, { 0x48, 0x63, 0xc0 }, EOPNOTSUPP_RC },
    /* LOCK, REP/REPNE (also as XACQUIRE/XRELEASE on a MOV), anywhere. */
    { 64, 3, { 0xf0, 0x89, 0x00 }, EOPNOTSUPP_RC },
    { 64, 4, { 0x66, 0xf0, 0x89, 0x00 }, EOPNOTSUPP_RC },
    { 64, 2, { 0xf3, 0xa4 }, EOPNOTSUPP_RC },
    { 32, 2, { 0xf3, 0xa5 }, EOPNOTSUPP_RC },
    { 64, 3, { 0xf3, 0x89, 0x00 }, EOPNOTSUPP_RC },
    { 64, 3, { 0xf2, 0x89, 0x00 }, EOPNOTSUPP_RC },
    { 64, 4, { 0x48, 0xf3, 0x89, 0x00 }, EOPNOTSUPP_RC },
    /* Other opcodes. */
    { 64, 1, { 0xa4 }, EOPNOTSUPP_RC },               /* movs */
    { 64, 2, { 0x0f, 0x0b }, EOPNOTSUPP_RC },         /* ud2 */
    { 64, 1, { 0x90 }, EOPNOTSUPP_RC },
    { 64, 2, { 0x8c, 0x00 }, EOPNOTSUPP_RC },         /* mov r/m, sreg */
    { 64, 2, { 0x8e, 0x00 }, EOPNOTSUPP_RC },
    { 64, 2, { 0x86, 0x00 }, EOPNOTSUPP_RC },         /* xchg */
    { 64, 2, { 0x01, 0x00 }, EOPNOTSUPP_RC },         /* add */
    { 64, 2, { 0xff, 0x00 }, EOPNOTSUPP_RC },         /* inc */
    { 64, 3, { 0x0f, 0xb8, 0x00 }, EOPNOTSUPP_RC },
    { 64, 4, { 0x0f, 0x38, 0xf0, 0x00 }, EOPNOTSUPP_RC }, /* movbe */
    { 64, 3, { 0x0f, 0x6f, 0x00 }, EOPNOTSUPP_RC },   /* movq mm */
    /* C6/C7 with reg != 0. */
    { 64, 3, { 0xc6, 0x08, 0x01 }, EOPNOTSUPP_RC },
    { 32, 6, { 0xc7, 0x38, 1, 2, 3, 4 }, EOPNOTSUPP_RC },
    { 64, 3, { 0xc6, 0xf8, 0x01 }, EOPNOTSUPP_RC },   /* xabort */
    { 64, 6, { 0xc7, 0xf8, 1, 2, 3, 4 }, EOPNOTSUPP_RC }, /* xbegin */
    /* VEX and EVEX in 64-bit code; LDS/LES/BOUND/ARPL in 32-bit code. */
    { 64, 4, { 0xc5, 0xf8, 0x10, 0x00 }, EOPNOTSUPP_RC },
    { 64, 5, { 0xc4, 0xe2, 0x79, 0x18, 0x00 }, EOPNOTSUPP_RC },
    { 64, 6, { 0x62, 0xf1, 0x7c, 0x48, 0x10, 0x00 }, EOPNOTSUPP_RC },
    { 32, 2, { 0xc5, 0x00 }, EOPNOTSUPP_RC },
    { 32, 2, { 0x62, 0x00 }, EOPNOTSUPP_RC },
    { 32, 2, { 0x63, 0x00 }, EOPNOTSUPP_RC },
    /* MOVSXD without REX.W. */
    { 64, 2, { 0x63, 0x00 }, EOPNOTSUPP_RC },
    { 64, 3, { 0x44, 0x63, 0x00 }, EOPNOTSUPP_RC },
    { 64, 4, { 0x48, 0x66, 0x63, 0x00 }, EOPNOTSUPP_RC }, /* REX.W voided */
    /* 40..4F outside 64-bit code: INC/DEC, not REX. */
    { 32, 3, { 0x48, 0x89, 0x00 }, EOPNOTSUPP_RC },
    { 16, 3, { 0x40, 0x88, 0x00 }, EOPNOTSUPP_RC },
    /* Longer than 15 bytes, whatever follows or how much is given. */
    { 64, 17, { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                0x66, 0x66, 0x89, 0x00 }, EOPNOTSUPP_RC },
    { 32, 16, { 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
                0x2e, 0x2e, 0x2e }, EOPNOTSUPP_RC },
    { 16, 15, { 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26,
                0x26, 0x26 }, EOPNOTSUPP_RC },
    { 64, 16, { 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67, 0x2e, 0x36, 0x3e, 0x26, 0x40,
                0x41, 0x89, 0x00 }, EOPNOTSUPP_RC },
    /* 16 bytes with a 4-byte field past the 15th: refused before its end
     * is read (14 given). */
    { 64, 14, { 0x3e, 0x3e, 0x65, 0x67, 0x48, 0xc7, 0x84, 0x88, 0x78, 0x56, 0x34, 0x12, 0x00,
                0x00 }, EOPNOTSUPP_RC },
    /* Bad mode. */
    { 0, 2, { 0x89, 0x00 }, EOPNOTSUPP_RC },
    { 8, 2, { 0x89, 0x00 }, EOPNOTSUPP_RC },
    /* Prefixes only, fewer than 15: truncated, not refused. */
    { 64, 10, { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66 }, EINVAL_RC },
    { 64, 14, { 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e,
                0x48 }, EINVAL_RC },
    { 64, 0, { 0 }, EINVAL_RC },
    { 32, 1, { 0x0f }, EINVAL_RC },
};

static void test_refusals(void **state)
{
    (void)state;
    for (unsigned int i = 0; i < ARRAY_SIZE(refusals); i++) {
        const struct refusal *r = &refusals[i];
        struct hvm_mmio_insn out;
        int rc = decode_exact(r->bytes, r->len, r->mode, &out);
        if (rc != r->rc)
            fprintf(stderr, "refusal %u (mode %d, first byte %02x): rc %d, want %d\n", i, r->mode,
                    r->bytes[0], rc, r->rc);
        assert_int_equal(rc, r->rc);
        assert_untouched(&out);
    }
    /* The 15-byte rule wins over a short avail once the length is known:
     * a 14-prefix 89 /r is refused with 16 bytes given, not decoded. */
    uint8_t b[20];
    memset(b, 0x3e, 14);
    b[14] = 0x89;
    b[15] = 0x00;
    struct hvm_mmio_insn out;
    assert_int_equal(decode_exact(b, 16, 64, &out), EOPNOTSUPP_RC);
    assert_int_equal(decode_exact(b, 15, 64, &out), EOPNOTSUPP_RC);
    assert_int_equal(decode_exact(b, 14, 64, &out), EINVAL_RC);
    /* ... and 13 prefixes fit. */
    assert_int_equal(decode_exact(b + 1, 15, 64, &out), 0);
    assert_int_equal(out.len, 15);
}

static const uint64_t gpr_pattern[HVM_NR_GPRS] = {
    0x8877665544332211ULL, 0x1716151413121110ULL, 0x2726252423222120ULL, 0x3736353433323130ULL,
    0x4746454443424140ULL, 0x5756555453525150ULL, 0x6766656463626160ULL, 0x7776757473727170ULL,
    0x8786858483828180ULL, 0x9796959493929190ULL, 0xa7a6a5a4a3a2a1a0ULL, 0xb7b6b5b4b3b2b1b0ULL,
    0xc7c6c5c4c3c2c1c0ULL, 0xd7d6d5d4d3d2d1d0ULL, 0xe7e6e5e4e3e2e1e0ULL, 0xf7f6f5f4f3f2f1f0ULL,
};

static uint64_t store_of(int mode, const uint8_t *bytes, unsigned int n)
{
    struct hvm_mmio_insn in;
    assert_int_equal(decode_exact(bytes, n, mode, &in), 0);
    assert_true(in.kind == HVM_MMIO_STORE_REG || in.kind == HVM_MMIO_STORE_IMM);
    return hvm_mmio_store_value(&in, gpr_pattern);
}

#define STORE(mode, ...) \
    store_of(mode, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void test_store_value(void **state)
{
    (void)state;
    assert_int_equal(STORE(64, 0x88, 0x00), 0x11);                 /* al */
    assert_int_equal(STORE(64, 0x88, 0x20), 0x22);                 /* ah */
    assert_int_equal(STORE(64, 0x88, 0x28), 0x11);                 /* ch */
    assert_int_equal(STORE(64, 0x88, 0x38), 0x31);                 /* bh */
    assert_int_equal(STORE(32, 0x88, 0x30), 0x21);                 /* dh */
    assert_int_equal(STORE(64, 0x40, 0x88, 0x20), 0x40);           /* spl */
    assert_int_equal(STORE(64, 0x40, 0x88, 0x38), 0x70);           /* dil */
    assert_int_equal(STORE(64, 0x44, 0x88, 0x38), 0xf0);           /* r15b */
    assert_int_equal(STORE(64, 0x66, 0x89, 0x10), 0x2120);         /* dx */
    assert_int_equal(STORE(64, 0x89, 0x18), 0x33323130);           /* ebx */
    assert_int_equal(STORE(64, 0x4c, 0x89, 0x10), 0xa7a6a5a4a3a2a1a0ULL); /* r10 */
    assert_int_equal(STORE(64, 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), 0x8877665544332211ULL);
    assert_int_equal(STORE(16, 0xa3, 1, 2), 0x2211);
    assert_int_equal(STORE(16, 0xa2, 1, 2), 0x11);
    assert_int_equal(STORE(64, 0xc6, 0x00, 0x80), 0x80);
    assert_int_equal(STORE(64, 0x66, 0xc7, 0x00, 0x34, 0x82), 0x8234);
    assert_int_equal(STORE(64, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x92), 0x92345678);
    assert_int_equal(STORE(64, 0x48, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x92), 0xffffffff92345678ULL);
    assert_int_equal(STORE(64, 0x48, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12), 0x12345678);
    /* A hand-made insn with imm bits above its size: only size bytes. */
    struct hvm_mmio_insn in = { .kind = HVM_MMIO_STORE_IMM, .size = 2, .imm = 0x123456789ULL };
    assert_int_equal(hvm_mmio_store_value(&in, gpr_pattern), 0x6789);
}

/* Decode bytes (a load), complete it with value over gpr_pattern; check
 * the target register is want and every other register unchanged. */
static void load_check(int mode, const uint8_t *bytes, unsigned int n, uint64_t value,
                       unsigned int reg, uint64_t want)
{
    struct hvm_mmio_insn in;
    assert_int_equal(decode_exact(bytes, n, mode, &in), 0);
    assert_int_equal(in.kind, HVM_MMIO_LOAD);
    uint64_t gprs[HVM_NR_GPRS];
    memcpy(gprs, gpr_pattern, sizeof(gprs));
    hvm_mmio_load_complete(&in, gprs, value);
    for (unsigned int i = 0; i < HVM_NR_GPRS; i++) {
        uint64_t expect = i == reg ? want : gpr_pattern[i];
        if (gprs[i] != expect)
            fprintf(stderr, "load %02x..: gpr %u = %#llx, want %#llx\n", bytes[0], i,
                    (unsigned long long)gprs[i], (unsigned long long)expect);
        assert_true(gprs[i] == expect);
    }
}

#define LOAD(mode, value, reg, want, ...)                                          \
    load_check(mode, (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), \
               value, reg, want)

static void test_load_complete(void **state)
{
    (void)state;
    /* 8-bit: merge into the low byte, or bits 15:8 for AH..BH. */
    LOAD(64, 0xfe, 0, 0x88776655443322feULL, 0x8a, 0x00);           /* al */
    LOAD(64, 0xfe, 0, 0x887766554433fe11ULL, 0x8a, 0x20);           /* ah */
    LOAD(32, 0x5a, 3, 0x3736353433325a30ULL, 0x8a, 0x38);          /* bh */
    LOAD(64, 0x5a, 4, 0x474645444342415aULL, 0x40, 0x8a, 0x20);     /* spl */
    LOAD(64, 0x5a, 13, 0xd7d6d5d4d3d2d15aULL, 0x44, 0x8a, 0x28);    /* r13b */
    /* Only size bytes of value count. */
    LOAD(64, 0xabcdef5a, 0, 0x887766554433225aULL, 0xa0, 1, 2, 3, 4, 5, 6, 7, 8);
    /* 16-bit: merge. */
    LOAD(64, 0xbeef, 1, 0x171615141312beefULL, 0x66, 0x8b, 0x08);
    LOAD(16, 0x12345678, 0, 0x8877665544335678ULL, 0xa1, 1, 2);
    /* 32-bit: the upper half is cleared. */
    LOAD(64, 0x89abcdef, 2, 0x89abcdefULL, 0x8b, 0x10);
    LOAD(64, 0xffffffff12345678ULL, 9, 0x12345678ULL, 0x44, 0x8b, 0x08);
    /* 64-bit. */
    LOAD(64, 0x0123456789abcdefULL, 15, 0x0123456789abcdefULL, 0x4c, 0x8b, 0x38);
    /* MOVZX: zero-extended to the destination size. */
    LOAD(64, 0xff80, 0, 0x80ULL, 0x0f, 0xb6, 0x00);                 /* movzx eax, byte */
    LOAD(64, 0xff80, 0, 0xff80ULL, 0x48, 0x0f, 0xb7, 0x00);         /* movzx rax, word */
    LOAD(64, 0x80, 6, 0x6766656463620080ULL, 0x66, 0x0f, 0xb6, 0x30); /* movzx si, byte */
    /* MOVSX: sign-extended to the destination size; a 32-bit destination
     * still clears the upper half; a 16-bit one merges. */
    LOAD(64, 0x80, 0, 0xffffff80ULL, 0x0f, 0xbe, 0x00);
    LOAD(64, 0x7f, 0, 0x7fULL, 0x0f, 0xbe, 0x00);
    LOAD(64, 0x80, 0, 0xffffffffffffff80ULL, 0x48, 0x0f, 0xbe, 0x00);
    LOAD(64, 0x80, 7, 0x777675747372ff80ULL, 0x66, 0x0f, 0xbe, 0x38);
    LOAD(64, 0x8000, 3, 0xffffffffffff8000ULL, 0x48, 0x0f, 0xbf, 0x18);
    LOAD(32, 0x8001, 3, 0xffff8001ULL, 0x0f, 0xbf, 0x18);
    LOAD(16, 0xfe, 1, 0x171615141312fffeULL, 0x0f, 0xbe, 0x0f);
    /* MOVSXD. */
    LOAD(64, 0x80000000, 12, 0xffffffff80000000ULL, 0x4c, 0x63, 0x20);
    LOAD(64, 0x7fffffff, 12, 0x7fffffffULL, 0x4c, 0x63, 0x20);
    LOAD(64, 0xffffffff00000001ULL, 0, 1, 0x48, 0x63, 0x00);
    /* Not a load: nothing changes. */
    struct hvm_mmio_insn st = { .kind = HVM_MMIO_STORE_REG, .size = 8, .reg = 0 };
    uint64_t gprs[HVM_NR_GPRS];
    memcpy(gprs, gpr_pattern, sizeof(gprs));
    hvm_mmio_load_complete(&st, gprs, 0);
    assert_memory_equal(gprs, gpr_pattern, sizeof(gprs));
}

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Bytes a decoder cares about, so that random inputs reach deep. */
static const uint8_t interesting[] = {
    0x66, 0x67, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0xf0, 0xf2, 0xf3, 0x40, 0x41, 0x44, 0x48,
    0x4c, 0x4f, 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0xa0, 0xa1, 0xa2, 0xa3, 0x63, 0x0f, 0xb6,
    0xb7, 0xbe, 0xbf, 0xc4, 0xc5, 0x62, 0x04, 0x05, 0x25, 0x44, 0x84, 0x06, 0x00,
};

static void test_fuzz(void **state)
{
    (void)state;
    static const int modes[] = { 16, 32, 64 };
    unsigned int ok = 0, inval = 0, notsupp = 0;
    for (unsigned int round = 0; round < 300000; round++) {
        unsigned int n = next_rand() % 21;
        int mode = modes[next_rand() % 3];
        uint8_t b[20];
        for (unsigned int i = 0; i < n; i++) {
            uint32_t r = next_rand();
            b[i] = r % 3 ? interesting[(r >> 8) % sizeof(interesting)] : (uint8_t)(r >> 16);
        }
        struct hvm_mmio_insn out;
        int rc = decode_exact(b, n, mode, &out); /* ASan: nothing read at or past n */
        if (rc == 0) {
            ok++;
            assert_in_range(out.len, 1, 15);
            assert_true(out.len <= n);
            assert_true(out.size == 1 || out.size == 2 || out.size == 4 || out.size == 8);
            assert_in_range(out.kind, HVM_MMIO_LOAD, HVM_MMIO_STORE_IMM);
            assert_true(out.reg < HVM_NR_GPRS);
            if (out.high_byte)
                assert_true(out.reg < 4 && out.size == 1 && out.dst_size <= 1);
            if (out.kind == HVM_MMIO_LOAD)
                assert_true(out.dst_size >= out.size);
            /* Exactly len bytes give the same; one fewer is truncated. */
            struct hvm_mmio_insn exact;
            assert_int_equal(decode_exact(b, out.len, mode, &exact), 0);
            assert_memory_equal(&exact, &out, sizeof(out));
            assert_int_equal(decode_exact(b, out.len - 1u, mode, &exact), EINVAL_RC);
        } else if (rc == EINVAL_RC) {
            inval++;
            assert_true(n < 15); /* with 15 bytes the limit comes first */
            assert_untouched(&out);
        } else {
            assert_int_equal(rc, EOPNOTSUPP_RC);
            notsupp++;
            assert_untouched(&out);
        }
    }
    /* The mix reached all three outcomes in numbers. */
    assert_true(ok > 10000);
    assert_true(inval > 10000);
    assert_true(notsupp > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_as_forms),
        cmocka_unit_test(test_hand_forms),
        cmocka_unit_test(test_modrm_16bit_addressing),
        cmocka_unit_test(test_modrm_32bit_addressing),
        cmocka_unit_test(test_modrm_64bit_addressing),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_byte_registers),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_store_value),
        cmocka_unit_test(test_load_complete),
        cmocka_unit_test(test_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
