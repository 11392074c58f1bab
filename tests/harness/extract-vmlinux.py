#!/usr/bin/env python3
"""extract-vmlinux.py BZIMAGE OUT - write the ELF kernel inside a bzImage.

The bzImage header (boot protocol >= 2.08) gives the compressed payload's
offset and length (payload_offset at 0x248, payload_length at 0x24c, from
the start of the protected-mode code); the payload is decompressed by its
magic: gzip and xz here, zstd and lz4 through their commands if installed.
The result is a stripped ELF (no symbols) but objdump -d works on it, and
it boots as a PV kernel without the bzImage decompression (seconds in TCG).
Exit status 1 with one line on stderr if it cannot.
"""
import gzip
import lzma
import struct
import subprocess
import sys


def main():
    src, out = sys.argv[1:3]
    d = open(src, "rb").read()
    if len(d) < 0x250 or d[0x202:0x206] != b"HdrS":
        sys.exit("extract-vmlinux: %s is not a bzImage" % src)
    setup_sects = d[0x1f1] or 4
    po, pl = struct.unpack_from("<II", d, 0x248)
    start = (setup_sects + 1) * 512 + po
    p = d[start:start + pl]
    try:
        if p[:2] == b"\x1f\x8b":
            elf = gzip.decompress(p)
        elif p[:6] == b"\xfd7zXZ\x00":
            elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(p)
        elif p[:4] == b"\x28\xb5\x2f\xfd":
            elf = subprocess.run(["zstd", "-dc"], input=p, capture_output=True, check=True).stdout
        elif p[:4] == b"\x02\x21\x4c\x18":
            elf = subprocess.run(["lz4", "-dc"], input=p, capture_output=True, check=True).stdout
        else:
            sys.exit("extract-vmlinux: unknown payload compression %s" % p[:6].hex())
    except (OSError, subprocess.SubprocessError, lzma.LZMAError, EOFError) as e:
        sys.exit("extract-vmlinux: cannot decompress the payload: %s" % e)
    if elf[:4] != b"\x7fELF":
        sys.exit("extract-vmlinux: the payload is not an ELF")
    with open(out, "wb") as f:
        f.write(elf)


if __name__ == "__main__":
    main()
