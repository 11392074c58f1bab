/*
 * xz.c - the .xz container (one stream: blocks, index, footer) with the
 * filters Linux kernels use: LZMA2 alone or after the x86 BCJ filter;
 * checks none, CRC32 and CRC64. Single call: the output buffer is the
 * LZMA2 dictionary, so a block's dictionary is everything it has written.
 * Owns: the container walk and its integrity checks (header, block-header,
 * index and footer CRC32s, index-vs-blocks agreement, the per-block check),
 * the LZMA2 chunk parser, the LZMA decoder and the BCJ x86 decoder.
 * Must never: read past in + in_len, write past out + out_len, reach a
 * match before the block's last dictionary reset, allocate, or keep more
 * than a few hundred bytes on the stack (the model is in scratch).
 */
#include <xenolith/errno.h>
#include <xenolith/lib.h>

#include "decompress.h"

/* ---- LZMA ---------------------------------------------------------------- */

#define LZ_STATES      12
#define LZ_POS_STATES  16 /* 1 << pb, pb <= 4 */
#define LZ_LEN_STATES  4
#define LZ_END_POS     14 /* first distance slot with direct bits + align */
#define LZ_FULL_DIST   128
#define LZ_ALIGN_BITS  4
#define LZ_PROB_INIT   1024

struct lz_len {
    uint16_t choice, choice2;
    uint16_t low[LZ_POS_STATES][8];
    uint16_t mid[LZ_POS_STATES][8];
    uint16_t high[256];
};

/* All probabilities, so one loop resets them. literal[] is last and only
 * its first 0x300 << (lc + lp) entries are used. */
struct lz_probs {
    uint16_t is_match[LZ_STATES][LZ_POS_STATES];
    uint16_t is_rep[LZ_STATES], is_rep_g0[LZ_STATES], is_rep_g1[LZ_STATES], is_rep_g2[LZ_STATES];
    uint16_t is_rep0_long[LZ_STATES][LZ_POS_STATES];
    uint16_t slot[LZ_LEN_STATES][64];
    uint16_t special[1 + LZ_FULL_DIST - LZ_END_POS];
    uint16_t align[1u << LZ_ALIGN_BITS];
    struct lz_len len, rep_len;
    uint16_t literal[16][0x300];
};

struct lzma {
    struct lz_probs p;
    unsigned lc, lp, pb;
    unsigned state;
    uint32_t rep[4];
};

struct xz_scratch {
    uint32_t crc32[256];
    uint64_t crc64[256];
    struct lzma lz;
};

_Static_assert(sizeof(struct xz_scratch) <= (64u << 10), "xz scratch");

static void lz_reset(struct lzma *z)
{
    uint16_t *p = (uint16_t *)&z->p;
    size_t n = offsetof(struct lz_probs, literal) / sizeof(uint16_t) +
               ((size_t)0x300 << (z->lc + z->lp));
    for (size_t i = 0; i < n; i++)
        p[i] = LZ_PROB_INIT;
    z->state = 0;
    z->rep[0] = z->rep[1] = z->rep[2] = z->rep[3] = 0;
}

/* The range decoder over one LZMA2 chunk's compressed bytes. A read past
 * the chunk feeds zeros and marks it bad; the caller checks per symbol. */
struct rc {
    const uint8_t *ip, *end;
    uint32_t range, code;
    int bad;
};

static inline void rc_norm(struct rc *r)
{
    if (r->range < (1u << 24)) {
        r->range <<= 8;
        if (r->ip < r->end)
            r->code = (r->code << 8) | *r->ip++;
        else {
            r->code <<= 8;
            r->bad = 1;
        }
    }
}

static inline unsigned rc_bit(struct rc *r, uint16_t *prob)
{
    uint32_t bound = (r->range >> 11) * *prob;
    unsigned bit;
    if (r->code < bound) {
        r->range = bound;
        *prob = (uint16_t)(*prob + ((2048u - *prob) >> 5));
        bit = 0;
    } else {
        r->range -= bound;
        r->code -= bound;
        *prob = (uint16_t)(*prob - (*prob >> 5));
        bit = 1;
    }
    rc_norm(r);
    return bit;
}

static inline unsigned rc_tree(struct rc *r, uint16_t *probs, unsigned bits)
{
    unsigned m = 1;
    for (unsigned i = 0; i < bits; i++)
        m = (m << 1) | rc_bit(r, &probs[m]);
    return m - (1u << bits);
}

static inline unsigned rc_tree_rev(struct rc *r, uint16_t *probs, unsigned bits)
{
    unsigned m = 1, v = 0;
    for (unsigned i = 0; i < bits; i++) {
        unsigned b = rc_bit(r, &probs[m]);
        m = (m << 1) | b;
        v |= b << i;
    }
    return v;
}

static inline uint32_t rc_direct(struct rc *r, unsigned bits)
{
    uint32_t v = 0;
    while (bits--) {
        r->range >>= 1;
        uint32_t one = r->code >= r->range;
        if (one)
            r->code -= r->range;
        v = (v << 1) | one;
        rc_norm(r);
    }
    return v;
}

static inline unsigned lz_len(struct rc *r, struct lz_len *l, unsigned ps)
{
    if (!rc_bit(r, &l->choice))
        return rc_tree(r, l->low[ps], 3);
    if (!rc_bit(r, &l->choice2))
        return 8 + rc_tree(r, l->mid[ps], 3);
    return 16 + rc_tree(r, l->high, 8);
}

/* Decodes one LZMA chunk: in[0..in_len) exactly, producing out[*op ..
 * limit) exactly; dict is where the dictionary starts in out. */
static int lz_chunk(struct lzma *z, const uint8_t *in, size_t in_len, uint8_t *out, size_t dict,
                    size_t *op, size_t limit, const char **why)
{
    struct lz_probs *p = &z->p;
    struct rc r = {.ip = in, .end = in + in_len, .range = 0xffffffffu};
    size_t o = *op;
    unsigned state = z->state;
    uint32_t rep0 = z->rep[0], rep1 = z->rep[1], rep2 = z->rep[2], rep3 = z->rep[3];
    unsigned pb_mask = (1u << z->pb) - 1, lp_mask = (1u << z->lp) - 1, lc = z->lc;

    if (in_len < 5 || in[0] != 0)
        return DC_FAIL(why, "xz: bad LZMA chunk start");
    for (int i = 1; i < 5; i++)
        r.code = (r.code << 8) | in[i];
    r.ip = in + 5;
    if (r.code == r.range)
        return DC_FAIL(why, "xz: bad LZMA chunk start");

    while (o < limit) {
        unsigned ps = (unsigned)o & pb_mask;
        if (!rc_bit(&r, &p->is_match[state][ps])) {
            /* A literal, coded in the context of the previous byte. */
            unsigned prev = o > dict ? out[o - 1] : 0;
            uint16_t *lp = p->literal[(((unsigned)o & lp_mask) << lc) + (prev >> (8 - lc))];
            unsigned sym = 1;
            if (state >= 7) {
                if (rep0 >= o - dict)
                    return DC_FAIL(why, "xz: LZMA distance before dictionary start");
                unsigned match = out[o - rep0 - 1];
                do {
                    unsigned mbit = (match >> 7) & 1;
                    match <<= 1;
                    unsigned bit = rc_bit(&r, &lp[((1 + mbit) << 8) + sym]);
                    sym = (sym << 1) | bit;
                    if (bit != mbit)
                        break;
                } while (sym < 0x100);
            }
            while (sym < 0x100)
                sym = (sym << 1) | rc_bit(&r, &lp[sym]);
            out[o++] = (uint8_t)sym;
            state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
            if (r.bad)
                break;
            continue;
        }
        unsigned len;
        if (!rc_bit(&r, &p->is_rep[state])) {
            /* A new match: length, then distance. */
            len = lz_len(&r, &p->len, ps);
            state = state < 7 ? 7 : 10;
            unsigned slot = rc_tree(&r, p->slot[len < LZ_LEN_STATES ? len : LZ_LEN_STATES - 1], 6);
            uint32_t dist;
            if (slot < 4) {
                dist = slot;
            } else {
                unsigned nd = (slot >> 1) - 1;
                dist = (2u | (slot & 1)) << nd;
                if (slot < LZ_END_POS) {
                    dist += rc_tree_rev(&r, p->special + dist - slot, nd);
                } else {
                    dist += rc_direct(&r, nd - LZ_ALIGN_BITS) << LZ_ALIGN_BITS;
                    dist += rc_tree_rev(&r, p->align, LZ_ALIGN_BITS);
                }
            }
            rep3 = rep2;
            rep2 = rep1;
            rep1 = rep0;
            rep0 = dist;
        } else {
            if (o == dict)
                return DC_FAIL(why, "xz: LZMA repeat in an empty dictionary");
            if (!rc_bit(&r, &p->is_rep_g0[state])) {
                if (!rc_bit(&r, &p->is_rep0_long[state][ps])) {
                    /* A one-byte repeat of rep0. */
                    state = state < 7 ? 9 : 11;
                    if (rep0 >= o - dict)
                        return DC_FAIL(why, "xz: LZMA distance before dictionary start");
                    out[o] = out[o - rep0 - 1];
                    o++;
                    if (r.bad)
                        break;
                    continue;
                }
            } else {
                uint32_t d;
                if (!rc_bit(&r, &p->is_rep_g1[state])) {
                    d = rep1;
                } else {
                    if (!rc_bit(&r, &p->is_rep_g2[state])) {
                        d = rep2;
                    } else {
                        d = rep3;
                        rep3 = rep2;
                    }
                    rep2 = rep1;
                }
                rep1 = rep0;
                rep0 = d;
            }
            len = lz_len(&r, &p->rep_len, ps);
            state = state < 7 ? 8 : 11;
        }
        if (r.bad)
            break;
        /* Copy len + 2 bytes from rep0 + 1 back. */
        size_t n = len + 2;
        if (rep0 >= o - dict)
            return DC_FAIL(why, "xz: LZMA distance before dictionary start");
        if (limit - o < n)
            return DC_FAIL(why, "xz: LZMA match past the end of its chunk");
        size_t dist = (size_t)rep0 + 1;
        uint8_t *to = out + o;
        const uint8_t *from = to - dist;
        o += n;
        if (dist >= n) {
            memcpy(to, from, n);
        } else {
            while (n--)
                *to++ = *from++;
        }
    }
    if (r.bad)
        return DC_FAIL(why, "xz: LZMA chunk truncated");
    if (r.ip != r.end || r.code != 0)
        return DC_FAIL(why, "xz: LZMA chunk does not end where stated");
    z->state = state;
    z->rep[0] = rep0;
    z->rep[1] = rep1;
    z->rep[2] = rep2;
    z->rep[3] = rep3;
    *op = o;
    return 0;
}

/* ---- LZMA2 --------------------------------------------------------------- */

static inline uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

/* Decodes an LZMA2 stream at in[0..) (at most in_len bytes) into out from
 * *op, never past out_len; *used is the bytes the stream took. */
static int lzma2(struct lzma *z, const uint8_t *in, size_t in_len, size_t *used, uint8_t *out,
                 size_t out_len, size_t *op, const char **why)
{
    size_t ip = 0, o = *op, dict = o;
    int need_dict = 1, need_props = 1;

    for (;;) {
        if (ip >= in_len)
            return DC_FAIL(why, "xz: LZMA2 stream truncated");
        unsigned c = in[ip++];
        if (c == 0)
            break;
        if (c == 1 || c >= 0xe0) { /* a dictionary reset */
            dict = o;
            need_dict = 0;
            need_props = 1;
        } else if (need_dict) {
            return DC_FAIL(why, "xz: LZMA2 stream does not start with a dictionary reset");
        }
        if (c < 0x80) {
            if (c > 2)
                return DC_FAIL(why, "xz: bad LZMA2 control byte");
            if (in_len - ip < 2)
                return DC_FAIL(why, "xz: LZMA2 stream truncated");
            size_t n = be16(in + ip) + 1;
            ip += 2;
            if (in_len - ip < n)
                return DC_FAIL(why, "xz: LZMA2 stream truncated");
            if (out_len - o < n)
                return DC_FAIL(why, "xz: output longer than stated size");
            memcpy(out + o, in + ip, n);
            ip += n;
            o += n;
            continue;
        }
        if (in_len - ip < 4)
            return DC_FAIL(why, "xz: LZMA2 stream truncated");
        size_t usize = ((size_t)(c & 0x1f) << 16) + be16(in + ip) + 1;
        size_t csize = be16(in + ip + 2) + 1;
        ip += 4;
        unsigned reset = (c >> 5) & 3;
        if (reset >= 2) {
            if (ip >= in_len)
                return DC_FAIL(why, "xz: LZMA2 stream truncated");
            unsigned props = in[ip++];
            if (props >= 9 * 5 * 5)
                return DC_FAIL(why, "xz: bad LZMA properties");
            z->lc = props % 9;
            props /= 9;
            z->lp = props % 5;
            z->pb = props / 5;
            if (z->lc + z->lp > 4)
                return DC_FAIL(why, "xz: LZMA2 lc + lp above 4");
            need_props = 0;
        } else if (need_props) {
            return DC_FAIL(why, "xz: LZMA2 chunk without properties");
        }
        if (reset >= 1)
            lz_reset(z);
        if (in_len - ip < csize)
            return DC_FAIL(why, "xz: LZMA2 stream truncated");
        if (out_len - o < usize)
            return DC_FAIL(why, "xz: output longer than stated size");
        int rc = lz_chunk(z, in + ip, csize, out, dict, &o, o + usize, why);
        if (rc)
            return rc;
        ip += csize;
    }
    *used = ip;
    *op = o;
    return 0;
}

/* ---- BCJ x86 -------------------------------------------------------------- */

/* An operand byte the encoder treats as the top of a near rel32. */
static inline int x86_top_byte(uint8_t b)
{
    return b == 0x00 || b == 0xff;
}

/* Undoes the x86 branch converter over a whole block: the encoder turned
 * the rel32 of E8 (CALL) / E9 (JMP) into an absolute address (relative to
 * the stream offset start + end of instruction) when the operand's top
 * byte was 00 or FF. Which E8/E9 bytes count is decided from the E8/E9
 * bytes left alone in the 3 bytes before: with two or more, or with one
 * whose own operand looked convertible, the byte is left alone; with one
 * such neighbour at distance d, a decoded address whose byte at (3 - d)
 * looks like an operand top is re-inverted (the encoder's rule for
 * addresses that would themselves look like an opcode's operand). The
 * last 4 bytes are never converted. */
static void bcj_x86(uint8_t *buf, size_t n, uint32_t start)
{
    if (n < 5)
        return;
    size_t last = 0;     /* where the last E8/E9 left alone is */
    unsigned near = 0;   /* bit k: one was left alone k bytes before last */
    int have_last = 0;

    for (size_t i = 0; i + 4 < n; i++) {
        if ((buf[i] & 0xfe) != 0xe8)
            continue;
        /* The E8/E9 bytes left alone 1..3 bytes before i: bit d-1 for d. */
        unsigned h = 0;
        if (have_last && i - last <= 3)
            h = (near << (i - last - 1)) & 7;
        unsigned far = h >= 4 ? 3 : h >= 2 ? 2 : h; /* distance to the farthest */
        int lone = h == 0 || h == 1 || h == 2 || h == 4;
        if (h && (!lone || x86_top_byte(buf[i + 4 - far])))
            goto leave;
        if (!x86_top_byte(buf[i + 4]))
            goto leave;

        uint32_t v = dc_le32(buf + i + 1), addr;
        for (;;) {
            addr = v - (start + (uint32_t)i + 5);
            if (!h)
                break;
            unsigned shift = 24 - far * 8;
            if (!x86_top_byte((uint8_t)(addr >> shift)))
                break;
            v = addr ^ ((1u << (32 - far * 8)) - 1);
        }
        addr &= 0x01ffffffu;
        if (addr & 0x01000000u)
            addr |= 0xff000000u;
        buf[i + 1] = (uint8_t)addr;
        buf[i + 2] = (uint8_t)(addr >> 8);
        buf[i + 3] = (uint8_t)(addr >> 16);
        buf[i + 4] = (uint8_t)(addr >> 24);
        i += 4;
        have_last = 0; /* the next candidate is at least 5 bytes on */
        continue;
    leave:
        near = (h << 1) | 1;
        last = i;
        have_last = 1;
    }
}

/* ---- the .xz container ---------------------------------------------------- */

#define XZ_HEADER   12
#define XZ_FOOTER   12
#define XZ_CHECK_NONE   0
#define XZ_CHECK_CRC32  1
#define XZ_CHECK_CRC64  4
#define XZ_CHECK_SHA256 10
#define XZ_FILTER_X86   0x04
#define XZ_FILTER_LZMA2 0x21

static const uint8_t xz_magic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};

/* A variable-length integer at in[*p..end); -1 if truncated or invalid. */
static int xz_vli(const uint8_t *in, size_t end, size_t *p, uint64_t *v)
{
    *v = 0;
    for (unsigned i = 0; i < 9; i++) {
        if (*p >= end)
            return -1;
        uint8_t b = in[(*p)++];
        *v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            return (b == 0 && i > 0) ? -1 : 0;
    }
    return -1;
}

static unsigned xz_check_size(unsigned type)
{
    return type == XZ_CHECK_NONE ? 0 : type == XZ_CHECK_CRC32 ? 4 : type == XZ_CHECK_CRC64 ? 8 : 32;
}

/* The running summary of blocks (or index records) the index must match. */
struct xz_sums {
    uint64_t count, unpadded, uncompressed;
    uint32_t hash;
};

static void xz_sum(struct xz_sums *s, uint64_t unpadded, uint64_t uncompressed)
{
    uint8_t rec[16];
    for (int i = 0; i < 8; i++) {
        rec[i] = (uint8_t)(unpadded >> (8 * i));
        rec[8 + i] = (uint8_t)(uncompressed >> (8 * i));
    }
    s->count++;
    s->unpadded += unpadded;
    s->uncompressed += uncompressed;
    s->hash = dc_crc32_small(s->hash, rec, sizeof(rec));
}

/* Parses the index at in[p..end): its records' summary and its size
 * (with padding and CRC32). */
static int xz_index(const uint8_t *in, size_t end, size_t p, struct xz_sums *s, size_t *size,
                    const char **why)
{
    size_t start = p;
    uint64_t n;
    if (p >= end || in[p] != 0)
        return DC_FAIL(why, "xz: index missing");
    p++;
    if (xz_vli(in, end, &p, &n))
        return DC_FAIL(why, "xz: index truncated");
    if (n > end - p)
        return DC_FAIL(why, "xz: index truncated");
    for (uint64_t i = 0; i < n; i++) {
        uint64_t unpadded, uncompressed;
        if (xz_vli(in, end, &p, &unpadded) || xz_vli(in, end, &p, &uncompressed))
            return DC_FAIL(why, "xz: index truncated");
        if (unpadded == 0 || s->uncompressed + uncompressed < s->uncompressed)
            return DC_FAIL(why, "xz: bad index record");
        xz_sum(s, unpadded, uncompressed);
    }
    while ((p - start) & 3) {
        if (p >= end)
            return DC_FAIL(why, "xz: index truncated");
        if (in[p++])
            return DC_FAIL(why, "xz: index padding not zero");
    }
    if (end - p < 4)
        return DC_FAIL(why, "xz: index truncated");
    if (dc_crc32_small(0, in + start, p - start) != dc_le32(in + p))
        return DC_FAIL(why, "xz: index CRC32 mismatch");
    *size = p + 4 - start;
    return 0;
}

static int xz_stream_header(const uint8_t *in, size_t in_len, unsigned *check, const char **why)
{
    if (in_len < XZ_HEADER + XZ_FOOTER)
        return DC_FAIL(why, "xz: truncated");
    if (memcmp(in, xz_magic, sizeof(xz_magic)))
        return DC_FAIL(why, "xz: bad magic");
    if (dc_crc32_small(0, in + 6, 2) != dc_le32(in + 8))
        return DC_FAIL(why, "xz: stream header CRC32 mismatch");
    if (in[6] != 0 || (in[7] & 0xf0))
        return DC_FAIL(why, "xz: unsupported stream flags");
    *check = in[7];
    if (*check == XZ_CHECK_SHA256)
        return DC_FAIL(why, "xz: SHA-256 check not supported");
    if (*check != XZ_CHECK_NONE && *check != XZ_CHECK_CRC32 && *check != XZ_CHECK_CRC64)
        return DC_FAIL(why, "xz: unsupported check type");
    return 0;
}

/* The footer at in[p..p + 12) for a stream whose header flags are at
 * in[6..8) and whose index took index_size bytes. */
static int xz_footer(const uint8_t *in, size_t p, size_t index_size, const char **why)
{
    const uint8_t *f = in + p;
    if (dc_crc32_small(0, f + 4, 6) != dc_le32(f))
        return DC_FAIL(why, "xz: stream footer CRC32 mismatch");
    if (f[10] != 'Y' || f[11] != 'Z')
        return DC_FAIL(why, "xz: bad footer magic");
    if (f[8] != in[6] || f[9] != in[7])
        return DC_FAIL(why, "xz: footer flags differ from the header's");
    if (((uint64_t)dc_le32(f + 4) + 1) * 4 != index_size)
        return DC_FAIL(why, "xz: footer backward size does not match the index");
    return 0;
}

/* The end of the stream proper: in_len less trailing stream padding. */
static size_t xz_strip_padding(const uint8_t *in, size_t in_len)
{
    while (in_len >= XZ_HEADER + XZ_FOOTER + 4 && !(in_len & 3) && !dc_le32(in + in_len - 4))
        in_len -= 4;
    return in_len;
}

int dc_xz_stated_size(const uint8_t *in, size_t in_len, uint64_t *size, const char **why)
{
    unsigned check;
    int rc = xz_stream_header(in, in_len, &check, why);
    if (rc)
        return rc;
    size_t end = xz_strip_padding(in, in_len);
    size_t foot = end - XZ_FOOTER;
    uint64_t isize = ((uint64_t)dc_le32(in + foot + 4) + 1) * 4;
    if (isize > foot - XZ_HEADER)
        return DC_FAIL(why, "xz: footer backward size past start of file");
    struct xz_sums s = {0};
    size_t got;
    rc = xz_index(in, foot, foot - (size_t)isize, &s, &got, why);
    if (rc)
        return rc;
    rc = xz_footer(in, foot, got, why);
    if (rc)
        return rc;
    *size = s.uncompressed;
    return 0;
}

int dc_unxz(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, void *scratch,
            const char **why)
{
    struct xz_scratch *s = scratch;
    unsigned check;
    int rc = xz_stream_header(in, in_len, &check, why);
    if (rc)
        return rc;
    unsigned csize = xz_check_size(check);
    if (check == XZ_CHECK_CRC32)
        dc_crc32_table(s->crc32);
    else if (check == XZ_CHECK_CRC64)
        dc_crc64_table(s->crc64);

    struct xz_sums blocks = {0};
    size_t p = XZ_HEADER, o = 0;
    while (p < in_len && in[p] != 0) {
        /* Block header. */
        size_t hsize = ((size_t)in[p] + 1) * 4;
        if (in_len - p < hsize)
            return DC_FAIL(why, "xz: block header truncated");
        if (dc_crc32_small(0, in + p, hsize - 4) != dc_le32(in + p + hsize - 4))
            return DC_FAIL(why, "xz: block header CRC32 mismatch");
        size_t hend = p + hsize - 4, q = p + 2;
        unsigned flags = in[p + 1];
        if (flags & 0x3c)
            return DC_FAIL(why, "xz: reserved block flags set");
        uint64_t stated_c = 0, stated_u = 0;
        if ((flags & 0x40) && xz_vli(in, hend, &q, &stated_c))
            return DC_FAIL(why, "xz: bad block header");
        if ((flags & 0x80) && xz_vli(in, hend, &q, &stated_u))
            return DC_FAIL(why, "xz: bad block header");
        unsigned nfilters = (flags & 3) + 1;
        int bcj = 0;
        uint32_t bcj_start = 0;
        for (unsigned f = 0; f < nfilters; f++) {
            uint64_t id, psize;
            if (xz_vli(in, hend, &q, &id) || xz_vli(in, hend, &q, &psize) || psize > hend - q)
                return DC_FAIL(why, "xz: bad block header");
            int last = f + 1 == nfilters;
            if (last && id == XZ_FILTER_LZMA2) {
                if (psize != 1 || (in[q] & 0xc0) || in[q] > 40)
                    return DC_FAIL(why, "xz: bad LZMA2 properties");
            } else if (!last && id == XZ_FILTER_X86 && !bcj) {
                if (psize == 4)
                    bcj_start = dc_le32(in + q);
                else if (psize != 0)
                    return DC_FAIL(why, "xz: bad BCJ properties");
                bcj = 1;
            } else {
                return DC_FAIL(why, last ? "xz: last filter is not LZMA2"
                                         : "xz: unsupported filter (only x86 BCJ + LZMA2)");
            }
            q += (size_t)psize;
        }
        for (; q < hend; q++)
            if (in[q])
                return DC_FAIL(why, "xz: block header padding not zero");

        /* Compressed data, padding, check. */
        size_t data = p + hsize, used, block_start = o;
        rc = lzma2(&s->lz, in + data, in_len - data, &used, out, out_len, &o, why);
        if (rc)
            return rc;
        if ((flags & 0x40) && stated_c != used)
            return DC_FAIL(why, "xz: block compressed size differs from its header");
        if ((flags & 0x80) && stated_u != o - block_start)
            return DC_FAIL(why, "xz: block uncompressed size differs from its header");
        if (bcj)
            bcj_x86(out + block_start, o - block_start, bcj_start);
        p = data + used;
        while (p & 3) {
            if (p >= in_len)
                return DC_FAIL(why, "xz: block padding truncated");
            if (in[p++])
                return DC_FAIL(why, "xz: block padding not zero");
        }
        if (in_len - p < csize)
            return DC_FAIL(why, "xz: block check truncated");
        if (check == XZ_CHECK_CRC32) {
            if (dc_crc32(s->crc32, 0, out + block_start, o - block_start) != dc_le32(in + p))
                return DC_FAIL(why, "xz: CRC32 mismatch");
        } else if (check == XZ_CHECK_CRC64) {
            if (dc_crc64(s->crc64, 0, out + block_start, o - block_start) != dc_le64(in + p))
                return DC_FAIL(why, "xz: CRC64 mismatch");
        }
        p += csize;
        xz_sum(&blocks, hsize + used + csize, o - block_start);
    }

    /* Index and footer, which must agree with the blocks. */
    struct xz_sums idx = {0};
    size_t isize;
    rc = xz_index(in, in_len, p, &idx, &isize, why);
    if (rc)
        return rc;
    if (idx.count != blocks.count || idx.unpadded != blocks.unpadded ||
        idx.uncompressed != blocks.uncompressed || idx.hash != blocks.hash)
        return DC_FAIL(why, "xz: index does not match the blocks");
    p += isize;
    if (in_len - p < XZ_FOOTER)
        return DC_FAIL(why, "xz: stream footer truncated");
    rc = xz_footer(in, p, isize, why);
    if (rc)
        return rc;
    p += XZ_FOOTER;
    if (xz_strip_padding(in, in_len) != p && in_len != p)
        return DC_FAIL(why, "xz: data after the stream");
    if (o != out_len)
        return DC_FAIL(why, "xz: output shorter than stated size");
    return 0;
}
