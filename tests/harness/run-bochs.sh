#!/usr/bin/env bash
# run-bochs.sh - boot Xenolith in Bochs (the emulator here with VT-x:
# EPT, unrestricted guest, VPID on corei7_skylake_x) through the multiboot2
# path: legacy BIOS -> GRUB rescue ISO (boot/mkiso.sh) on an ATAPI CD-ROM.
# Headless: the rfb display that waits for no client, the built-in
# debugger told to continue (bochs-bin -rc), serial COM1 to a file.
# Bochs has no isa-debug-exit, so the way the machine ended is read from
# the hv's last lines (arch_halt_machine prints "uptime N ms" last), and
# Bochs is then stopped. Exit status as run-qemu.sh's:
#   0 poweroff   2 reboot   3 dom0 crashed   4 hypervisor panic
#   6 Bochs ended some other way (triple fault, Bochs panic)
#   124 hang: no end within the timeout
# Options:
#   --dom0 ELF --dom0-cmdline S --hv-cmdline S   what to boot
#   --domu 'ELF [CMDLINE]' (repeatable)   --ramdisk FILE
#   --iso FILE   boot this ISO instead of making one
#   --timeout S (default 300)   --log FILE   --quiet
#   --mem MB (default 512)   --cpu MODEL (default corei7_skylake_x)
#   --cpus N (default 1): Bochs's cpu count
#   --until TEXT   stop Bochs once TEXT is in the log (status 0) rather
#                  than waiting for the hv to end the machine
# Owns: the bochsrc it writes into its temporary directory.
# Must never: leave a Bochs running (it is stopped by its pid on exit).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
dom0="$BUILD/guests/dom0.elf" dom0_cmdline="" hv_cmdline="console=com1" ramdisk="" iso=""
timeout=300 log="" quiet=0 mem=512 cpu=corei7_skylake_x cpus=1 until=""
domus=()
while [ $# -gt 0 ]; do
    case "$1" in
    --dom0) dom0=$2; shift ;;
    --dom0-cmdline) dom0_cmdline=$2; shift ;;
    --hv-cmdline) hv_cmdline=$2; shift ;;
    --domu) domus+=("$2"); shift ;;
    --ramdisk) ramdisk=$2; shift ;;
    --iso) iso=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    --log) log=$2; shift ;;
    --quiet) quiet=1 ;;
    --mem) mem=${2%M}; shift ;;
    --cpu) cpu=$2; shift ;;
    --cpus) cpus=$2; shift ;;
    --until) until=$2; shift ;;
    *) echo "run-bochs.sh: unknown option $1" >&2; exit 64 ;;
    esac
    shift
done
command -v bochs-bin >/dev/null || { echo "run-bochs.sh: bochs-bin missing (make deps: bochs)" >&2; exit 64; }

work=$(mktemp -d "${TMPDIR:-/tmp}/xenolith-bochs.XXXXXX")
bpid="" tpid=""
cleanup() {
    [ -n "$tpid" ] && kill "$tpid" 2>/dev/null
    [ -n "$bpid" ] && kill "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
[ -n "$log" ] || log="$work/serial.log"
: >"$log"

if [ -z "$iso" ]; then
    iso="$work/xenolith.iso"
    mk=(--out "$iso" --hv "$BUILD/hv/xenolith.elf" --hv-cmdline "$hv_cmdline"
        --dom0 "$dom0" --dom0-cmdline "$dom0_cmdline")
    [ -n "$ramdisk" ] && mk+=(--ramdisk "$ramdisk")
    for spec in ${domus[@]+"${domus[@]}"}; do mk+=(--domu "$spec"); done
    BUILD=$BUILD bash "$top/boot/mkiso.sh" "${mk[@]}" || exit 64
fi
[ -f "$iso" ] || { echo "run-bochs.sh: no such ISO: $iso" >&2; exit 64; }

# clock sync=none + ips: guest time follows the instruction count, so a
# run is the same on a loaded host, only slower. The Debian build has no
# nogui display: rfb with timeout=0 waits for no viewer. The ALSA sound
# plugin aborts headless: dummy. reset_on_triple_fault=0 turns a triple
# fault into a Bochs panic, and panic: action=fatal ends Bochs.
cat >"$work/bochsrc" <<RC
# written by tests/harness/run-bochs.sh
megs: $mem
cpu: model=$cpu, count=$cpus, ips=100000000, reset_on_triple_fault=0
clock: sync=none
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
display_library: rfb, options="timeout=0"
panic: action=fatal
error: action=report
sound: driver=dummy
ata0-master: type=cdrom, path="$iso", status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev="$log"
log: $work/bochs.log
RC
printf 'c\nquit\n' >"$work/cmds" # the built-in debugger stops at the first instruction

# The rfb display listens on a TCP port (5900-5949, all addresses): in a
# network namespace of its own where one can be made (root), so nothing
# outside this run sees it.
netns=()
unshare -n true 2>/dev/null && netns=(unshare -n)
(cd "$work" && exec timeout --kill-after=5 $((timeout > 0 ? timeout + 30 : 86400)) \
    ${netns[@]+"${netns[@]}"} bochs-bin -q -f "$work/bochsrc" -rc "$work/cmds" </dev/null >"$work/bochs.out" 2>&1) &
bpid=$!
if [ $quiet = 0 ]; then
    tail -n +1 -f "$log" &
    tpid=$!
fi

start=$SECONDS
status=""
while kill -0 "$bpid" 2>/dev/null; do
    if [ -n "$until" ] && grep -qF -- "$until" "$log" 2>/dev/null; then
        status=0; break
    fi
    if grep -aqE '^\(XEN\) \[ *[0-9.]+\] uptime [0-9]+ ms' "$log" 2>/dev/null; then
        break
    fi
    if [ "$timeout" != 0 ] && [ $((SECONDS - start)) -ge "$timeout" ]; then
        status=124; break
    fi
    sleep 0.2
done
sleep 0.2
kill "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null; bpid=""
if [ -z "$status" ]; then
    if grep -aq "PANIC: " "$log"; then status=4
    elif grep -aq "machine will power off" "$log"; then status=0
    elif grep -aq "machine will reboot" "$log"; then status=2
    elif grep -aq "dom0 crashed" "$log"; then status=3
    else status=6
    fi
fi
if [ -n "$tpid" ]; then sleep 0.3; kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null; tpid=""; fi
if [ "$status" = 6 ] || [ "$status" = 124 ]; then
    echo "run-bochs.sh: the last lines of Bochs's own log:" >&2
    tail -n 8 "$work/bochs.log" >&2 2>/dev/null
fi
names=([0]=poweroff [2]=reboot [3]="dom0 crashed" [4]="hypervisor panic" [6]="unexpected Bochs exit" [124]="hang (timeout ${timeout}s)")
echo "xenolith: machine ended: ${names[$status]}${until:+ (or reached \"$until\")} (exit status $status) after $((SECONDS - start)) s in Bochs" >&2
exit $status
