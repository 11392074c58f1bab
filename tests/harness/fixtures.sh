#!/usr/bin/env bash
# fixtures.sh - fetch and prepare the Linux guest fixtures: Debian's stock
# kernel (the package linux-image-amd64 depends on) and a busybox initramfs,
# for the tests that boot Linux as a Xen PV guest. Nothing here is
# committed; it all lands in build/fixtures (or $BUILD/fixtures):
#   debs/                 the downloaded .debs (kept; fetched again only when
#                         apt's candidate version changes)
#   vmlinuz               the kernel's bzImage (boot/vmlinuz-RELEASE)
#   vmlinux               the ELF inside it (extract-vmlinux.py; stripped, but
#                         objdump -d works, and it boots without the bzImage
#                         decompression); absent if it cannot be extracted
#   kernel-release        RELEASE, e.g. 6.1.0-57-amd64 (compare `uname -r`)
#   kernel-config         boot/config-RELEASE (which drivers are built in)
#   busybox               busybox-static's /bin/busybox
#   initramfs.cpio        newc, uncompressed, built by mkinitramfs.py from
#   initramfs.cpio.gz     busybox + tests/harness/initramfs/ (etc/inittab...)
# If something cannot be had (no apt lists, no network, package gone) it
# prints one line "fixtures: unavailable: WHY", writes WHY to
# fixtures/UNAVAILABLE and exits 0, so a test can skip saying why. A
# success removes UNAVAILABLE. Downloading needs no root (apt-get download);
# outputs are made in a temporary directory and moved in, and the stamps
# (.kernel-stamp, .initramfs-stamp) are written last, so an interrupted run
# leaves no half fixture that a later run would trust. A second run asks
# apt nothing unless apt's lists changed since (then one apt-cache call).
#   --offline   do not download; use the .debs in debs/ if there are any
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
case "$BUILD" in /*) ;; *) BUILD=$top/$BUILD ;; esac
out=$BUILD/fixtures
debs=$out/debs
# Loaded in this order by the initramfs (ext4 mounts ext2 too).
LINUX_MODULES="kernel/drivers/block/xen-blkfront kernel/drivers/net/xen-netfront kernel/lib/crc16 kernel/crypto/crc32c_generic kernel/fs/mbcache kernel/fs/jbd2/jbd2 kernel/fs/ext4/ext4"
# Not loaded at boot: a legacy IDE disk (the HVM device model's hda) through
# libata's pata_legacy and sd, in this order; modules/ATA lists them and a
# test loads them from the shell (for m in $(cat .../ATA); do insmod ...).
ATA_MODULES="kernel/drivers/scsi/scsi_common kernel/drivers/scsi/scsi_mod kernel/drivers/ata/libata kernel/drivers/ata/pata_legacy kernel/crypto/crct10dif_common kernel/lib/crc-t10dif kernel/lib/crc64 kernel/lib/crc64-rocksoft kernel/block/t10-pi kernel/drivers/scsi/sd_mod"
offline=0
[ "${1:-}" = --offline ] && offline=1
mkdir -p "$debs"

unavailable() {
    echo "fixtures: unavailable: $*"
    echo "$*" >"$out/UNAVAILABLE"
    exit 0
}
tmp=""
trap '[ -n "$tmp" ] && rm -rf "$tmp"' EXIT
for c in dpkg-deb tar python3; do
    command -v "$c" >/dev/null || unavailable "no $c on this machine"
done

# The .deb of PKG in debs/ (newest if several), or nothing.
cached_deb() { ls -t "$debs/$1"_*.deb 2>/dev/null | head -n 1; }
deb_version() { dpkg-deb -f "$1" Version 2>/dev/null; }

# apt-cache is slow here (no pkgcache.bin: ~1-4 s a call), so it is asked
# only when apt's lists changed since the last complete check (.apt-checked),
# and then once for both packages: linux-image-amd64 names the kernel
# package with its exact version, "Depends: linux-image-ABI-amd64 (= V)".
lists=/var/lib/apt/lists
ask_apt=0
if [ $offline = 0 ] && command -v apt-cache >/dev/null; then
    if [ ! -f "$out/.apt-checked" ] || [ ! -d "$lists" ] ||
       [ -n "$(find "$lists" -newer "$out/.apt-checked" -print -quit)" ]; then
        ask_apt=1
    fi
fi
declare -A want=()
kpkg=""
if [ $ask_apt = 1 ]; then
    rm -f "$out/.apt-checked"
    meta=$(apt-cache show --no-all-versions linux-image-amd64 busybox-static 2>/dev/null)
    kdep=$(sed -n 's/^Depends: \(linux-image-[0-9][^ ,]*\)\( (= \([^)]*\))\)\{0,1\}.*/\1 \3/p' <<<"$meta" | head -n 1)
    kpkg=${kdep%% *}
    want[busybox-static]=$(awk '/^Package: /{p=$2} /^Version: /&&p=="busybox-static"{print $2; exit}' <<<"$meta")
    if [ -n "$kpkg" ]; then
        want[$kpkg]=${kdep#* }
        [ -n "${want[$kpkg]}" ] ||
            want[$kpkg]=$(apt-cache show --no-all-versions "$kpkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
    fi
fi
# Without apt (offline, or nothing changed): the cached kernel .deb.
if [ -z "$kpkg" ]; then
    k=$(ls -t "$debs"/linux-image-[0-9]*.deb 2>/dev/null | head -n 1)
    if [ -z "$k" ]; then
        [ $ask_apt = 1 ] && unavailable "apt-cache cannot resolve linux-image-amd64 (run apt-get update?)"
        unavailable "no kernel .deb in $debs and apt was not asked (--offline or no apt-cache)"
    fi
    kpkg=$(dpkg-deb -f "$k" Package)
fi

# fetch PKG: sets deb to the path of its .deb in debs/, downloading apt's
# version ${want[PKG]} unless the cached one is that version (or apt was
# not asked). Falls back to a cached .deb of another version, saying so,
# when the download fails (and then sets fell_back=1). On failure sets err.
fell_back=0
fetch() {
    local pkg=$1 w=${want[$1]:-} have dl log f why
    deb="" err=""
    have=$(cached_deb "$pkg")
    if [ -n "$have" ] && { [ $ask_apt = 0 ] || [ "$(deb_version "$have")" = "$w" ]; }; then
        deb=$have; return 0
    fi
    if [ $ask_apt = 0 ]; then err="no $pkg .deb in $debs and apt was not asked (--offline or no apt-cache)"; return 1; fi
    if [ -z "$w" ]; then err="apt knows no package $pkg (run apt-get update?)"; return 1; fi
    dl=$(mktemp -d "$debs/.dl.XXXXXX")
    log=$dl/apt.log
    if (cd "$dl" && apt-get download -q -o Acquire::Retries=1 -o Acquire::http::Timeout=30 \
            "$pkg=$w" >"$log" 2>&1) && f=$(ls "$dl"/*.deb 2>/dev/null | head -n 1) && [ -n "$f" ]; then
        rm -f "$debs/$pkg"_*.deb
        mv "$f" "$debs/"
        echo "fixtures: downloaded $(basename "$f")"
        rm -rf "$dl"
        deb=$(cached_deb "$pkg"); return 0
    fi
    # apt's reason is the line under "Err:N URL" ("Could not connect...",
    # "404  Not Found"), else its first "E:" line.
    why=$(awk '/^Err:/ { getline; sub(/^ +/, ""); print; exit }' "$log")
    [ -n "$why" ] || why=$(grep -m 1 '^E:' "$log")
    rm -rf "$dl"
    if [ -n "$have" ]; then
        echo "fixtures: cannot download $pkg $w (${why:-apt-get download failed}); using $(basename "$have")"
        fell_back=1 deb=$have; return 0
    fi
    err="cannot download $pkg $w: ${why:-apt-get download failed}"; return 1
}
fetch "$kpkg" || unavailable "$err"
kdeb=$deb
fetch busybox-static || unavailable "$err"
bdeb=$deb
[ $ask_apt = 1 ] && [ $fell_back = 0 ] && touch "$out/.apt-checked"

# Kernel: only boot/ is taken out of the .deb (the modules are ~400 MB).
kstamp="$(basename "$kdeb") $(echo "$LINUX_MODULES $ATA_MODULES" | sha256sum | cut -c1-12)"
if [ "$(cat "$out/.kernel-stamp" 2>/dev/null)" != "$kstamp" ] || [ ! -f "$out/vmlinuz" ] ||
   [ ! -f "$out/kernel-release" ] || [ ! -d "$out/modules" ]; then
    rm -f "$out/.kernel-stamp"
    tmp=$(mktemp -d "$out/.tmp.XXXXXX")
    dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$tmp" --wildcards './boot/*' ||
        unavailable "cannot extract boot/ from $(basename "$kdeb")"
    vml=$(ls "$tmp"/boot/vmlinuz-* 2>/dev/null | head -n 1)
    [ -n "$vml" ] || unavailable "$(basename "$kdeb") has no boot/vmlinuz-*"
    rel=${vml##*/vmlinuz-}
    echo "$rel" >"$tmp/kernel-release"
    mv "$vml" "$tmp/vmlinuz"
    rm -f "$out/vmlinux"
    python3 "$here/extract-vmlinux.py" "$tmp/vmlinuz" "$tmp/vmlinux" ||
        echo "fixtures: no vmlinux (the bzImage alone will do)"
    [ -f "$tmp/boot/config-$rel" ] && mv "$tmp/boot/config-$rel" "$tmp/kernel-config"
    # The modules the split-driver tests load (xen-blkfront, xen-netfront,
    # ext4 and what it needs), flat in modules/, in the order they load.
    mkdir -p "$tmp/modules"
    dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$tmp" --wildcards \
        $(for m in $LINUX_MODULES $ATA_MODULES; do printf "./lib/modules/*/%s.ko " "$m"; done) ||
        unavailable "cannot extract the modules ($LINUX_MODULES $ATA_MODULES) from $(basename "$kdeb")"
    for m in $LINUX_MODULES $ATA_MODULES; do
        f=$(find "$tmp/lib/modules" -path "*/$m.ko" | head -n 1)
        [ -n "$f" ] || unavailable "$(basename "$kdeb") has no $m.ko"
        mv "$f" "$tmp/modules/${m##*/}.ko"
    done
    for m in $LINUX_MODULES; do echo "${m##*/}" >>"$tmp/modules/ORDER"; done
    for m in $ATA_MODULES; do echo "${m##*/}" >>"$tmp/modules/ATA"; done
    rm -rf "$out/modules"
    for f in vmlinuz vmlinux kernel-release kernel-config modules; do
        [ -e "$tmp/$f" ] && mv -f "$tmp/$f" "$out/$f"
    done
    rm -rf "$tmp"; tmp=""
    echo "$kstamp" >"$out/.kernel-stamp"
    echo "fixtures: kernel $rel from $(basename "$kdeb")"
fi

# busybox and the initramfs: rebuilt when the busybox .deb, the builder or
# the skeleton (tests/harness/initramfs/) changes.
istamp="$(basename "$bdeb") $(cat "$out/.kernel-stamp") $(cd "$here" && find mkinitramfs.py initramfs -type f | sort |
          xargs sha256sum | sha256sum | cut -c1-16)"
if [ "$(cat "$out/.initramfs-stamp" 2>/dev/null)" != "$istamp" ] || [ ! -f "$out/busybox" ] ||
   [ ! -f "$out/initramfs.cpio" ] || [ ! -f "$out/initramfs.cpio.gz" ]; then
    rm -f "$out/.initramfs-stamp"
    tmp=$(mktemp -d "$out/.tmp.XXXXXX")
    dpkg-deb -x "$bdeb" "$tmp/deb" || unavailable "cannot extract $(basename "$bdeb")"
    [ -x "$tmp/deb/bin/busybox" ] || unavailable "$(basename "$bdeb") has no bin/busybox"
    mv "$tmp/deb/bin/busybox" "$tmp/busybox"
    python3 "$here/mkinitramfs.py" --busybox "$tmp/busybox" --skeleton "$here/initramfs" \
        --modules "$out/modules" --release "$(cat "$out/kernel-release")" \
        --out "$tmp/initramfs.cpio" --gz "$tmp/initramfs.cpio.gz" ||
        unavailable "mkinitramfs.py failed"
    for f in busybox initramfs.cpio initramfs.cpio.gz; do mv -f "$tmp/$f" "$out/$f"; done
    rm -rf "$tmp"; tmp=""
    echo "$istamp" >"$out/.initramfs-stamp"
    echo "fixtures: initramfs from $(basename "$bdeb") ($(stat -c %s "$out/initramfs.cpio.gz") bytes gzipped)"
fi
rm -f "$out/UNAVAILABLE"
exit 0
