#!/usr/bin/env bash
# run-xen.sh - boot a PV kernel as dom0 of a REAL Xen 4.17 (Debian's
# xen-hypervisor-4.17-amd64, /boot/xen-4.17-amd64.efi) in the same QEMU
# (TCG + OVMF) as run-qemu.sh, to learn what real Xen answers. It owns only
# its throw-away ESP and the QEMU it starts; it never touches Xenolith's
# build or another run's files.
#
# Xen boots as \EFI\BOOT\BOOTX64.EFI with BOOTX64.cfg beside it. When dom0
# ends, Xen halts but QEMU keeps running, so this script watches the serial
# log and stops QEMU itself. Exit status (the same numbers as run-qemu.sh):
#   0   dom0 powered off ("Hardware Dom0 halted", or "Entering ACPI S5
#       state": a Linux dom0 powers the machine off itself through
#       XENPF_enter_acpi_sleep, and QEMU then ends), or the --stop line was
#       seen and no "NAME: N passed, M failed" line reported M > 0
#   1   the --stop line was seen but a check summary reported failures
#   2   dom0 asked for a reboot (or watchdog, soft reset)
#   3   dom0 crashed (a fault, SHUTDOWN_crash, or a shutdown reason Xen does
#       not know: Xen takes any reason from dom0 and halts like a crash)
#   4   Xen panicked                  6  QEMU ended some other way
#   124 none of the above within the timeout     64 usage error
# Options:
#   --dom0 ELF            the PV kernel (default build/guests/dom0.elf)
#   --dom0-cmdline S      its command line
#   --ramdisk FILE        dom0's boot module (ramdisk= in the cfg: a Linux
#                         initramfs; --dom0 may then be a bzImage)
#   --hv-cmdline S        extra Xen options, appended to the defaults below
#   --stop REGEX          extended regex: stop as soon as a log line matches
#                         (for guests that do not shut down, or to end early)
#   --device ARGS         a QEMU -device ARGS (repeatable; as run-qemu.sh's)
#   --qemu-arg ARG        one more QEMU argument (repeatable)
#   --pvh                 boot dom0 as a PVH guest (its ELF needs
#                         XEN_ELFNOTE_PHYS32_ENTRY): Xen's dom0=pvh, which
#                         needs an IOMMU (Xen 4.17 panics "Presently, iommu
#                         must be enabled for PVH hardware domain"): QEMU's
#                         emulated VT-d (-device intel-iommu,intremap=off)
#                         and Xen's iommu=1 instead of iommu=0 (docs/hvm.md)
#   --smp N               N CPUs (QEMU's -smp N, default 1; one TCG
#                         thread runs them in turn); dom0 keeps one vCPU
#   --timeout S (default 120, 0 = none)   --log FILE   --quiet
#   --stdin               the serial line reads this script's stdin, so dom0
#                         can be typed at (Xen hands serial input to dom0
#                         after boot); output goes to stdout and the log
#                         (not with --quiet)
#   --domu ...            refused: Xen 4.17 on x86 has no boot-time domUs
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
XEN_EFI=${XEN_EFI:-/boot/xen-4.17-amd64.efi}
dom0="$BUILD/guests/dom0.elf" dom0_cmdline="" hv_extra="" stop="" ramdisk=""
timeout=120 log="" quiet=0 stdin=0 smp=1 qdevs=() pvh=0
# Small dom0, one CPU, no IOMMU/microcode work, halt instead of rebooting on
# a dom0 crash, and every line a guest writes shown on the serial console.
xen_opts="console=com1 com1=115200,8n1 dom0_mem=64M,max:64M dom0_max_vcpus=1 noreboot"
xen_opts="$xen_opts iommu=0 ucode=no loglvl=warning guest_loglvl=all console_timestamps=boot"
while [ $# -gt 0 ]; do
    case "$1" in
    --dom0) dom0=$2; shift ;;
    --dom0-cmdline) dom0_cmdline=$2; shift ;;
    --ramdisk) ramdisk=$2; shift ;;
    --hv-cmdline) hv_extra=$2; shift ;;
    --stop) stop=$2; shift ;;
    --smp) smp=$2; shift ;;
    --device) qdevs+=(-device "$2"); shift ;;
    --qemu-arg) qdevs+=("$2"); shift ;;
    --pvh) pvh=1 ;;
    --timeout) timeout=$2; shift ;;
    --log) log=$2; shift ;;
    --quiet) quiet=1 ;;
    --stdin) stdin=1 ;;
    --domu) echo "run-xen.sh: Xen 4.17 on x86 cannot start domUs without a toolstack" >&2; exit 64 ;;
    *) echo "run-xen.sh: unknown option $1" >&2; exit 64 ;;
    esac
    shift
done
if [ $pvh = 1 ]; then
    xen_opts=${xen_opts/iommu=0/iommu=1}
    xen_opts="$xen_opts dom0=pvh"
    qdevs=(-device intel-iommu,intremap=off "${qdevs[@]}")
fi
if [ ! -f "$XEN_EFI" ]; then
    echo "run-xen.sh: no Xen at $XEN_EFI (package xen-hypervisor-4.17-amd64)" >&2; exit 64
fi
case "$smp" in
''|*[!0-9]*|0) echo "run-xen.sh: --smp wants a CPU count, not '$smp'" >&2; exit 64 ;;
esac
if [ ! -f "$dom0" ]; then echo "run-xen.sh: no such dom0 kernel: $dom0" >&2; exit 64; fi
if [ -n "$ramdisk" ] && [ ! -f "$ramdisk" ]; then echo "run-xen.sh: no such ramdisk: $ramdisk" >&2; exit 64; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/xenolith-xen.XXXXXX")
qpid="" tpid=""
cleanup() {
    [ -n "$tpid" ] && kill "$tpid" 2>/dev/null
    [ -n "$qpid" ] && kill "$qpid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
[ -n "$log" ] || log="$work/serial.log"
: >"$log"

esp="$work/esp"
mkdir -p "$esp/EFI/BOOT"
cp "$XEN_EFI" "$esp/EFI/BOOT/BOOTX64.EFI" || exit 64
cp "$dom0" "$esp/EFI/BOOT/dom0.elf" || exit 64
cat >"$esp/EFI/BOOT/BOOTX64.cfg" <<CFG
# written by tests/harness/run-xen.sh
[global]
default=xen

[xen]
options=$xen_opts $hv_extra
kernel=dom0.elf $dom0_cmdline
CFG
if [ -n "$ramdisk" ]; then
    cp "$ramdisk" "$esp/EFI/BOOT/ramdisk.img" || exit 64
    echo "ramdisk=ramdisk.img" >>"$esp/EFI/BOOT/BOOTX64.cfg"
fi
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars.fd"

serial=(-chardev "file,id=s0,path=$log" -serial chardev:s0)
exec 3</dev/null
if [ $stdin = 1 ]; then
    [ $quiet = 0 ] || { echo "run-xen.sh: --stdin and --quiet do not mix" >&2; exit 64; }
    serial=(-chardev "stdio,id=s0,logfile=$log,signal=off" -serial chardev:s0)
    quiet=1   # QEMU itself prints the console: no tail
    exec 3<&0
fi
qemu-system-x86_64 -machine q35 -m 512M -cpu max -smp "$smp" -no-reboot -display none \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -drive if=pflash,format=raw,file="$work/vars.fd" \
    -drive format=raw,file=fat:rw:"$esp" ${XL_QEMU_ARGS:-} \
    -net none "${qdevs[@]}" "${serial[@]}" 2>"$work/qemu.err" 0<&3 &
qpid=$!
if [ $quiet = 0 ]; then
    tail -n +1 -f "$log" &
    tpid=$!
fi

# The verdict of the log so far, or nothing while it is still running.
judge() {
    local text
    text=$(tr -d '\r' <"$log")
    case "$text" in
    *"Panic on CPU"*) echo 4; return ;;
    *"Hardware Dom0 crashed"*|*"Hardware Dom0 shutdown (unknown reason"*) echo 3; return ;;
    *"Hardware Dom0 shutdown: rebooting"*|*"Hardware Dom0 shutdown: watchdog"*) echo 2; return ;;
    *"Hardware domain 0 did unsupported soft reset"*) echo 2; return ;;
    *"Hardware Dom0 halted"*|*"Entering ACPI S5 state"*) echo 0; return ;;
    esac
    if [ -n "$stop" ] && grep -qE -- "$stop" <<<"$text"; then
        if grep -qE -- ': [0-9]+ passed, [1-9][0-9]* failed' <<<"$text"; then echo 1; else echo 0s; fi
    fi
}

start=$SECONDS
status=""
while kill -0 "$qpid" 2>/dev/null; do
    status=$(judge)
    [ -n "$status" ] && break
    if [ "$timeout" != 0 ] && [ $((SECONDS - start)) -ge "$timeout" ]; then
        status=124; break
    fi
    sleep 0.3
done
if kill -0 "$qpid" 2>/dev/null; then
    sleep 0.3   # let the last lines reach the log
    kill "$qpid" 2>/dev/null
    wait "$qpid" 2>/dev/null
else
    # QEMU ended by itself: -no-reboot turns a reboot request into an exit.
    wait "$qpid" 2>/dev/null
    status=$(judge)
    [ -n "$status" ] || { status=6; cat "$work/qemu.err" >&2; }
fi
qpid=""
if [ -n "$tpid" ]; then sleep 0.2; kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null; tpid=""; fi
names=([0]=poweroff [1]="stop line seen, check failures" [2]=reboot [3]="dom0 crashed" [4]="Xen panic"
       [6]="unexpected QEMU exit" [124]="timeout ${timeout}s")
if [ "$status" = 0s ]; then status=0 what="stop line seen"; else what=${names[$status]}; fi
echo "xen: machine ended: $what (exit status $status, $((SECONDS - start))s)" >&2
exit $status
