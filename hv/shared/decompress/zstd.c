/*
 * zstd.c - Zstandard frames (RFC 8878), single call. Not implemented yet:
 * every entry refuses with a clear reason.
 * Must never: read past in + in_len or write past out + out_len.
 */
#include <xenolith/errno.h>

#include "decompress.h"

int dc_zstd_stated_size(const uint8_t *in, size_t in_len, uint64_t *size, const char **why)
{
    return DC_FAIL(why, "zstd: not supported yet");
}

int dc_unzstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len, void *scratch,
              const char **why)
{
    return DC_FAIL(why, "zstd: not supported yet");
}
