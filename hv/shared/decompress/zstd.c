/*
 * zstd.c - Zstandard frames (RFC 8878), single call: the output buffer is
 * the whole window, and a compressed block's literals are decoded into
 * the unwritten end of the output (sequences write behind them), so no
 * 128 KiB literal buffer is needed. No dictionaries.
 * Owns: frame and block parsing, FSE and Huffman table building and
 * decoding, sequence execution with repeat offsets, and the XXH64
 * content checksum (when the frame has one).
 * Must never: read past in + in_len, write past out + out_len, copy from
 * before out, allocate, or keep more than a few hundred bytes of stack.
 */
#include <xenolith/errno.h>
#include <xenolith/lib.h>

#include "decompress.h"

#define ZSTD_MAGIC      0xFD2FB528u
#define ZSTD_SKIP_MAGIC 0x184D2A50u /* low 4 bits free */
#define ZSTD_BLOCK_MAX  (128u << 10)
#define LL_MAX_LOG 9
#define ML_MAX_LOG 9
#define OF_MAX_LOG 8
#define HW_MAX_LOG 6  /* Huffman weights' FSE table */
#define HUF_MAX_BITS 11

struct fse {
    uint8_t sym, nbits;
    uint16_t base;
};

struct zstd_scratch {
    struct fse ll[1u << LL_MAX_LOG], ml[1u << ML_MAX_LOG], of[1u << OF_MAX_LOG];
    struct fse hw[1u << HW_MAX_LOG];
    uint16_t huf[1u << HUF_MAX_BITS]; /* sym | nbits << 8, indexed by the next huf_bits bits */
    unsigned ll_log, ml_log, of_log, huf_bits;
    int have_ll, have_ml, have_of, have_huf;
    uint32_t rep[3];
};

_Static_assert(sizeof(struct zstd_scratch) <= (64u << 10), "zstd scratch");

static inline unsigned highbit32(uint32_t v) /* v != 0 */
{
    unsigned n = 0;
    while (v >>= 1)
        n++;
    return n;
}

/* ---- bit streams ---------------------------------------------------------- */

/* A backward stream: the last byte's top set bit marks the end; fields are
 * read from the end towards the start. Reading past the start yields zero
 * bits and leaves pos negative (an overflow the callers check). */
struct bb {
    const uint8_t *p;
    size_t len;
    int64_t pos; /* bits still unread below */
};

static int bb_init(struct bb *b, const uint8_t *p, size_t len)
{
    if (len == 0 || p[len - 1] == 0)
        return -1;
    b->p = p;
    b->len = len;
    b->pos = (int64_t)(len - 1) * 8 + highbit32(p[len - 1]);
    return 0;
}

/* At least 57 bits starting at bit `bit` (>= 0), zero past the end. */
static inline uint64_t bb_window(const struct bb *b, int64_t bit)
{
    size_t byte = (size_t)(bit >> 3);
    uint64_t v = 0;
    if (byte + 8 <= b->len) {
        v = dc_le64(b->p + byte);
    } else {
        for (size_t i = 0; byte + i < b->len; i++)
            v |= (uint64_t)b->p[byte + i] << (8 * i);
    }
    return v >> (bit & 7);
}

static inline uint32_t bb_peek(const struct bb *b, unsigned n)
{
    if (!n)
        return 0;
    int64_t at = b->pos - n;
    if (at >= 0)
        return (uint32_t)(bb_window(b, at) & ((1ull << n) - 1));
    int64_t have = b->pos;
    if (have <= 0)
        return 0;
    return (uint32_t)((bb_window(b, 0) & ((1ull << have) - 1)) << (n - have));
}

static inline uint32_t bb_read(struct bb *b, unsigned n)
{
    uint32_t v = bb_peek(b, n);
    b->pos -= n;
    return v;
}

/* ---- FSE tables ------------------------------------------------------------- */

/* Reads an FSE table description at in[0..len) (RFC 8878 4.1.1) into
 * norm[0..max_sym] and *log; *used is its size in bytes. */
static int fse_read_counts(const uint8_t *in, size_t len, int16_t *norm, unsigned max_sym,
                           unsigned max_log, unsigned *log, unsigned *nsym, size_t *used)
{
    size_t bit = 0, total = len * 8;
#define FWD_BITS(n, out)                                                                  \
    do {                                                                                  \
        unsigned n_ = (n);                                                                \
        if (bit + n_ > total)                                                             \
            return -1;                                                                    \
        uint32_t v_ = 0;                                                                  \
        for (unsigned i_ = 0; i_ < n_; i_++, bit++)                                      \
            v_ |= (uint32_t)((in[bit >> 3] >> (bit & 7)) & 1) << i_;                     \
        (out) = v_;                                                                       \
    } while (0)
    uint32_t al;
    FWD_BITS(4, al);
    al += 5;
    if (al > max_log)
        return -1;
    *log = al;
    int32_t remaining = (1 << al) + 1; /* probabilities still to hand out, plus one */
    unsigned s = 0;
    while (remaining > 1) {
        if (s > max_sym)
            return -1;
        /* A value in [0, remaining]: nb - 1 bits when those are below
         * thr (the values nb - 1 bits cannot tell apart), else nb bits,
         * the larger values folded down by thr. */
        unsigned nb = highbit32((uint32_t)remaining) + 1;
        uint32_t lowmax = (1u << (nb - 1)) - 1; /* the low nb-1 bits' mask */
        uint32_t thr = (1u << nb) - 1 - (uint32_t)remaining;
        uint32_t v;
        if (bit + nb - 1 > total)
            return -1;
        FWD_BITS(nb - 1, v);
        if ((v & lowmax) >= thr) {
            uint32_t top;
            FWD_BITS(1, top);
            v |= top << (nb - 1);
            if (v > lowmax)
                v -= thr;
        }
        int32_t prob = (int32_t)v - 1;
        norm[s++] = (int16_t)prob;
        remaining -= prob < 0 ? 1 : prob;
        if (prob == 0) {
            /* Zero probabilities repeat: 2-bit counts, 3 meaning more. */
            uint32_t rep;
            do {
                FWD_BITS(2, rep);
                for (uint32_t k = 0; k < rep; k++) {
                    if (s > max_sym)
                        return -1;
                    norm[s++] = 0;
                }
            } while (rep == 3);
        }
    }
#undef FWD_BITS
    if (remaining != 1)
        return -1;
    *nsym = s;
    *used = (bit + 7) / 8;
    return 0;
}

/* Builds a decoding table of 1 << log states from norm[0..nsym). */
static int fse_build(struct fse *t, const int16_t *norm, unsigned nsym, unsigned log)
{
    uint16_t next[64];
    uint32_t size = 1u << log, high = size - 1;
    if (nsym > 64)
        return -1;
    for (unsigned s = 0; s < nsym; s++) {
        if (norm[s] == -1) {
            t[high--].sym = (uint8_t)s;
            next[s] = 1;
        } else {
            next[s] = (uint16_t)norm[s];
        }
    }
    uint32_t pos = 0, step = (size >> 1) + (size >> 3) + 3;
    for (unsigned s = 0; s < nsym; s++) {
        for (int i = 0; i < norm[s]; i++) {
            t[pos].sym = (uint8_t)s;
            do
                pos = (pos + step) & (size - 1);
            while (pos > high);
        }
    }
    if (pos != 0)
        return -1;
    for (uint32_t u = 0; u < size; u++) {
        uint32_t n = next[t[u].sym]++;
        unsigned nb = log - highbit32(n);
        t[u].nbits = (uint8_t)nb;
        t[u].base = (uint16_t)((n << nb) - size);
    }
    return 0;
}

static void fse_rle(struct fse *t, unsigned sym)
{
    t[0].sym = (uint8_t)sym;
    t[0].nbits = 0;
    t[0].base = 0;
}

/* ---- Huffman literals ------------------------------------------------------ */

/* Reads a Huffman tree description at in[0..len) (RFC 8878 4.2.1) into
 * s->huf; *used is its size. */
static int huf_read(struct zstd_scratch *s, const uint8_t *in, size_t len, size_t *used)
{
    uint8_t w[256];
    unsigned n = 0;
    if (len < 1)
        return -1;
    unsigned hb = in[0];
    if (hb >= 128) {
        n = hb - 127;
        size_t bytes = (n + 1) / 2;
        if (len - 1 < bytes)
            return -1;
        for (unsigned i = 0; i < n; i++)
            w[i] = (uint8_t)(i & 1 ? in[1 + i / 2] & 15 : in[1 + i / 2] >> 4);
        *used = 1 + bytes;
    } else {
        int16_t norm[16];
        unsigned log, nsym;
        size_t tl;
        if (hb == 0 || len - 1 < hb)
            return -1;
        if (fse_read_counts(in + 1, hb, norm, 15, HW_MAX_LOG, &log, &nsym, &tl) ||
            fse_build(s->hw, norm, nsym, log))
            return -1;
        struct bb b;
        if (tl > hb || bb_init(&b, in + 1 + tl, hb - tl))
            return -1;
        uint32_t s1 = bb_read(&b, log), s2 = bb_read(&b, log);
        if (b.pos < 0)
            return -1;
        /* Two interleaved states; when an update runs past the start,
         * the other state's symbol is the last. */
        for (;;) {
            if (n >= 255)
                return -1;
            w[n++] = s->hw[s1].sym;
            s1 = s->hw[s1].base + bb_read(&b, s->hw[s1].nbits);
            if (b.pos < 0) {
                if (n >= 255)
                    return -1;
                w[n++] = s->hw[s2].sym;
                break;
            }
            if (n >= 255)
                return -1;
            w[n++] = s->hw[s2].sym;
            s2 = s->hw[s2].base + bb_read(&b, s->hw[s2].nbits);
            if (b.pos < 0) {
                if (n >= 255)
                    return -1;
                w[n++] = s->hw[s1].sym;
                break;
            }
        }
        *used = 1 + hb;
    }
    /* The last symbol's weight completes the sum to a power of two. */
    uint32_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        if (w[i] > HUF_MAX_BITS)
            return -1;
        if (w[i])
            total += 1u << (w[i] - 1);
    }
    if (total == 0)
        return -1;
    unsigned maxb = highbit32(total) + 1;
    uint32_t left = (1u << maxb) - total;
    if (maxb > HUF_MAX_BITS || (left & (left - 1)))
        return -1;
    w[n++] = (uint8_t)(highbit32(left) + 1);
    /* Codes in order of weight, then symbol, from the all-zero code up:
     * a weight-w symbol covers 2^(w-1) entries of the 2^maxb table. */
    uint32_t pos = 0;
    for (unsigned wt = 1; wt <= maxb; wt++) {
        for (unsigned sym = 0; sym < n; sym++) {
            if (w[sym] != wt)
                continue;
            uint16_t e = (uint16_t)(sym | (maxb + 1 - wt) << 8);
            for (uint32_t k = 0; k < (1u << (wt - 1)); k++)
                s->huf[pos++] = e;
        }
    }
    if (pos != (1u << maxb))
        return -1;
    s->huf_bits = maxb;
    s->have_huf = 1;
    return 0;
}

/* Decodes one Huffman stream in[0..len) into exactly n bytes at dst. */
static int huf_stream(const struct zstd_scratch *s, const uint8_t *in, size_t len, uint8_t *dst,
                      size_t n)
{
    struct bb b;
    if (bb_init(&b, in, len))
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint16_t e = s->huf[bb_peek(&b, s->huf_bits)];
        dst[i] = (uint8_t)e;
        b.pos -= e >> 8;
        if (b.pos < 0)
            return -1;
    }
    return b.pos == 0 ? 0 : -1;
}

/* ---- blocks ---------------------------------------------------------------- */

static const int16_t ll_default[36] = {4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2,
                                       2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1};
static const int16_t ml_default[53] = {1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                       1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                       1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1};
static const int16_t of_default[29] = {1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1,
                                       1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1};

static const uint32_t ll_base[36] = {0,  1,  2,  3,  4,   5,   6,   7,   8,    9,    10,   11,
                                     12, 13, 14, 15, 16,  18,  20,  22,  24,   28,   32,   40,
                                     48, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
static const uint8_t ll_bits[36] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  1,  1,
                                    1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint32_t ml_base[53] = {3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,  14,  15,  16,
                                     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,  28,  29,  30,
                                     31, 32, 33, 34, 35, 37, 39, 41, 43, 47, 51,  59,  67,  83,
                                     99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771, 65539};
static const uint8_t ml_bits[53] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1,
                                    2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* One table of a sequences section: mode 0 predefined, 1 RLE, 2 FSE
 * description, 3 repeat the last. */
static int seq_table(unsigned mode, const uint8_t *in, size_t len, size_t *used, struct fse *t,
                     unsigned *log, int *have, const int16_t *def, unsigned def_n,
                     unsigned def_log, unsigned max_sym, unsigned max_log)
{
    int16_t norm[64];
    unsigned nsym;
    *used = 0;
    switch (mode) {
    case 0:
        if (fse_build(t, def, def_n, def_log))
            return -1;
        *log = def_log;
        break;
    case 1:
        if (len < 1 || in[0] > max_sym)
            return -1;
        fse_rle(t, in[0]);
        *log = 0;
        *used = 1;
        break;
    case 2:
        if (fse_read_counts(in, len, norm, max_sym, max_log, log, &nsym, used) ||
            fse_build(t, norm, nsym, *log))
            return -1;
        break;
    default:
        if (!*have)
            return -1;
        return 0;
    }
    *have = 1;
    return 0;
}

struct zout {
    uint8_t *out;
    size_t len, o; /* o: bytes written */
};

static int zstd_block(struct zstd_scratch *s, const uint8_t *in, size_t len, struct zout *z,
                      const char **why)
{
    /* Literals section. */
    if (len < 1)
        return DC_FAIL(why, "zstd: truncated block");
    unsigned ltype = in[0] & 3, sf = (in[0] >> 2) & 3;
    size_t lsize, csize = 0, hdr, p;
    const uint8_t *lit;
    if (ltype < 2) {
        hdr = sf == 1 ? 2 : sf == 3 ? 3 : 1;
        if (len < hdr + 0)
            return DC_FAIL(why, "zstd: truncated literals header");
        if (hdr == 1)
            lsize = in[0] >> 3;
        else if (hdr == 2)
            lsize = (in[0] >> 4) | (size_t)in[1] << 4;
        else
            lsize = (in[0] >> 4) | (size_t)in[1] << 4 | (size_t)in[2] << 12;
    } else {
        hdr = sf < 2 ? 3 : sf == 2 ? 4 : 5;
        if (len < hdr)
            return DC_FAIL(why, "zstd: truncated literals header");
        uint64_t h = 0;
        for (size_t i = 0; i < hdr; i++)
            h |= (uint64_t)in[i] << (8 * i);
        unsigned nb = sf < 2 ? 10 : sf == 2 ? 14 : 18;
        lsize = (size_t)(h >> 4) & ((1u << nb) - 1);
        csize = (size_t)(h >> (4 + nb)) & ((1u << nb) - 1);
    }
    if (lsize > ZSTD_BLOCK_MAX)
        return DC_FAIL(why, "zstd: literals larger than a block");
    if (lsize > z->len - z->o)
        return DC_FAIL(why, "zstd: output longer than stated size");
    p = hdr;
    if (ltype == 0) {
        if (len - p < lsize)
            return DC_FAIL(why, "zstd: truncated literals");
        lit = in + p;
        p += lsize;
    } else {
        /* Decoded at the unwritten end of the output. */
        uint8_t *dst = z->out + z->len - lsize;
        lit = dst;
        if (ltype == 1) {
            if (len - p < 1)
                return DC_FAIL(why, "zstd: truncated literals");
            memset(dst, in[p], lsize);
            p += 1;
        } else {
            if (len - p < csize)
                return DC_FAIL(why, "zstd: truncated literals");
            const uint8_t *c = in + p;
            size_t clen = csize, tu = 0;
            if (ltype == 2) {
                if (huf_read(s, c, clen, &tu))
                    return DC_FAIL(why, "zstd: bad Huffman tree");
            } else if (!s->have_huf) {
                return DC_FAIL(why, "zstd: treeless literals with no previous tree");
            }
            c += tu;
            clen -= tu;
            if (sf == 0) {
                if (huf_stream(s, c, clen, dst, lsize))
                    return DC_FAIL(why, "zstd: corrupt Huffman literals");
            } else {
                if (clen < 6)
                    return DC_FAIL(why, "zstd: truncated literal jump table");
                size_t l1 = dc_le16(c), l2 = dc_le16(c + 2), l3 = dc_le16(c + 4);
                if (l1 + l2 + l3 > clen - 6)
                    return DC_FAIL(why, "zstd: bad literal jump table");
                size_t l4 = clen - 6 - l1 - l2 - l3, q = (lsize + 3) / 4;
                if (lsize < 3 * q)
                    return DC_FAIL(why, "zstd: bad literal jump table");
                const uint8_t *c1 = c + 6, *c2 = c1 + l1, *c3 = c2 + l2, *c4 = c3 + l3;
                if (huf_stream(s, c1, l1, dst, q) || huf_stream(s, c2, l2, dst + q, q) ||
                    huf_stream(s, c3, l3, dst + 2 * q, q) ||
                    huf_stream(s, c4, l4, dst + 3 * q, lsize - 3 * q))
                    return DC_FAIL(why, "zstd: corrupt Huffman literals");
            }
            p += csize;
        }
    }

    /* Sequences section. */
    if (len - p < 1)
        return DC_FAIL(why, "zstd: truncated sequences header");
    size_t nseq = in[p++];
    if (nseq >= 128) {
        if (nseq < 255) {
            if (len - p < 1)
                return DC_FAIL(why, "zstd: truncated sequences header");
            nseq = ((nseq - 128) << 8) + in[p++];
        } else {
            if (len - p < 2)
                return DC_FAIL(why, "zstd: truncated sequences header");
            nseq = dc_le16(in + p) + 0x7f00;
            p += 2;
        }
    }
    size_t li = 0; /* literals consumed */
    if (nseq) {
        if (len - p < 1)
            return DC_FAIL(why, "zstd: truncated sequences header");
        unsigned modes = in[p++];
        if (modes & 3)
            return DC_FAIL(why, "zstd: reserved sequence mode bits set");
        size_t u;
        if (seq_table(modes >> 6, in + p, len - p, &u, s->ll, &s->ll_log, &s->have_ll, ll_default,
                      36, 6, 35, LL_MAX_LOG))
            return DC_FAIL(why, "zstd: bad literal-length table");
        p += u;
        if (seq_table((modes >> 4) & 3, in + p, len - p, &u, s->of, &s->of_log, &s->have_of,
                      of_default, 29, 5, 31, OF_MAX_LOG))
            return DC_FAIL(why, "zstd: bad offset table");
        p += u;
        if (seq_table((modes >> 2) & 3, in + p, len - p, &u, s->ml, &s->ml_log, &s->have_ml,
                      ml_default, 53, 6, 52, ML_MAX_LOG))
            return DC_FAIL(why, "zstd: bad match-length table");
        p += u;
        struct bb b;
        if (bb_init(&b, in + p, len - p))
            return DC_FAIL(why, "zstd: bad sequences bitstream");
        uint32_t sll = bb_read(&b, s->ll_log), sof = bb_read(&b, s->of_log),
                 sml = bb_read(&b, s->ml_log);
        for (size_t i = 0; i < nseq; i++) {
            unsigned llc = s->ll[sll].sym, mlc = s->ml[sml].sym, ofc = s->of[sof].sym;
            if (llc > 35 || mlc > 52 || ofc > 31)
                return DC_FAIL(why, "zstd: bad sequence code");
            uint32_t ofv = (1u << ofc) + bb_read(&b, ofc);
            size_t ml = ml_base[mlc] + bb_read(&b, ml_bits[mlc]);
            size_t ll = ll_base[llc] + bb_read(&b, ll_bits[llc]);
            uint32_t off;
            if (ofv > 3) {
                off = ofv - 3;
                s->rep[2] = s->rep[1];
                s->rep[1] = s->rep[0];
                s->rep[0] = off;
            } else {
                unsigned r = ofv - 1 + (ll == 0); /* 0: rep0 .. 3: rep0 - 1 */
                if (r == 0) {
                    off = s->rep[0];
                } else {
                    off = r == 3 ? s->rep[0] - 1 : s->rep[r];
                    if (r != 1)
                        s->rep[2] = s->rep[1];
                    s->rep[1] = s->rep[0];
                    s->rep[0] = off;
                }
            }
            if (i + 1 < nseq) {
                sll = s->ll[sll].base + bb_read(&b, s->ll[sll].nbits);
                sml = s->ml[sml].base + bb_read(&b, s->ml[sml].nbits);
                sof = s->of[sof].base + bb_read(&b, s->of[sof].nbits);
            }
            if (b.pos < 0)
                return DC_FAIL(why, "zstd: sequences bitstream overrun");
            /* Execute: literals, then the match. */
            if (ll > lsize - li)
                return DC_FAIL(why, "zstd: sequence past the literals");
            if (ll + ml > z->len - z->o)
                return DC_FAIL(why, "zstd: output longer than stated size");
            memmove(z->out + z->o, lit + li, ll);
            li += ll;
            z->o += ll;
            if (off == 0 || off > z->o)
                return DC_FAIL(why, "zstd: match offset before start of output");
            uint8_t *to = z->out + z->o;
            const uint8_t *from = to - off;
            z->o += ml;
            if (off >= ml) {
                memcpy(to, from, ml);
            } else {
                while (ml--)
                    *to++ = *from++;
            }
        }
        if (b.pos != 0)
            return DC_FAIL(why, "zstd: sequences bitstream not fully used");
    } else if (p != len) {
        return DC_FAIL(why, "zstd: data after the literals");
    }
    size_t rest = lsize - li;
    if (rest > z->len - z->o)
        return DC_FAIL(why, "zstd: output longer than stated size");
    memmove(z->out + z->o, lit + li, rest);
    z->o += rest;
    return 0;
}

/* ---- XXH64, for the content checksum --------------------------------------- */

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl64(uint64_t v, unsigned r)
{
    return (v << r) | (v >> (64 - r));
}

static inline uint64_t xxh_round(uint64_t acc, uint64_t lane)
{
    return rotl64(acc + lane * P2, 31) * P1;
}

static uint64_t xxh64(const uint8_t *p, size_t n)
{
    const uint8_t *end = p + n;
    uint64_t h;
    if (n >= 32) {
        uint64_t v1 = P1 + P2, v2 = P2, v3 = 0, v4 = 0 - P1;
        while (end - p >= 32) {
            v1 = xxh_round(v1, dc_le64(p));
            v2 = xxh_round(v2, dc_le64(p + 8));
            v3 = xxh_round(v3, dc_le64(p + 16));
            v4 = xxh_round(v4, dc_le64(p + 24));
            p += 32;
        }
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = (h ^ xxh_round(0, v1)) * P1 + P4;
        h = (h ^ xxh_round(0, v2)) * P1 + P4;
        h = (h ^ xxh_round(0, v3)) * P1 + P4;
        h = (h ^ xxh_round(0, v4)) * P1 + P4;
    } else {
        h = P5;
    }
    h += n;
    while (end - p >= 8) {
        h ^= xxh_round(0, dc_le64(p));
        h = rotl64(h, 27) * P1 + P4;
        p += 8;
    }
    if (end - p >= 4) {
        h ^= (uint64_t)dc_le32(p) * P1;
        h = rotl64(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= *p++ * P5;
        h = rotl64(h, 11) * P1;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

/* ---- frames ----------------------------------------------------------------- */

struct zframe {
    size_t hdr;      /* header bytes after the magic */
    int has_fcs, checksum;
    uint64_t fcs;
};

static int zstd_frame_header(const uint8_t *in, size_t len, struct zframe *f, const char **why)
{
    if (len < 5)
        return DC_FAIL(why, "zstd: truncated frame header");
    unsigned d = in[4];
    if (d & 0x08)
        return DC_FAIL(why, "zstd: reserved frame header bit set");
    unsigned fcs_flag = d >> 6, single = (d >> 5) & 1, did_flag = d & 3;
    size_t did = did_flag == 3 ? 4 : did_flag;
    size_t fcs = fcs_flag == 0 ? single : 1u << fcs_flag;
    size_t n = 1 + !single + did + fcs;
    if (len - 4 < n)
        return DC_FAIL(why, "zstd: truncated frame header");
    const uint8_t *q = in + 5 + !single;
    uint32_t dict = 0;
    for (size_t i = 0; i < did; i++)
        dict |= (uint32_t)q[i] << (8 * i);
    if (dict)
        return DC_FAIL(why, "zstd: frame needs a dictionary");
    q += did;
    f->fcs = 0;
    for (size_t i = 0; i < fcs; i++)
        f->fcs |= (uint64_t)q[i] << (8 * i);
    if (fcs == 2)
        f->fcs += 256;
    f->has_fcs = fcs != 0;
    f->checksum = (d >> 2) & 1;
    f->hdr = n;
    return 0;
}

int dc_zstd_stated_size(const uint8_t *in, size_t in_len, uint64_t *size, const char **why)
{
    if (in_len < 4 || dc_le32(in) != ZSTD_MAGIC)
        return DC_FAIL(why, "zstd: bad magic");
    struct zframe f;
    int rc = zstd_frame_header(in, in_len, &f, why);
    if (rc)
        return rc;
    if (!f.has_fcs)
        return DC_FAIL(why, "zstd: frame states no size (made from a pipe?)");
    *size = f.fcs;
    return 0;
}

int dc_unzstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, void *scratch,
              const char **why)
{
    struct zstd_scratch *s = scratch;
    struct zout z = {.out = out, .len = out_len, .o = 0};
    size_t p = 0;
    int frames = 0;

    while (p < in_len) {
        if (in_len - p < 4)
            return DC_FAIL(why, "zstd: truncated frame");
        uint32_t magic = dc_le32(in + p);
        if ((magic & ~0xfu) == ZSTD_SKIP_MAGIC) {
            if (in_len - p < 8 || dc_le32(in + p + 4) > in_len - p - 8)
                return DC_FAIL(why, "zstd: truncated skippable frame");
            p += 8 + dc_le32(in + p + 4);
            continue;
        }
        if (magic != ZSTD_MAGIC)
            return DC_FAIL(why, frames ? "zstd: data after the last frame" : "zstd: bad magic");
        struct zframe f;
        int rc = zstd_frame_header(in + p, in_len - p, &f, why);
        if (rc)
            return rc;
        p += 4 + f.hdr;
        size_t start = z.o;
        s->have_ll = s->have_ml = s->have_of = s->have_huf = 0;
        s->rep[0] = 1;
        s->rep[1] = 4;
        s->rep[2] = 8;
        for (;;) {
            if (in_len - p < 3)
                return DC_FAIL(why, "zstd: truncated block header");
            uint32_t bh = in[p] | (uint32_t)in[p + 1] << 8 | (uint32_t)in[p + 2] << 16;
            p += 3;
            unsigned last = bh & 1, type = (bh >> 1) & 3;
            size_t bsize = bh >> 3;
            if (type == 3)
                return DC_FAIL(why, "zstd: reserved block type");
            if (bsize > ZSTD_BLOCK_MAX)
                return DC_FAIL(why, "zstd: block larger than 128 KiB");
            size_t need = type == 1 ? 1 : bsize;
            if (in_len - p < need)
                return DC_FAIL(why, "zstd: truncated block");
            if (type < 2 && bsize > out_len - z.o)
                return DC_FAIL(why, "zstd: output longer than stated size");
            if (type == 0) {
                memcpy(out + z.o, in + p, bsize);
                z.o += bsize;
            } else if (type == 1) {
                memset(out + z.o, in[p], bsize);
                z.o += bsize;
            } else {
                size_t before = z.o;
                rc = zstd_block(s, in + p, bsize, &z, why);
                if (rc)
                    return rc;
                if (z.o - before > ZSTD_BLOCK_MAX)
                    return DC_FAIL(why, "zstd: block decodes to more than 128 KiB");
            }
            p += need;
            if (last)
                break;
        }
        if (f.has_fcs && f.fcs != z.o - start)
            return DC_FAIL(why, "zstd: frame size differs from its header");
        if (f.checksum) {
            if (in_len - p < 4)
                return DC_FAIL(why, "zstd: truncated checksum");
            if ((uint32_t)xxh64(out + start, z.o - start) != dc_le32(in + p))
                return DC_FAIL(why, "zstd: content checksum mismatch");
            p += 4;
        }
        frames++;
    }
    if (!frames)
        return DC_FAIL(why, "zstd: no frame");
    if (z.o != out_len)
        return DC_FAIL(why, "zstd: output shorter than stated size");
    return 0;
}
