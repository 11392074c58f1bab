/*
 * kimage.c - recognises a kernel image (plain ELF, Linux bzImage, or a
 * bare gzip/xz/zstd-compressed ELF) and hands its payload to the
 * single-call decompressor in hv/shared/decompress/.
 * Owns: the bzImage header walk (setup_sects, "HdrS", boot protocol
 * >= 2.08 for payload_offset/payload_length, the size Linux appends to
 * the payload) and the choice of decompressor.
 * Must never: trust an offset or size from the image before checking it
 * against the buffer, write outside [out, out + out_max), or allocate.
 */
#include <xenolith/errno.h>
#include <xenolith/kimage.h>
#include <xenolith/lib.h>

#include "decompress/decompress.h"

#define BZ_SETUP_SECTS    0x1f1
#define BZ_HEADER_MAGIC   0x202
#define BZ_VERSION        0x206
#define BZ_PAYLOAD_OFFSET 0x248
#define BZ_PAYLOAD_LENGTH 0x24c
#define BZ_MIN_LEN        0x250
#define BZ_MIN_VERSION    0x208 /* first protocol with payload_offset */

static int fail(const char **why, const char *msg)
{
    *why = msg;
    return -XEN_EINVAL;
}

static int is_elf(const uint8_t *p, size_t n)
{
    return n >= 4 && p[0] == 0x7f && p[1] == 'E' && p[2] == 'L' && p[3] == 'F';
}

/* The compression a payload's first bytes announce; -1 if none known. */
static int sniff(const uint8_t *p, size_t n)
{
    if (is_elf(p, n))
        return KCOMP_NONE;
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return KCOMP_GZIP;
    if (n >= 6 && p[0] == 0xfd && p[1] == '7' && p[2] == 'z' && p[3] == 'X' && p[4] == 'Z' &&
        p[5] == 0)
        return KCOMP_XZ;
    if (n >= 4 && dc_le32(p) == 0x184C2102u)
        return KCOMP_LZ4;
    if (n >= 4 && dc_le32(p) == 0xFD2FB528u)
        return KCOMP_ZSTD;
    return -1;
}

/* Names the compressors Linux can build a bzImage with that we lack. */
static const char *unsupported(const uint8_t *p, size_t n)
{
    if (n >= 3 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h')
        return "bzImage: bzip2 payload not supported";
    if (n >= 3 && p[0] == 0x5d && p[1] == 0 && p[2] == 0)
        return "bzImage: lzma payload not supported";
    if (n >= 4 && p[0] == 0x89 && p[1] == 'L' && p[2] == 'Z' && p[3] == 'O')
        return "bzImage: lzo payload not supported";
    return "bzImage: unknown payload compression";
}

static int probe_bzimage(const uint8_t *p, size_t len, struct kimage_info *info, const char **why)
{
    if (len < BZ_MIN_LEN)
        return fail(why, "bzImage truncated: header past end of file");
    if (dc_le16(p + BZ_VERSION) < BZ_MIN_VERSION)
        return fail(why, "bzImage: boot protocol older than 2.08 (no payload_offset)");
    uint64_t sects = p[BZ_SETUP_SECTS] ? p[BZ_SETUP_SECTS] : 4;
    uint64_t setup = (sects + 1) * 512;
    if (setup > len)
        return fail(why, "bzImage truncated: setup past end of file");
    uint64_t off = setup + dc_le32(p + BZ_PAYLOAD_OFFSET);
    uint64_t plen = dc_le32(p + BZ_PAYLOAD_LENGTH);
    if (off > len || plen > len - off)
        return fail(why, "bzImage truncated: payload past end of file");
    const uint8_t *pl = p + off;
    int comp = sniff(pl, (size_t)plen);
    if (comp < 0)
        return fail(why, unsupported(pl, (size_t)plen));
    info->is_bzimage = 1;
    info->comp = (enum kimage_comp)comp;
    info->payload = pl;
    info->payload_len = (size_t)plen;
    if (comp == KCOMP_NONE) {
        info->out_len = (size_t)plen;
        return 0;
    }
    /* Linux appends the uncompressed size as a le32 to every compressed
     * payload; gzip's own ISIZE trailer is that word. */
    if (plen < 8)
        return fail(why, "bzImage: payload too short");
    info->out_len = dc_le32(pl + plen - 4);
    if (comp != KCOMP_GZIP)
        info->payload_len -= 4;
    if (info->out_len == 0)
        return fail(why, "bzImage: stated uncompressed size is zero");
    return 0;
}

int kimage_probe(const void *img, size_t len, struct kimage_info *info, const char **why)
{
    const uint8_t *p = img;
    uint64_t size;
    int rc;

    memset(info, 0, sizeof(*info));
    *why = "";
    if (!img)
        return fail(why, "no image");
    if (is_elf(p, len)) {
        info->comp = KCOMP_NONE;
        info->payload = p;
        info->payload_len = info->out_len = len;
        return 0;
    }
    if (len >= BZ_HEADER_MAGIC + 4 && p[BZ_HEADER_MAGIC] == 'H' && p[BZ_HEADER_MAGIC + 1] == 'd' &&
        p[BZ_HEADER_MAGIC + 2] == 'r' && p[BZ_HEADER_MAGIC + 3] == 'S')
        return probe_bzimage(p, len, info, why);

    int comp = sniff(p, len);
    info->payload = p;
    info->payload_len = len;
    switch (comp) {
    case KCOMP_GZIP:
        if (len < 18)
            return fail(why, "gzip: truncated");
        info->out_len = dc_le32(p + len - 4); /* ISIZE: the size mod 4 GiB */
        break;
    case KCOMP_XZ:
        rc = dc_xz_stated_size(p, len, &size, why);
        if (rc)
            return rc;
        if (size > SIZE_MAX)
            return fail(why, "xz: stated size too large");
        info->out_len = (size_t)size;
        break;
    case KCOMP_LZ4:
        return fail(why, "lz4: a bare legacy frame states no size (only a bzImage carries one)");
    case KCOMP_ZSTD:
        rc = dc_zstd_stated_size(p, len, &size, why);
        if (rc)
            return rc;
        if (size > SIZE_MAX)
            return fail(why, "zstd: stated size too large");
        info->out_len = (size_t)size;
        break;
    default:
        return fail(why, "not an ELF, a bzImage or a compressed kernel");
    }
    info->comp = (enum kimage_comp)comp;
    if (info->out_len == 0)
        return fail(why, "compressed image states an uncompressed size of zero");
    return 0;
}

int kimage_decompress(const struct kimage_info *info, void *out, size_t out_max, void *scratch,
                      const char **why)
{
    *why = "";
    if (info->out_len > out_max) {
        *why = "output buffer smaller than the stated size";
        return -XEN_ENOSPC;
    }
    if (!info->payload || !out || ((uintptr_t)scratch & 7) ||
        (info->comp != KCOMP_NONE && !scratch))
        return fail(why, "bad arguments");
    switch (info->comp) {
    case KCOMP_NONE:
        if (info->payload_len != info->out_len)
            return fail(why, "plain image: size differs from the payload's");
        memcpy(out, info->payload, info->out_len);
        return 0;
    case KCOMP_GZIP:
        return dc_gunzip(info->payload, info->payload_len, out, info->out_len, scratch, why);
    case KCOMP_XZ:
        return dc_unxz(info->payload, info->payload_len, out, info->out_len, scratch, why);
    case KCOMP_LZ4:
        return dc_unlz4_legacy(info->payload, info->payload_len, out, info->out_len, why);
    case KCOMP_ZSTD:
        return dc_unzstd(info->payload, info->payload_len, out, info->out_len, scratch, why);
    }
    return fail(why, "unknown compression");
}

const char *kimage_comp_name(enum kimage_comp comp)
{
    switch (comp) {
    case KCOMP_NONE:
        return "none";
    case KCOMP_GZIP:
        return "gzip";
    case KCOMP_XZ:
        return "xz";
    case KCOMP_LZ4:
        return "lz4";
    case KCOMP_ZSTD:
        return "zstd";
    }
    return "?";
}
