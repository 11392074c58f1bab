/*
 * decompress.h - the internal interface between kimage.c and the
 * single-call decompressors under hv/shared/decompress/ (gzip/deflate,
 * xz/LZMA2/BCJ, LZ4 legacy, zstd), and their shared checksum helpers.
 * Owns: nothing. Every decoder takes an exact input [in, in + in_len), an
 * output [out, out + out_len) that must be filled exactly (the output is
 * also the LZ window), and scratch of KIMAGE_SCRATCH_SIZE bytes.
 * Must never: read outside the input, write outside the output or the
 * scratch, allocate, or keep state between calls (no statics but const).
 */
#ifndef XENOLITH_DECOMPRESS_H
#define XENOLITH_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t dc_le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static inline uint32_t dc_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t dc_le64(const uint8_t *p)
{
    return (uint64_t)dc_le32(p) | (uint64_t)dc_le32(p + 4) << 32;
}

/* Fails the calling decoder: sets *why and returns -XEN_EINVAL. */
#define DC_FAIL(why, msg) (*(why) = (msg), -XEN_EINVAL)

/* CRC-32 (IEEE, reflected 0xEDB88320) and CRC-64 (ECMA-182, reflected
 * 0xC96C5795D7870F42), both pre- and post-inverted as gzip and xz use
 * them: crc = dc_crc32(table, 0, data, n) for a whole buffer; pass the
 * previous result to continue. The table forms take a table filled by
 * dc_crc*_table (256 entries, in the caller's scratch); the _small forms
 * need no table and are meant for headers. */
void dc_crc32_table(uint32_t table[256]);
void dc_crc64_table(uint64_t table[256]);
uint32_t dc_crc32(const uint32_t table[256], uint32_t crc, const uint8_t *p, size_t n);
uint64_t dc_crc64(const uint64_t table[256], uint64_t crc, const uint8_t *p, size_t n);
uint32_t dc_crc32_small(uint32_t crc, const uint8_t *p, size_t n);

/* The decoders: 0, or -XEN_EINVAL with *why. */
int dc_gunzip(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, void *scratch,
              const char **why);
int dc_unxz(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, void *scratch,
            const char **why);
int dc_unlz4_legacy(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len,
                    const char **why);
int dc_unzstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, void *scratch,
              const char **why);

/* Sizes the formats state without decoding: the xz index's total
 * (0 with *size, or -XEN_EINVAL), used for a bare .xz. */
int dc_xz_stated_size(const uint8_t *in, size_t in_len, uint64_t *size, const char **why);
int dc_zstd_stated_size(const uint8_t *in, size_t in_len, uint64_t *size, const char **why);

#endif
