/*
 * crc.c - CRC-32 and CRC-64 as gzip and xz define them, for the
 * decompressors' integrity checks.
 * Owns: nothing but the arithmetic; tables live in the caller's scratch.
 * Must never: keep a mutable static table (the hv is SMP and the code is
 * shared with guests), or read past p + n.
 */
#include "decompress.h"

#define CRC32_POLY 0xEDB88320u
#define CRC64_POLY 0xC96C5795D7870F42ull

void dc_crc32_table(uint32_t table[256])
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ ((c & 1) ? CRC32_POLY : 0);
        table[i] = c;
    }
}

void dc_crc64_table(uint64_t table[256])
{
    for (uint32_t i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ ((c & 1) ? CRC64_POLY : 0);
        table[i] = c;
    }
}

uint32_t dc_crc32(const uint32_t table[256], uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

uint64_t dc_crc64(const uint64_t table[256], uint64_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

uint32_t dc_crc32_small(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ ((crc & 1) ? CRC32_POLY : 0);
    }
    return ~crc;
}
