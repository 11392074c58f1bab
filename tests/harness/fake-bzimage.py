#!/usr/bin/env python3
"""fake-bzimage.py - wrap a PV kernel ELF the way Linux's bzImage carries
its vmlinux: a real-mode setup area with the boot protocol header (2.10,
"HdrS", setup_sects, payload_offset, payload_length) followed by the
compressed ELF and, for every compressor but gzip (whose ISIZE trailer is
the same word), the uncompressed size as a le32 - as arch/x86/boot does.
The setup code itself is never run by a Xen PV loader, so it is zeros.
The compressors are Debian's, with the options Linux's Makefiles use.

    fake-bzimage.py ELF OUT {gzip|xz|lz4|none}
"""
import struct
import subprocess
import sys

CMDS = {
    "gzip": ["gzip", "-n", "-9", "-c"],
    "xz": ["xz", "--check=crc32", "--x86", "--lzma2=,dict=32MiB", "-c"],
    "lz4": ["lz4", "-l", "-9", "-c"],
}


def main(argv):
    if len(argv) != 4 or argv[3] not in ("gzip", "xz", "lz4", "none"):
        print(__doc__, file=sys.stderr)
        return 64
    elf = open(argv[1], "rb").read()
    if argv[3] == "none":
        payload = elf
    else:
        payload = subprocess.run(CMDS[argv[3]], input=elf, stdout=subprocess.PIPE,
                                 check=True).stdout
        if argv[3] != "gzip":
            payload += struct.pack("<I", len(elf))
    setup_sects = 3
    setup = bytearray((setup_sects + 1) * 512)
    setup[0x1f1] = setup_sects
    setup[0x1fe:0x200] = b"\x55\xaa"
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, 0x020a)          # boot protocol 2.10
    # The protected-mode part: a little "decompressor" (zeros here), then
    # the payload; payload_offset counts from the start of that part.
    pm_code = bytes(0x200)
    struct.pack_into("<I", setup, 0x248, len(pm_code))    # payload_offset
    struct.pack_into("<I", setup, 0x24c, len(payload))    # payload_length
    with open(argv[2], "wb") as f:
        f.write(bytes(setup) + pm_code + payload)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
