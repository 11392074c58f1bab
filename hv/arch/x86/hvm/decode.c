/*
 * decode.c - the MMIO instruction decoder for HVM guests (see
 * xenolith/hvm_decode.h): the few moves a guest uses on device memory
 * (MOV 88/89/8A/8B/C6/C7/A0-A3, MOVZX, MOVSX, MOVSXD) in 16-, 32- and
 * 64-bit code, with their prefixes and every ModRM/SIB/displacement form;
 * and the register side of the access (the value a store writes, where a
 * load's value goes). It never computes the address: the nested page
 * fault gave it. Pure C, host-tested.
 * Owns: nothing. Must never: read a byte at or past avail (nor past the
 * 15th), accept a form it does not fully understand, or touch a register
 * other than the one the instruction names.
 */
#include <xenolith/hvm_decode.h>
#include <xenolith/errno.h>

#define MAX_INSN_LEN 15

/* The bytes being decoded: where the next one is, how many there are. */
struct cursor {
    const uint8_t *bytes;
    unsigned int avail;
    unsigned int pos;
};

/* May n more bytes be read? Longer than 15 is refused as soon as it is
 * known (no byte could make it valid); running out of avail is -EINVAL. */
static int need(const struct cursor *c, unsigned int n)
{
    if (c->pos + n > MAX_INSN_LEN)
        return -XL_EOPNOTSUPP;
    if (c->pos + n > c->avail)
        return -XL_EINVAL;
    return 0;
}

static int next_byte(struct cursor *c, uint8_t *b)
{
    int rc = need(c, 1);
    if (rc)
        return rc;
    *b = c->bytes[c->pos++];
    return 0;
}

/* A little-endian field of n (1, 2, 4 or 8) bytes. */
static int next_field(struct cursor *c, unsigned int n, uint64_t *v)
{
    int rc = need(c, n);
    if (rc)
        return rc;
    uint64_t x = 0;
    for (unsigned int i = 0; i < n; i++)
        x |= (uint64_t)c->bytes[c->pos + i] << (8 * i);
    c->pos += n;
    *v = x;
    return 0;
}

/* Skip n bytes (a displacement: the address comes from the fault). */
static int skip(struct cursor *c, unsigned int n)
{
    int rc = need(c, n);
    if (rc)
        return rc;
    c->pos += n;
    return 0;
}

/* The ModRM byte of a memory operand and what follows it (SIB,
 * displacement); *reg gets ModRM.reg (without REX.R). mod == 3 names a
 * register, not memory: refused. */
static int memory_operand(struct cursor *c, unsigned int addr_bytes, uint8_t *reg)
{
    uint8_t modrm;
    int rc = next_byte(c, &modrm);
    if (rc)
        return rc;
    unsigned int mod = modrm >> 6, rm = modrm & 7;
    *reg = (modrm >> 3) & 7;
    if (mod == 3)
        return -XL_EOPNOTSUPP;

    if (addr_bytes == 2) {
        /* 16-bit forms: [bx+si] .. [bx]; mod 0 rm 6 is [disp16]. */
        if (mod == 0)
            return rm == 6 ? skip(c, 2) : 0;
        return skip(c, mod == 1 ? 1 : 2);
    }

    /* 32/64-bit forms: rm 4 brings a SIB; mod 0 rm 5 is disp32 alone
     * (RIP/EIP-relative in 64-bit code); a SIB with base 5 and mod 0 has
     * disp32 and no base. REX.B plays no part in these special cases. */
    unsigned int disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
    if (rm == 4) {
        uint8_t sib;
        rc = next_byte(c, &sib);
        if (rc)
            return rc;
        if (mod == 0 && (sib & 7) == 5)
            disp = 4;
    } else if (mod == 0 && rm == 5) {
        disp = 4;
    }
    return skip(c, disp);
}

int hvm_decode_mmio(const uint8_t *bytes, unsigned int avail, enum hvm_cpu_mode mode,
                    struct hvm_mmio_insn *out)
{
    if (mode != HVM_MODE_16 && mode != HVM_MODE_32 && mode != HVM_MODE_64)
        return -XL_EOPNOTSUPP;

    struct cursor c = { .bytes = bytes, .avail = avail, .pos = 0 };
    int opsize_prefix = 0, addrsize_prefix = 0, rc;
    uint8_t rex = 0, op;

    /* Prefixes. A REX counts only when the opcode follows it at once: a
     * legacy prefix after it voids it, and a second REX replaces it, as on
     * hardware. Outside 64-bit code 40..4F are INC/DEC: refused below. */
    for (;;) {
        rc = next_byte(&c, &op);
        if (rc)
            return rc;
        if (mode == HVM_MODE_64 && (op & 0xf0) == 0x40) {
            rex = op;
            continue;
        }
        if (op == 0x66)
            opsize_prefix = 1;
        else if (op == 0x67)
            addrsize_prefix = 1;
        else if (op == 0x2e || op == 0x36 || op == 0x3e || op == 0x26 || op == 0x64 ||
                 op == 0x65)
            ; /* segment: already applied in the faulting address */
        else if (op == 0xf0 || op == 0xf2 || op == 0xf3)
            return -XL_EOPNOTSUPP; /* LOCK, REPNE/REP (XACQUIRE/XRELEASE) */
        else
            break;
        rex = 0;
    }

    const int rex_w = rex & 8, rex_r = rex & 4;
    unsigned int opsize, addrsize;
    if (mode == HVM_MODE_64) {
        opsize = rex_w ? 8 : opsize_prefix ? 2 : 4;
        addrsize = addrsize_prefix ? 4 : 8;
    } else {
        unsigned int def = mode == HVM_MODE_16 ? 2 : 4; /* 0x66/0x67 swap 2 and 4 */
        opsize = opsize_prefix ? 6 - def : def;
        addrsize = addrsize_prefix ? 6 - def : def;
    }

    struct hvm_mmio_insn insn = { 0 };
    unsigned int reg_bytes = 0; /* size of the register operand, if any */
    uint8_t reg = 0;
    uint64_t v;

    switch (op) {
    case 0x88: case 0x89: case 0x8a: case 0x8b:
        rc = memory_operand(&c, addrsize, &reg);
        if (rc)
            return rc;
        insn.kind = op & 2 ? HVM_MMIO_LOAD : HVM_MMIO_STORE_REG;
        insn.size = (uint8_t)(op & 1 ? opsize : 1);
        reg_bytes = insn.size;
        break;

    case 0xc6: case 0xc7:
        rc = memory_operand(&c, addrsize, &reg);
        if (rc)
            return rc;
        if (reg != 0)
            return -XL_EOPNOTSUPP; /* C6/C7 /1../7: not a MOV (XABORT, XBEGIN...) */
        insn.kind = HVM_MMIO_STORE_IMM;
        insn.size = (uint8_t)(op == 0xc6 ? 1 : opsize);
        rc = next_field(&c, insn.size == 8 ? 4 : insn.size, &v);
        if (rc)
            return rc;
        if (insn.size == 8) /* imm32, sign-extended to 64 bits */
            v = (uint64_t)(int64_t)(int32_t)(uint32_t)v;
        insn.imm = v;
        break;

    case 0xa0: case 0xa1: case 0xa2: case 0xa3:
        /* moffs: an address of the address size; the register is always
         * AL/AX/EAX/RAX (REX.R and REX.B play no part, AL is never AH). */
        rc = skip(&c, addrsize);
        if (rc)
            return rc;
        insn.kind = op & 2 ? HVM_MMIO_STORE_REG : HVM_MMIO_LOAD;
        insn.size = (uint8_t)(op & 1 ? opsize : 1);
        break;

    case 0x63:
        /* MOVSXD r64, r/m32. Without REX.W, or outside 64-bit code
         * (where 63 is ARPL), refused. */
        if (mode != HVM_MODE_64 || !rex_w)
            return -XL_EOPNOTSUPP;
        rc = memory_operand(&c, addrsize, &reg);
        if (rc)
            return rc;
        insn.kind = HVM_MMIO_LOAD;
        insn.size = 4;
        insn.dst_size = 8;
        insn.sign_extend = 1;
        reg_bytes = 8;
        break;

    case 0x0f:
        rc = next_byte(&c, &op);
        if (rc)
            return rc;
        if (op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf)
            return -XL_EOPNOTSUPP;
        rc = memory_operand(&c, addrsize, &reg);
        if (rc)
            return rc;
        insn.kind = HVM_MMIO_LOAD; /* MOVZX (B6/B7), MOVSX (BE/BF) */
        insn.size = op & 1 ? 2 : 1;
        insn.dst_size = (uint8_t)opsize;
        insn.sign_extend = op >= 0xbe;
        reg_bytes = opsize;
        break;

    default:
        return -XL_EOPNOTSUPP; /* VEX C4/C5, EVEX 62 and all else */
    }

    if (insn.kind == HVM_MMIO_LOAD && !insn.dst_size)
        insn.dst_size = insn.size;
    if (reg_bytes) {
        /* ModRM.reg, extended by REX.R; a 1-byte register 4..7 without
         * any REX is AH/CH/DH/BH: the second byte of rax..rbx. */
        insn.reg = (uint8_t)(reg | (rex_r ? 8 : 0));
        if (reg_bytes == 1 && !rex && insn.reg >= 4) {
            insn.high_byte = 1;
            insn.reg = (uint8_t)(insn.reg - 4);
        }
    }
    insn.len = (uint8_t)c.pos;
    *out = insn;
    return 0;
}

static uint64_t mask_of(unsigned int bytes)
{
    return bytes >= 8 ? ~0ULL : (1ULL << (8 * bytes)) - 1;
}

uint64_t hvm_mmio_store_value(const struct hvm_mmio_insn *in, const uint64_t gprs[HVM_NR_GPRS])
{
    if (in->kind == HVM_MMIO_STORE_IMM)
        return in->imm & mask_of(in->size);
    if (in->kind != HVM_MMIO_STORE_REG || in->reg >= HVM_NR_GPRS)
        return 0;
    uint64_t v = gprs[in->reg];
    if (in->high_byte)
        v >>= 8;
    return v & mask_of(in->size);
}

void hvm_mmio_load_complete(const struct hvm_mmio_insn *in, uint64_t gprs[HVM_NR_GPRS],
                            uint64_t value)
{
    if (in->kind != HVM_MMIO_LOAD || in->reg >= HVM_NR_GPRS || !in->size)
        return;
    value &= mask_of(in->size);
    if (in->sign_extend && in->size < 8 && (value >> (8 * in->size - 1)) & 1)
        value |= ~mask_of(in->size);

    uint64_t *r = &gprs[in->reg];
    switch (in->dst_size) {
    case 8:
        *r = value;
        break;
    case 4:
        *r = (uint32_t)value; /* a 32-bit write clears bits 63:32 */
        break;
    case 2:
        *r = (*r & ~0xffffULL) | (value & 0xffff);
        break;
    case 1:
        if (in->high_byte)
            *r = (*r & ~0xff00ULL) | ((value & 0xff) << 8);
        else
            *r = (*r & ~0xffULL) | (value & 0xff);
        break;
    default:
        break;
    }
}
