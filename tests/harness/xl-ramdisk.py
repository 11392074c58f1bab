#!/usr/bin/env python3
"""xl-ramdisk.py - pack host files into a newc cpio archive for dom0's
ramdisk (configs, kernels and ramdisks that `xl create` reads), each under
its base name, as `make run-xl XL_EXTRA=...` does with cpio(1).

    xl-ramdisk.py OUT.cpio [--misalign NAME] [--align NAME] FILE...

newc keeps file data 4-byte aligned and dom0 loads the archive at a page
boundary, so a file's data may or may not be 8-byte aligned in dom0's
memory. dom0 uses an 8-byte aligned ELF kernel in place and copies any
other into its own free memory first; --misalign NAME places NAME's data
at 4 mod 8 (to make dom0 stage it), --align NAME at 0 mod 8, by putting
an empty file whose name has the right length in front of it.
"""
import os
import sys


def entry(name, data, ino, mode=0o100644):
    nb = name.encode() + b"\0"
    hdr = "070701" + "".join("%08x" % v for v in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
    out = hdr.encode() + nb
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


def data_offset(off, name):
    return off + ((110 + len(name.encode()) + 1 + 3) & ~3)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 64
    out, files, want = argv[1], [], {}
    i = 2
    while i < len(argv):
        if argv[i] in ("--misalign", "--align"):
            want[argv[i + 1]] = 4 if argv[i] == "--misalign" else 0
            i += 2
            continue
        files.append(argv[i])
        i += 1
    arc, ino = b"", 1
    for path in files:
        name = os.path.basename(path)
        with open(path, "rb") as f:
            data = f.read()
        if name in want and data_offset(len(arc), name) % 8 != want[name]:
            for k in range(1, 9):
                pad = "." + "p" * k
                if data_offset(len(arc) + len(entry(pad, b"", 0)), name) % 8 == want[name]:
                    arc += entry(pad, b"", ino)
                    ino += 1
                    break
            else:
                print("xl-ramdisk.py: cannot place %s" % name, file=sys.stderr)
                return 1
        arc += entry(name, data, ino)
        ino += 1
    arc += entry("TRAILER!!!", b"", 0, mode=0)
    arc += b"\0" * (-len(arc) % 512)
    with open(out, "wb") as f:
        f.write(arc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
