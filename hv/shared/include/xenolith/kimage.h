/*
 * kimage.h - kernel images as Xen's loaders take them: a plain ELF, a
 * Linux bzImage whose payload is a compressed ELF (gzip, xz, lz4, zstd),
 * or a compressed ELF on its own (Xen's "vmlinux.gz" form). Used by the
 * hv's boot-time builder and by the toolstack's; host unit tests check the
 * decompressors against Debian's own tools.
 * Must never: allocate, trust a size or offset from the image without
 * checking it against the buffer, or write outside [out, out + out_max).
 */
#ifndef XENOLITH_KIMAGE_H
#define XENOLITH_KIMAGE_H

#include <stddef.h>
#include <stdint.h>

enum kimage_comp {
    KCOMP_NONE = 0, /* the payload is the ELF itself */
    KCOMP_GZIP,
    KCOMP_XZ,
    KCOMP_LZ4, /* LZ4 legacy frames, as Linux's bzImage uses */
    KCOMP_ZSTD,
};

struct kimage_info {
    const uint8_t *payload; /* the compressed (or plain ELF) bytes: exactly the stream the
                             * decompressor reads (for a bzImage, without the le32 size
                             * Linux appends to non-gzip payloads) */
    size_t payload_len;
    enum kimage_comp comp;
    int is_bzimage;
    size_t out_len; /* exact decompressed size the format states */
};

/* Scratch a decompressor may need (dictionary-free single-call mode: the
 * output buffer is the window), passed in by the caller. The largest user
 * is xz (CRC tables and the LZMA model, about 31 KiB); each decoder
 * _Static_asserts that its state fits. Stack use stays under 1 KiB. */
#define KIMAGE_SCRATCH_SIZE (64u << 10)

/* Recognise img[0..len). 0 with *info filled, or a negative Xen errno
 * (-XEN_EINVAL: not a kernel image this reader knows; -XEN_ENOEXEC-like
 * failures use -XEN_EINVAL too) with *why naming the problem in a few
 * words ("bzImage truncated: payload past end of file"). The size comes
 * from: a plain ELF's length; a bzImage's appended le32 (gzip's ISIZE);
 * a bare .gz's ISIZE; a bare .xz's index; a bare .zst's frame content
 * size. A bare lz4 legacy frame, or a .zst made from a pipe, states no
 * size and is refused ("... states no size"). bzip2/lzma/lzo bzImages are
 * refused by name. */
int kimage_probe(const void *img, size_t len, struct kimage_info *info, const char **why);

/* Decompress info's payload into out[0..out_max). The result must be
 * exactly info->out_len bytes and fit in out_max; a corrupt stream, a
 * stream that would produce more or fewer bytes than stated, or a bad
 * checksum is refused with -XEN_EINVAL and *why. out_max below out_len
 * is -XEN_ENOSPC before anything is written. scratch is
 * KIMAGE_SCRATCH_SIZE bytes, 8-byte aligned (unused for KCOMP_NONE and
 * lz4). Checked: gzip CRC32 + ISIZE; xz header/block-header/index/footer
 * CRC32s, the index against the blocks, and the block check (CRC32,
 * CRC64 or none); zstd XXH64 content checksum when the frame has one.
 * lz4 legacy has no check: corruption that still parses yields out_len
 * bytes of garbage. On failure out[0..out_len) may hold partial output. */
int kimage_decompress(const struct kimage_info *info, void *out, size_t out_max, void *scratch,
                      const char **why);

/* A short name of the compression ("xz"), for log lines. */
const char *kimage_comp_name(enum kimage_comp comp);

#endif
