#!/usr/bin/env python3
"""mkinitramfs.py - build the Linux test initramfs from a static busybox.

    mkinitramfs.py --busybox BIN --skeleton DIR --out FILE.cpio [--gz FILE.cpio.gz]

Writes a newc cpio (what the kernel unpacks into its rootfs) holding:
  /bin/busybox            the static busybox (BIN)
  applet links            every applet busybox --list-full names, as a
                          symlink to /bin/busybox (sh, mount, poweroff,
                          cttyhack, ...), or a fixed list if it cannot run
  /init -> /bin/busybox   the kernel runs /init; busybox runs its init applet
                          when called as "init" (basename of argv[0])
  /dev/console, /dev/null device nodes: the kernel opens /dev/console for
                          init's stdio before anything mounts devtmpfs
  dev proc sys tmp root run mnt   empty mount points
  everything under DIR    verbatim (etc/inittab, etc/profile, etc/init.d/rcS)
  /lib/modules/REL/       with --modules MDIR --release REL: the .ko files
                          of MDIR, its ORDER file (rcS loads them in it) and
                          any other lists (ATA: loaded by a test)
Written here rather than with cpio(1) so the device nodes need no root, and
reproducible: owner root, mtime 0, entries sorted. The .gz is gzip -9 with
no name or time in its header.
"""
import argparse
import gzip
import os
import stat
import subprocess
import sys

# Used when the busybox cannot be run here to list its applets.
FALLBACK_APPLETS = """
bin/sh bin/ash bin/cat bin/ls bin/echo bin/sleep bin/mkdir bin/mount bin/umount
bin/uname bin/dmesg bin/ps bin/mknod bin/hostname bin/cp bin/mv bin/rm bin/ln
bin/grep bin/sed bin/sync bin/kill bin/dd bin/chmod bin/date bin/true bin/false
bin/cttyhack bin/setsid bin/stty sbin/init sbin/poweroff sbin/reboot sbin/halt
sbin/mdev sbin/ifconfig sbin/insmod sbin/modprobe sbin/lsmod usr/bin/free
usr/bin/head usr/bin/tail usr/bin/wc usr/bin/env usr/bin/test usr/bin/[
usr/bin/top usr/bin/find usr/bin/xargs usr/bin/od usr/bin/hexdump usr/bin/seq
""".split()

MOUNT_POINTS = ["dev", "proc", "sys", "tmp", "root", "run", "mnt"]


def applets(busybox):
    try:
        out = subprocess.run([busybox, "--list-full"], capture_output=True,
                             text=True, check=True, timeout=10).stdout
        names = [l.strip().lstrip("/") for l in out.splitlines() if l.strip()]
        if "bin/sh" in names or "sbin/init" in names:
            return names
    except (OSError, subprocess.SubprocessError):
        pass
    print("mkinitramfs: cannot list the applets of %s, using a fixed list" % busybox,
          file=sys.stderr)
    return FALLBACK_APPLETS


class Cpio:
    def __init__(self):
        self.entries = {}  # path -> (mode, data, rdev)

    def add(self, path, mode, data=b"", rdev=(0, 0)):
        path = path.strip("/")
        parts = path.split("/")
        for i in range(1, len(parts)):  # parents first, as directories
            self.entries.setdefault("/".join(parts[:i]), (stat.S_IFDIR | 0o755, b"", (0, 0)))
        self.entries[path] = (mode, data, rdev)

    def bytes(self):
        out = bytearray()

        def entry(ino, name, mode, data, rdev, nlink):
            name_b = name.encode() + b"\0"
            fields = [ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
                      len(name_b), 0]
            out.extend(b"070701" + b"".join(b"%08x" % f for f in fields))
            out.extend(name_b)
            out.extend(b"\0" * (-len(out) % 4))
            out.extend(data)
            out.extend(b"\0" * (-len(out) % 4))

        for ino, path in enumerate(sorted(self.entries), start=1):
            mode, data, rdev = self.entries[path]
            entry(ino, path, mode, data, rdev, 2 if stat.S_ISDIR(mode) else 1)
        entry(0, "TRAILER!!!", 0, b"", (0, 0), 1)
        out.extend(b"\0" * (-len(out) % 512))
        return bytes(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--busybox", required=True)
    ap.add_argument("--skeleton", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--gz")
    ap.add_argument("--modules")
    ap.add_argument("--release")
    a = ap.parse_args()

    c = Cpio()
    for d in MOUNT_POINTS:
        c.add(d, stat.S_IFDIR | 0o755)
    c.add("tmp", stat.S_IFDIR | 0o1777)
    c.add("root", stat.S_IFDIR | 0o700)
    c.add("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    c.add("dev/null", stat.S_IFCHR | 0o666, rdev=(1, 3))
    with open(a.busybox, "rb") as f:
        c.add("bin/busybox", stat.S_IFREG | 0o755, f.read())
    for name in applets(a.busybox):
        if name != "bin/busybox":
            c.add(name, stat.S_IFLNK | 0o777, b"/bin/busybox")
    c.add("init", stat.S_IFLNK | 0o777, b"/bin/busybox")
    for root, dirs, files in os.walk(a.skeleton):
        dirs.sort()
        rel = os.path.relpath(root, a.skeleton)
        for d in dirs:
            c.add(os.path.normpath(os.path.join(rel, d)), stat.S_IFDIR | 0o755)
        for fn in sorted(files):
            src = os.path.join(root, fn)
            perm = 0o755 if os.stat(src).st_mode & 0o111 else 0o644
            with open(src, "rb") as f:
                c.add(os.path.normpath(os.path.join(rel, fn)), stat.S_IFREG | perm, f.read())
    if a.modules:
        if not a.release:
            sys.exit("mkinitramfs: --modules needs --release")
        for fn in sorted(os.listdir(a.modules)):
            with open(os.path.join(a.modules, fn), "rb") as f:
                c.add("lib/modules/%s/%s" % (a.release, fn), stat.S_IFREG | 0o644, f.read())
    for need in ("etc/inittab", "bin/sh", "sbin/init", "sbin/poweroff", "bin/cttyhack"):
        if need not in c.entries:
            sys.exit("mkinitramfs: the initramfs would have no /%s" % need)

    data = c.bytes()
    with open(a.out, "wb") as f:
        f.write(data)
    if a.gz:
        with open(a.gz, "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as g:
                g.write(data)


if __name__ == "__main__":
    main()
