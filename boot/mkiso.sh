#!/usr/bin/env bash
# mkiso.sh - a GRUB (legacy BIOS) rescue ISO that boots the hypervisor
# through multiboot2, with its boot modules (docs/boot-info.md,
# "Multiboot2 path"). Used by `make iso` and by the harness
# (tests/harness/run-bochs.sh, run-qemu.sh --iso).
# Owns: the ISO's grub.cfg and file layout (/boot/...).
# Must never: write anything but --out and its own temporary directory.
# Options:
#   --out ISO (required)   --hv ELF (default build/hv/xenolith.elf)
#   --hv-cmdline S   --dom0 ELF (required) --dom0-cmdline S
#   --ramdisk FILE   --domu 'ELF [CMDLINE]' (repeatable; CMDLINE may
#   start with name=NAME)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
BUILD=${BUILD:-$top/build}
out="" hv="$BUILD/hv/xenolith.elf" hv_cmdline="console=com1" dom0="" dom0_cmdline="" ramdisk=""
domus=()
while [ $# -gt 0 ]; do
    case "$1" in
    --out) out=$2; shift ;;
    --hv) hv=$2; shift ;;
    --hv-cmdline) hv_cmdline=$2; shift ;;
    --dom0) dom0=$2; shift ;;
    --dom0-cmdline) dom0_cmdline=$2; shift ;;
    --ramdisk) ramdisk=$2; shift ;;
    --domu) domus+=("$2"); shift ;;
    *) echo "mkiso.sh: unknown option $1" >&2; exit 64 ;;
    esac
    shift
done
die() { echo "mkiso.sh: $*" >&2; exit 64; }
[ -n "$out" ] || die "--out ISO is required"
[ -n "$dom0" ] || die "--dom0 ELF is required"
for f in "$hv" "$dom0" ${ramdisk:+"$ramdisk"}; do [ -f "$f" ] || die "no such file: $f"; done
command -v grub-mkrescue >/dev/null || die "grub-mkrescue missing (make deps: grub-pc-bin grub-common xorriso mtools)"
[ -d /usr/lib/grub/i386-pc ] || die "GRUB's BIOS modules missing (make deps: grub-pc-bin)"

# GRUB script quoting: each blank-separated word single-quoted on its
# own. GRUB joins a command's words with one space (and puts double
# quotes around a word with a blank in it, so a whole command line must
# not be one word): the hv sees the words as given.
q() {
    local w out="" words
    read -r -a words <<<"$1"
    for w in ${words[@]+"${words[@]}"}; do
        out+="${out:+ }'${w//\'/\'\\\'\'}'"
    done
    printf '%s' "$out"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/xenolith-iso.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/iso/boot/grub"
cp "$hv" "$work/iso/boot/xenolith.elf"
cp "$dom0" "$work/iso/boot/dom0.elf"
{
    echo "# written by boot/mkiso.sh"
    echo "set timeout=0"
    echo "set default=0"
    echo "menuentry 'Xenolith (multiboot2)' {"
    echo "    multiboot2 /boot/xenolith.elf $(q "$hv_cmdline")"
    echo "    module2 /boot/dom0.elf dom0${dom0_cmdline:+ $(q "$dom0_cmdline")}"
    if [ -n "$ramdisk" ]; then
        cp "$ramdisk" "$work/iso/boot/ramdisk.img"
        echo "    module2 /boot/ramdisk.img ramdisk"
    fi
    i=1
    for spec in ${domus[@]+"${domus[@]}"}; do
        elf=${spec%% *} args=""
        [ "$elf" != "$spec" ] && args=${spec#* }
        [ -f "$elf" ] || die "no such domU kernel: $elf"
        cp "$elf" "$work/iso/boot/domu$i.elf"
        echo "    module2 /boot/domu$i.elf domu${args:+ $(q "$args")}"
        i=$((i + 1))
    done
    echo "    boot"
    echo "}"
} >"$work/iso/boot/grub/grub.cfg"
mkdir -p "$(dirname "$out")"
if ! grub-mkrescue -o "$out" "$work/iso" >"$work/mkrescue.log" 2>&1; then
    cat "$work/mkrescue.log" >&2
    die "grub-mkrescue failed"
fi
