#!/usr/bin/env bash
# deps.sh - install the Debian packages Xenolith needs to build, run and
# test, if any is missing. Idempotent; needs root (or sudo) only when
# something is missing.
set -euo pipefail
PKGS=(gcc make binutils git gnu-efi libcmocka-dev libxen-dev qemu-system-x86 ovmf gdb
      xen-hypervisor-4.17-amd64 cpio python3 gzip xz-utils lz4 zstd
      grub-pc-bin grub-common xorriso mtools
      bochs bochsbios vgabios bochs-term)
# The multiboot2 ISO (make iso) needs grub-pc-bin, grub-common, xorriso and
# mtools. Bochs (tests/harness/run-bochs.sh, the only emulator here with
# VT-x) runs headless through its built-in rfb display; Debian's bochs
# still depends on one GUI plugin package, and bochs-term is the smallest.
missing=()
for p in "${PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
