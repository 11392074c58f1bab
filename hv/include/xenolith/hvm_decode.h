/*
 * hvm_decode.h - the x86 instruction decoder for an HVM guest's MMIO
 * accesses (hv/arch/x86/hvm/decode.c, pure C, host-tested). A nested page
 * fault on an emulated MMIO page gives the guest-physical address; the
 * decoder says what the faulting instruction does with it: how many
 * bytes, read or write, which register or immediate, how long the
 * instruction is. Everything else is refused; the caller injects #UD or
 * crashes the guest as Xen would.
 * Owns: nothing. Must never: read past the bytes it was given.
 */
#ifndef XENOLITH_HVM_DECODE_H
#define XENOLITH_HVM_DECODE_H

#include <stdint.h>

/* The guest's code size: from CS.L / CS.D (and CR0.PE: real mode is 16). */
enum hvm_cpu_mode { HVM_MODE_16 = 16, HVM_MODE_32 = 32, HVM_MODE_64 = 64 };

/* GPR numbers as the encoding uses them (rax 0, rcx 1, rdx 2, rbx 3, rsp
 * 4, rbp 5, rsi 6, rdi 7, r8..r15 8..15). */
#define HVM_NR_GPRS 16

enum hvm_mmio_kind {
    HVM_MMIO_LOAD,      /* memory -> register (mov, movzx, movsx) */
    HVM_MMIO_STORE_REG, /* register -> memory */
    HVM_MMIO_STORE_IMM, /* immediate -> memory */
};

struct hvm_mmio_insn {
    enum hvm_mmio_kind kind;
    uint8_t len;        /* bytes of the whole instruction (1..15) */
    uint8_t size;       /* bytes accessed in memory: 1, 2, 4 or 8 */
    uint8_t dst_size;   /* LOAD: bytes written to the register (1, 2, 4, 8) */
    uint8_t reg;        /* LOAD/STORE_REG: GPR number (A0-A3: 0) */
    uint8_t high_byte;  /* the operand is AH/CH/DH/BH (1-byte operand 4..7,
                         * no REX): bits 15:8 of GPR reg, which is 0..3 */
    uint8_t sign_extend; /* LOAD: movsx (else zero-extend) */
    uint64_t imm;       /* STORE_IMM: the value stored (size bytes) */
};

/* Decode bytes[0..avail) as an MMIO access in mode. 0 and *out, or
 * -EOPNOTSUPP (a form not supported, or longer than 15 bytes: the caller
 * refuses it), -EINVAL (truncated: more bytes than avail needed). Length
 * is checked first: once the bytes read show the instruction needs more
 * than 15, it is -EOPNOTSUPP whatever avail is. *out is written only on
 * success. */
int hvm_decode_mmio(const uint8_t *bytes, unsigned int avail, enum hvm_cpu_mode mode,
                    struct hvm_mmio_insn *out);
/* STORE_REG/STORE_IMM: the value written to memory (size bytes). */
uint64_t hvm_mmio_store_value(const struct hvm_mmio_insn *in, const uint64_t gprs[HVM_NR_GPRS]);
/* LOAD: put value (size bytes from memory) into the register as the CPU
 * would: zero/sign extension, 32-bit writes clear the upper half, 8/16-bit
 * writes merge, AH..BH. */
void hvm_mmio_load_complete(const struct hvm_mmio_insn *in, uint64_t gprs[HVM_NR_GPRS],
                            uint64_t value);

#endif
