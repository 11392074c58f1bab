/*
 * inflate.c - gzip (RFC 1952) around deflate (RFC 1951), single call:
 * the whole member is in memory and the output buffer is the window.
 * Owns: the deflate bit reader, Huffman tables (in the caller's scratch)
 * and the gzip header/trailer checks (CRC-32, ISIZE).
 * Must never: read past in + in_len (a bit read past the end is an
 * error), write past out + out_len, copy from before out, allocate, or use
 * more than a few hundred bytes of stack.
 */
#include <xenolith/errno.h>
#include <xenolith/lib.h>

#include "decompress.h"

#define FAST_BITS 10
#define MAX_BITS  15

struct huff {
    uint16_t count[MAX_BITS + 1]; /* codes of each length */
    uint16_t sym[288];            /* symbols in canonical order */
    uint16_t fast[1u << FAST_BITS]; /* next FAST_BITS bits -> sym << 4 | len; 0: longer code */
};

struct inflate_scratch {
    uint32_t crc[256];
    struct huff lit, dist, clen;
};

_Static_assert(sizeof(struct inflate_scratch) <= (64u << 10), "inflate scratch");

struct bits {
    const uint8_t *in;
    size_t len, pos;
    uint64_t buf;  /* unread bits, LSB first */
    unsigned cnt;  /* bits in buf */
    size_t pad;    /* zero bytes fed past the end of the input */
};

static inline void br_refill(struct bits *b)
{
    while (b->cnt <= 56) {
        uint64_t v = 0;
        if (b->pos < b->len)
            v = b->in[b->pos++];
        else
            b->pad++;
        b->buf |= v << b->cnt;
        b->cnt += 8;
    }
}

/* True once a consumed bit came from the zero padding past the end. */
static inline int br_overrun(const struct bits *b)
{
    return (size_t)b->cnt < b->pad * 8;
}

static inline uint32_t br_get(struct bits *b, unsigned n)
{
    if (b->cnt < n)
        br_refill(b);
    uint32_t v = (uint32_t)(b->buf & ((1ull << n) - 1));
    b->buf >>= n;
    b->cnt -= n;
    return v;
}

/* Drops to a byte boundary and hands the whole unread bytes back to the
 * input. -1 if bits past the end were already consumed. */
static int br_align(struct bits *b)
{
    unsigned drop = b->cnt & 7;
    b->buf >>= drop;
    b->cnt -= drop;
    size_t whole = b->cnt / 8;
    if (whole < b->pad)
        return -1;
    b->pos -= whole - b->pad;
    b->pad = 0;
    b->buf = 0;
    b->cnt = 0;
    return 0;
}

/* Builds a canonical code from len[0..n); over-subscribed sets fail,
 * incomplete ones are accepted (an unused code fails at decode time). */
static int huff_build(struct huff *h, const uint8_t *len, unsigned n)
{
    uint16_t offs[MAX_BITS + 2];

    memset(h->count, 0, sizeof(h->count));
    for (unsigned s = 0; s < n; s++)
        h->count[len[s]]++;
    h->count[0] = 0;
    int left = 1;
    for (unsigned l = 1; l <= MAX_BITS; l++) {
        left = (left << 1) - h->count[l];
        if (left < 0)
            return -1;
    }
    offs[1] = 0;
    for (unsigned l = 1; l <= MAX_BITS; l++)
        offs[l + 1] = (uint16_t)(offs[l] + h->count[l]);
    for (unsigned s = 0; s < n; s++)
        if (len[s])
            h->sym[offs[len[s]]++] = (uint16_t)s;

    memset(h->fast, 0, sizeof(h->fast));
    unsigned code = 0, idx = 0;
    for (unsigned l = 1; l <= FAST_BITS; l++) {
        for (unsigned k = 0; k < h->count[l]; k++, code++) {
            unsigned rev = 0;
            for (unsigned i = 0; i < l; i++)
                rev |= ((code >> i) & 1u) << (l - 1 - i);
            uint16_t e = (uint16_t)(h->sym[idx++] << 4 | l);
            for (unsigned r = rev; r < (1u << FAST_BITS); r += 1u << l)
                h->fast[r] = e;
        }
        code <<= 1;
    }
    return 0;
}

/* The next symbol, or -1 for a code the table does not have. */
static inline int huff_decode(struct bits *b, const struct huff *h)
{
    if (b->cnt < MAX_BITS)
        br_refill(b);
    unsigned e = h->fast[b->buf & ((1u << FAST_BITS) - 1)];
    if (e) {
        b->buf >>= e & 15;
        b->cnt -= e & 15;
        return (int)(e >> 4);
    }
    /* A longer code: walk the canonical code a bit at a time. */
    unsigned code = 0, first = 0, index = 0;
    for (unsigned l = 1; l <= MAX_BITS; l++) {
        code |= (unsigned)(b->buf >> (l - 1)) & 1u;
        unsigned count = h->count[l];
        if (code - first < count) {
            b->buf >>= l;
            b->cnt -= l;
            return h->sym[index + code - first];
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

static const uint16_t len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
static const uint8_t clen_order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

static int read_dynamic(struct bits *b, struct inflate_scratch *s, const char **why)
{
    uint8_t len[288 + 32];
    unsigned hlit = br_get(b, 5) + 257, hdist = br_get(b, 5) + 1, hclen = br_get(b, 4) + 4;
    if (hlit > 286 || hdist > 30)
        return DC_FAIL(why, "gzip: bad dynamic block header");
    memset(len, 0, 19);
    for (unsigned i = 0; i < hclen; i++)
        len[clen_order[i]] = (uint8_t)br_get(b, 3);
    if (huff_build(&s->clen, len, 19))
        return DC_FAIL(why, "gzip: bad code-length code");
    unsigned n = 0;
    while (n < hlit + hdist) {
        int sym = huff_decode(b, &s->clen);
        if (sym < 0 || br_overrun(b))
            return DC_FAIL(why, "gzip: bad code length");
        unsigned rep, val = 0;
        if (sym < 16) {
            len[n++] = (uint8_t)sym;
            continue;
        } else if (sym == 16) {
            if (n == 0)
                return DC_FAIL(why, "gzip: repeat with no previous length");
            val = len[n - 1];
            rep = 3 + br_get(b, 2);
        } else if (sym == 17) {
            rep = 3 + br_get(b, 3);
        } else {
            rep = 11 + br_get(b, 7);
        }
        if (n + rep > hlit + hdist)
            return DC_FAIL(why, "gzip: code lengths overflow");
        while (rep--)
            len[n++] = (uint8_t)val;
    }
    if (len[256] == 0)
        return DC_FAIL(why, "gzip: no end-of-block code");
    if (huff_build(&s->lit, len, hlit) || huff_build(&s->dist, len + hlit, hdist))
        return DC_FAIL(why, "gzip: over-subscribed code");
    return 0;
}

static void build_fixed(struct inflate_scratch *s)
{
    uint8_t len[288];
    unsigned i = 0;
    for (; i < 144; i++)
        len[i] = 8;
    for (; i < 256; i++)
        len[i] = 9;
    for (; i < 280; i++)
        len[i] = 7;
    for (; i < 288; i++)
        len[i] = 8;
    huff_build(&s->lit, len, 288);
    for (i = 0; i < 32; i++)
        len[i] = 5;
    huff_build(&s->dist, len, 32);
}

/* Inflates the raw deflate stream at b into out[0..out_len); leaves b at
 * the byte after the final block. *produced is how far it got. */
static int inflate(struct bits *b, struct inflate_scratch *s, uint8_t *out, size_t out_len,
                   size_t *produced, const char **why)
{
    size_t op = 0;
    unsigned final;
    do {
        final = br_get(b, 1);
        unsigned type = br_get(b, 2);
        if (br_overrun(b))
            return DC_FAIL(why, "gzip: truncated");
        if (type == 0) {
            if (br_align(b))
                return DC_FAIL(why, "gzip: truncated");
            if (b->len - b->pos < 4)
                return DC_FAIL(why, "gzip: truncated stored block");
            unsigned n = dc_le16(b->in + b->pos), nn = dc_le16(b->in + b->pos + 2);
            b->pos += 4;
            if ((n ^ 0xffffu) != nn)
                return DC_FAIL(why, "gzip: stored block length check failed");
            if (b->len - b->pos < n)
                return DC_FAIL(why, "gzip: truncated stored block");
            if (out_len - op < n)
                return DC_FAIL(why, "gzip: output longer than stated size");
            memcpy(out + op, b->in + b->pos, n);
            b->pos += n;
            op += n;
            continue;
        }
        if (type == 3)
            return DC_FAIL(why, "gzip: reserved block type");
        if (type == 1) {
            build_fixed(s);
        } else {
            int rc = read_dynamic(b, s, why);
            if (rc)
                return rc;
        }
        for (;;) {
            int sym = huff_decode(b, &s->lit);
            if (br_overrun(b))
                return DC_FAIL(why, "gzip: truncated");
            if (sym < 0)
                return DC_FAIL(why, "gzip: invalid literal/length code");
            if (sym < 256) {
                if (op == out_len)
                    return DC_FAIL(why, "gzip: output longer than stated size");
                out[op++] = (uint8_t)sym;
                continue;
            }
            if (sym == 256)
                break;
            sym -= 257;
            if (sym >= 29)
                return DC_FAIL(why, "gzip: invalid length code");
            size_t n = len_base[sym] + br_get(b, len_extra[sym]);
            int d = huff_decode(b, &s->dist);
            if (d < 0 || d >= 30)
                return DC_FAIL(why, "gzip: invalid distance code");
            size_t dist = dist_base[d] + br_get(b, dist_extra[d]);
            if (br_overrun(b))
                return DC_FAIL(why, "gzip: truncated");
            if (dist > op)
                return DC_FAIL(why, "gzip: distance before start of output");
            if (out_len - op < n)
                return DC_FAIL(why, "gzip: output longer than stated size");
            const uint8_t *from = out + op - dist;
            uint8_t *to = out + op;
            op += n;
            if (dist >= n) {
                memcpy(to, from, n);
            } else {
                while (n--)
                    *to++ = *from++;
            }
        }
    } while (!final);
    *produced = op;
    if (br_align(b))
        return DC_FAIL(why, "gzip: truncated");
    return 0;
}

#define GZ_FTEXT    0x01
#define GZ_FHCRC    0x02
#define GZ_FEXTRA   0x04
#define GZ_FNAME    0x08
#define GZ_FCOMMENT 0x10

int dc_gunzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, void *scratch,
              const char **why)
{
    struct inflate_scratch *s = scratch;

    if (in_len < 18)
        return DC_FAIL(why, "gzip: truncated");
    if (in[0] != 0x1f || in[1] != 0x8b)
        return DC_FAIL(why, "gzip: bad magic");
    if (in[2] != 8)
        return DC_FAIL(why, "gzip: compression method is not deflate");
    uint8_t flg = in[3];
    if (flg & 0xe0)
        return DC_FAIL(why, "gzip: reserved header flags set");
    size_t p = 10;
    size_t end = in_len - 8; /* the trailer */
    if (flg & GZ_FEXTRA) {
        if (end - p < 2)
            return DC_FAIL(why, "gzip: truncated header");
        size_t xlen = dc_le16(in + p);
        p += 2;
        if (end - p < xlen)
            return DC_FAIL(why, "gzip: truncated header");
        p += xlen;
    }
    for (uint8_t f = GZ_FNAME; f <= GZ_FCOMMENT; f <<= 1) {
        if (!(flg & f))
            continue;
        while (p < end && in[p])
            p++;
        if (p >= end)
            return DC_FAIL(why, "gzip: truncated header");
        p++;
    }
    if (flg & GZ_FHCRC) {
        if (end - p < 2)
            return DC_FAIL(why, "gzip: truncated header");
        if ((dc_crc32_small(0, in, p) & 0xffff) != dc_le16(in + p))
            return DC_FAIL(why, "gzip: header CRC mismatch");
        p += 2;
    }

    struct bits b = {.in = in, .len = end, .pos = p};
    size_t produced = 0;
    int rc = inflate(&b, s, out, out_len, &produced, why);
    if (rc)
        return rc;
    if (b.pos != end)
        return DC_FAIL(why, "gzip: data after the end of the deflate stream");
    if (produced != out_len)
        return DC_FAIL(why, "gzip: output shorter than stated size");
    if (dc_le32(in + end + 4) != (uint32_t)out_len)
        return DC_FAIL(why, "gzip: ISIZE does not match the output");
    dc_crc32_table(s->crc);
    if (dc_crc32(s->crc, 0, out, out_len) != dc_le32(in + end))
        return DC_FAIL(why, "gzip: CRC32 mismatch");
    return 0;
}
