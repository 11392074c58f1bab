/*
 * kimage_fallback.c - weak stand-ins for hv/shared's kimage.h functions,
 * so dom0 links while the real implementation (kimage.c with its
 * decompressors) is not in the tree. They know only a plain ELF
 * (KCOMP_NONE) and decompress nothing: every other image is refused with
 * a line saying so. The real functions, once linked, replace these.
 * Must never: claim to have recognised or decompressed a compressed image.
 */
#include <xenolith/errno.h>
#include <xenolith/kimage.h>
#include <xenolith/lib.h>

__attribute__((weak)) int kimage_probe(const void *img, size_t len, struct kimage_info *info,
                                       const char **why)
{
    const uint8_t *b = img;
    if (len < 4 || b[0] != 0x7f || b[1] != 'E' || b[2] != 'L' || b[3] != 'F') {
        *why = "not an ELF kernel (bzImage and compressed kernels need hv/shared's kimage.c, "
               "not linked into this dom0)";
        return -XL_EINVAL;
    }
    memset(info, 0, sizeof(*info));
    info->payload = b;
    info->payload_len = len;
    info->comp = KCOMP_NONE;
    info->out_len = len;
    return 0;
}

__attribute__((weak)) int kimage_decompress(const struct kimage_info *info, void *out,
                                            size_t out_max, void *scratch, const char **why)
{
    (void)info;
    (void)out;
    (void)out_max;
    (void)scratch;
    *why = "no decompressor linked into this dom0";
    return -XL_EINVAL;
}

__attribute__((weak)) const char *kimage_comp_name(enum kimage_comp comp)
{
    return comp == KCOMP_NONE ? "none" : "compressed";
}
