/*
 * lz4.c - LZ4 legacy frames (magic 0x184C2102, as Linux's "lz4 -l"
 * kernels use) of LZ4 blocks, single call into a caller's buffer.
 * Owns: the block decoder and the legacy frame walk. The legacy format
 * has no checksum: a corrupt stream that still parses yields garbage of
 * the stated size, which is all the format allows to be checked.
 * Must never: read past in + in_len, write past out + out_len, copy from
 * before out, or allocate.
 */
#include <xenolith/errno.h>
#include <xenolith/lib.h>

#include "decompress.h"

#define LZ4_LEGACY_MAGIC 0x184C2102u
#define LZ4_LEGACY_BLOCK (8u << 20) /* every block but the last decodes to this */

/* A length continued in 255-valued bytes; -1 if the input ends first. */
static int lz4_more_len(const uint8_t *in, size_t in_len, size_t *ip, size_t *n)
{
    uint8_t b;
    do {
        if (*ip >= in_len)
            return -1;
        b = in[(*ip)++];
        *n += b;
    } while (b == 255);
    return 0;
}

/* One block at in[0..in_len) appended at out + *op (out_len total);
 * matches may reach back into earlier blocks' output. */
static int lz4_block(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, size_t *op,
                     size_t block_max, const char **why)
{
    size_t ip = 0, o = *op;
    size_t limit = out_len - o < block_max ? out_len : o + block_max;

    for (;;) {
        if (ip >= in_len)
            return DC_FAIL(why, "lz4: truncated block");
        unsigned token = in[ip++];
        size_t lit = token >> 4;
        if (lit == 15 && lz4_more_len(in, in_len, &ip, &lit))
            return DC_FAIL(why, "lz4: truncated block");
        if (in_len - ip < lit)
            return DC_FAIL(why, "lz4: truncated literals");
        if (limit - o < lit)
            return DC_FAIL(why, o + lit > out_len ? "lz4: output longer than stated size"
                                                  : "lz4: block longer than 8 MiB");
        memcpy(out + o, in + ip, lit);
        ip += lit;
        o += lit;
        if (ip == in_len)
            break; /* the last sequence has literals only */
        if (in_len - ip < 2)
            return DC_FAIL(why, "lz4: truncated match offset");
        size_t dist = dc_le16(in + ip);
        ip += 2;
        if (dist == 0 || dist > o)
            return DC_FAIL(why, "lz4: match offset before start of output");
        size_t n = token & 15;
        if (n == 15 && lz4_more_len(in, in_len, &ip, &n))
            return DC_FAIL(why, "lz4: truncated block");
        n += 4;
        if (limit - o < n)
            return DC_FAIL(why, o + n > out_len ? "lz4: output longer than stated size"
                                                : "lz4: block longer than 8 MiB");
        const uint8_t *from = out + o - dist;
        uint8_t *to = out + o;
        o += n;
        if (dist >= n) {
            memcpy(to, from, n);
        } else {
            while (n--)
                *to++ = *from++;
        }
    }
    *op = o;
    return 0;
}

int dc_unlz4_legacy(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                    const char **why)
{
    size_t ip = 0, op = 0;
    int frames = 0;

    while (ip < in_len) {
        if (in_len - ip < 4)
            return DC_FAIL(why, "lz4: truncated block size");
        uint32_t word = dc_le32(in + ip);
        ip += 4;
        if (word == LZ4_LEGACY_MAGIC) { /* a (further) frame begins */
            frames++;
            continue;
        }
        if (!frames)
            return DC_FAIL(why, "lz4: not an lz4 legacy frame");
        if (word == 0 || word > in_len - ip)
            return DC_FAIL(why, "lz4: block size past end of input");
        int rc = lz4_block(in + ip, word, out, out_len, &op, LZ4_LEGACY_BLOCK, why);
        if (rc)
            return rc;
        ip += word;
    }
    if (!frames)
        return DC_FAIL(why, "lz4: not an lz4 legacy frame");
    if (op != out_len)
        return DC_FAIL(why, "lz4: output shorter than stated size");
    return 0;
}
