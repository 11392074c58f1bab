/* fuzz_kimage.c - libFuzzer harness for the decompressors (attack2 review).
 * Build: see tests/unit/fuzz_kimage.sh. Byte 0 picks the decoder, bytes
 * 1-3 the exact output length (<= 4 MiB); the rest is the stream. Output
 * and scratch are exact-size heap blocks so ASan sees any overrun. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xenolith/kimage.h>
#include "../../hv/shared/decompress/decompress.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < 4)
        return 0;
    unsigned sel = d[0] % 5;
    size_t out_len = ((size_t)d[1] | (size_t)d[2] << 8 | (size_t)d[3] << 16) & 0x3fffff;
    const uint8_t *in = d + 4;
    size_t in_len = n - 4;
    uint8_t *inb = malloc(in_len ? in_len : 1);
    memcpy(inb, in, in_len);
    void *scratch = malloc(KIMAGE_SCRATCH_SIZE);
    const char *why = "";
    if (sel == 4) {
        struct kimage_info ki;
        if (!kimage_probe(inb, in_len, &ki, &why) && ki.out_len <= (4u << 20)) {
            uint8_t *out = malloc(ki.out_len ? ki.out_len : 1);
            kimage_decompress(&ki, out, ki.out_len, scratch, &why);
            free(out);
        }
    } else {
        uint8_t *out = malloc(out_len ? out_len : 1);
        switch (sel) {
        case 0: dc_gunzip(inb, in_len, out, out_len, scratch, &why); break;
        case 1: dc_unxz(inb, in_len, out, out_len, scratch, &why); break;
        case 2: dc_unlz4_legacy(inb, in_len, out, out_len, &why); break;
        case 3: dc_unzstd(inb, in_len, out, out_len, scratch, &why); break;
        }
        free(out);
    }
    free(scratch);
    free(inb);
    return 0;
}
