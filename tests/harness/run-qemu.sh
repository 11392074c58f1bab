#!/usr/bin/env bash
# run-qemu.sh - boot Xenolith in QEMU (TCG + OVMF) from a throw-away ESP
# and turn the way the machine ended into an exit status:
#   0 poweroff   2 reboot   3 dom0 crashed   4 hypervisor panic
#   5 loader error   6 QEMU ended some other way (triple fault, reset)
#   124 hang: still running after the timeout (or --hang-after's wait)
# Options:
#   --dom0 ELF --dom0-cmdline S --hv-cmdline S   what to boot
#   --domu 'ELF [CMDLINE]'   a boot-time domU (repeatable)
#   --cfg-text TEXT   use TEXT as xenolith.cfg verbatim (loader tests)
#   --timeout S (default 60, 0 = none)   --log FILE   --quiet   --gdb
#   --hang-after TEXT S   a hang once TEXT is in the log and the machine
#                still runs S seconds later (status 124): a test of a hang
#                then waits for the state it checks, not for a timeout
#                long enough for a slow boot
#   --mem SIZE   the machine's memory, QEMU's -m (default 512M); the hv's
#                dom0_mem= (--hv-cmdline) must leave room for the hv and
#                the domUs
#   --ramdisk FILE   dom0's boot module (start_info mod_start/mod_len)
#   --disk FILE  a raw disk image on a modern-only virtio-blk-pci device
#                (repeatable: vda, vdb, ... in dom0, in this order)
#   --disk-ro FILE   the same, read-only (QEMU readonly=on: VIRTIO_BLK_F_RO);
#                --disk and --disk-ro share one order
#   --nic ARGS   a virtio-net-pci device on a QEMU -netdev ARGS back end
#                (e.g. "user,id=n0,restrict=on"); the id must be given
#   --device ARGS  any QEMU -device ARGS (repeatable; e.g. edu for pirq_msi)
#   --smp N      N CPUs (QEMU's -smp N, default 1); with N > 1 TCG runs
#                one host thread per CPU (-accel tcg,thread=multi), except
#                with -icount in XL_QEMU_ARGS, which QEMU allows only with
#                one thread running the CPUs in turn (thread=single)
#   --console-script FILE   COM1 (the hv's console, dom0's hvc0) on a unix
#                socket driven by tests/harness/consdrv.py with FILE
#                (expect/send lines); its output is appended to the log
#                after a "== console ==" line when the machine ends
#   --ctl PATH   COM2 (dom0's control line) on a unix socket at PATH, for
#                tests/harness/xlctl.sh --sock PATH
#   --ctl-wait S   how long xlctl.sh waits for each answer (default 30)
#   --ctl-script FILE   with --ctl (or a temporary socket): once QEMU runs,
#                feed FILE to xlctl.sh --script; its output is appended to
#                the log after the machine ends, after a "== xlctl ==" line
#   --iso        boot the multiboot2 path instead: SeaBIOS, GRUB from a
#                rescue ISO (boot/mkiso.sh) on -cdrom, the same modules as
#                GRUB module2 lines (not with --cfg-text)
# Environment: XL_QEMU_ARGS adds QEMU arguments (e.g. "-icount shift=0").
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
dom0="$BUILD/guests/dom0.elf" dom0_cmdline="" hv_cmdline="console=com1"
cfg_text="" timeout=60 log="" quiet=0 gdb=0 mem=512M smp=1
domus=() disks=() nics=() qdevs=() ramdisk="" ctl="" ctl_script="" iso=0
while [ $# -gt 0 ]; do
    case "$1" in
    --dom0) dom0=$2; shift ;;
    --dom0-cmdline) dom0_cmdline=$2; shift ;;
    --hv-cmdline) hv_cmdline=$2; shift ;;
    --cfg-text) cfg_text=$2; shift ;;
    --domu) domus+=("$2"); shift ;;
    --timeout) timeout=$2; shift ;;
    --hang-after) hang_text=$2; hang_secs=$3; shift 2 ;;
    --mem) mem=$2; shift ;;
    --smp) smp=$2; shift ;;
    --log) log=$2; shift ;;
    --quiet) quiet=1 ;;
    --gdb) gdb=1; timeout=0 ;;
    --ramdisk) ramdisk=$2; shift ;;
    --disk) disks+=("$2"); shift ;;
    --disk-ro) disks+=("$2,readonly=on"); shift ;;
    --nic) nics+=("$2"); shift ;;
    --device) qdevs+=("$2"); shift ;;
    --ctl) ctl=$2; shift ;;
    --ctl-script) ctl_script=$2; shift ;;
    --ctl-wait) ctl_wait=$2; shift ;;
    --console-script) con_script=$2; shift ;;
    --iso) iso=1 ;;
    *) echo "run-qemu.sh: unknown option $1" >&2; exit 64 ;;
    esac
    shift
done

work=$(mktemp -d "${TMPDIR:-/tmp}/xenolith.XXXXXX")
qpid=""
cpid=""
cleanup() {
    [ -n "${conpid:-}" ] && kill "$conpid" 2>/dev/null
    [ -n "$qpid" ] && kill "$qpid" 2>/dev/null
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
[ -n "$log" ] || log="$work/serial.log"
: >"$log"

# Under TCG a vCPU's host thread can be off the host CPU for over a
# second on a loaded host (more QEMU threads than cores), which the hv's
# 1 s watchdog takes for a hung CPU. The scenario harness exports
# XL_SMP_WATCHDOG_MS for its --smp N runs; a scenario that sets
# smp_watchdog_ms itself keeps its value.
if [ "$smp" -gt 1 ] && [ -n "${XL_SMP_WATCHDOG_MS:-}" ] && [[ "$hv_cmdline" != *smp_watchdog_ms=* ]]; then
    hv_cmdline="$hv_cmdline smp_watchdog_ms=$XL_SMP_WATCHDOG_MS"
fi

firmware=()
if [ $iso = 1 ]; then
    [ -z "$cfg_text" ] || { echo "run-qemu.sh: --cfg-text is the UEFI loader's; not with --iso" >&2; exit 64; }
    mk=(--out "$work/xenolith.iso" --hv "$BUILD/hv/xenolith.elf" --hv-cmdline "$hv_cmdline"
        --dom0 "$dom0" --dom0-cmdline "$dom0_cmdline")
    [ -n "$ramdisk" ] && mk+=(--ramdisk "$ramdisk")
    for spec in ${domus[@]+"${domus[@]}"}; do mk+=(--domu "$spec"); done
    BUILD=$BUILD bash "$top/boot/mkiso.sh" "${mk[@]}" || exit 64
    firmware=(-cdrom "$work/xenolith.iso" -boot d)
fi
esp="$work/esp"
if [ $iso = 0 ]; then
mkdir -p "$esp/EFI/BOOT" "$esp/EFI/xenolith"
cp "$BUILD/boot/BOOTX64.EFI" "$esp/EFI/BOOT/BOOTX64.EFI" || exit 64
cp "$BUILD/hv/xenolith.elf" "$esp/EFI/xenolith/xenolith.elf" || exit 64
if [ ! -f "$dom0" ]; then echo "run-qemu.sh: no such dom0 kernel: $dom0" >&2; exit 64; fi
cp "$dom0" "$esp/EFI/xenolith/dom0.elf"
if [ -n "$cfg_text" ]; then
    printf '%s\n' "$cfg_text" >"$esp/EFI/xenolith/xenolith.cfg"
else
    cat >"$esp/EFI/xenolith/xenolith.cfg" <<CFG
# written by tests/harness/run-qemu.sh
hypervisor = \\EFI\\xenolith\\xenolith.elf
hypervisor_cmdline = $hv_cmdline
dom0 = \\EFI\\xenolith\\dom0.elf
CFG
    [ -n "$dom0_cmdline" ] && echo "dom0_cmdline = $dom0_cmdline" >>"$esp/EFI/xenolith/xenolith.cfg"
    if [ -n "$ramdisk" ]; then
        if [ ! -f "$ramdisk" ]; then echo "run-qemu.sh: no such ramdisk: $ramdisk" >&2; exit 64; fi
        cp "$ramdisk" "$esp/EFI/xenolith/ramdisk.img"
        echo "ramdisk = \\EFI\\xenolith\\ramdisk.img" >>"$esp/EFI/xenolith/xenolith.cfg"
    fi
    i=1
    for spec in ${domus[@]+"${domus[@]}"}; do
        elf=${spec%% *} args=""
        [ "$elf" != "$spec" ] && args=" ${spec#* }"
        if [ ! -f "$elf" ]; then echo "run-qemu.sh: no such domU kernel: $elf" >&2; exit 64; fi
        cp "$elf" "$esp/EFI/xenolith/domu$i.elf"
        echo "domu = \\EFI\\xenolith\\domu$i.elf$args" >>"$esp/EFI/xenolith/xenolith.cfg"
        i=$((i + 1))
    done
fi
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars.fd"
firmware=(-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
          -drive if=pflash,format=raw,file="$work/vars.fd"
          -drive format=raw,file=fat:rw:"$esp")
fi

serial=(-chardev "file,id=s0,path=$log" -serial chardev:s0)
if [ -n "${con_script:-}" ]; then
    serial=(-chardev "socket,id=s0,path=$work/con.sock,server=on,wait=off,logfile=$log" -serial chardev:s0)
elif [ $quiet = 0 ]; then
    serial=(-chardev "stdio,id=s0,logfile=$log,signal=off" -serial chardev:s0)
fi
if [ -n "$ctl_script" ] && [ -z "$ctl" ]; then ctl="$work/ctl.sock"; fi
if [ -n "$ctl" ]; then
    rm -f "$ctl"
    serial+=(-chardev "socket,id=s1,path=$ctl,server=on,wait=off" -serial chardev:s1)
fi
dbg=()
if [ $gdb = 1 ]; then
    dbg=(-s -S)
    echo "QEMU waits for gdb on :1234: gdb -x tests/harness/gdbinit (from $top)" >&2
fi
case "$smp" in
''|*[!0-9]*|0) echo "run-qemu.sh: --smp wants a CPU count, not '$smp'" >&2; exit 64 ;;
esac
accel=()
if [ "$smp" -gt 1 ]; then
    case " ${XL_QEMU_ARGS:-} " in
    *" -icount "*) accel=(-accel tcg,thread=single) ;;
    *) accel=(-accel tcg,thread=multi) ;;
    esac
fi
devs=()
for i in "${!disks[@]}"; do
    devs+=(-drive "if=none,id=vd$i,format=raw,file=${disks[$i]}"
           -device "virtio-blk-pci,drive=vd$i,disable-legacy=on")
done
for q in "${qdevs[@]}"; do
    devs+=(-device "$q")
done
for n in "${nics[@]}"; do
    devs+=(-netdev "$n" -device "virtio-net-pci,netdev=$(sed 's/.*id=\([^,]*\).*/\1/' <<<"$n"),disable-legacy=on")
done
exec 3<&0
qemu-system-x86_64 -machine q35 -m "${mem:-512M}" -cpu "${XL_QEMU_CPU:-qemu64,+svm,+npt}" -smp "$smp" "${accel[@]}" -no-reboot -display none \
    "${firmware[@]}" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 ${XL_QEMU_ARGS:-} \
    -net none "${devs[@]}" "${serial[@]}" "${dbg[@]}" 0<&3 &
qpid=$!
conpid=""
if [ -n "${con_script:-}" ]; then
    python3 "$here/consdrv.py" "$work/con.sock" "$con_script" >"$work/con.out" 2>&1 &
    conpid=$!
fi
if [ -n "$ctl_script" ]; then
    for _ in $(seq 50); do [ -S "$ctl" ] && break; sleep 0.1; done
    bash "$here/xlctl.sh" --sock "$ctl" --wait "${ctl_wait:-30}" --script "$ctl_script" >"$work/ctl.out" 2>&1 &
    cpid=$!
fi

start=$SECONDS
status=""
hang_seen=""
while kill -0 "$qpid" 2>/dev/null; do
    if [ -n "${hang_text:-}" ] && [ -z "$hang_seen" ] && grep -qF -- "$hang_text" "$log" 2>/dev/null; then
        hang_seen=$SECONDS
    fi
    if [ -n "$hang_seen" ] && [ $((SECONDS - hang_seen)) -ge "$hang_secs" ]; then
        kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null
        status=124; break
    fi
    if grep -q "xenolith-loader: error:" "$log" 2>/dev/null; then
        sleep 0.3; kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null
        status=5; break
    fi
    if [ "$timeout" != 0 ] && [ $((SECONDS - start)) -ge "$timeout" ]; then
        kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null
        status=124; break
    fi
    # dom0 stopped answering the control script: the machine will not end
    # by itself, so do not wait for the timeout.
    if [ -n "$cpid" ] && ! kill -0 "$cpid" 2>/dev/null && grep -q "xlctl.sh: no answer" "$work/ctl.out"; then
        kill "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null
        status=124; break
    fi
    sleep 0.2
done
if [ -z "$status" ]; then
    wait "$qpid"; q=$?
    case $q in
    1) status=0 ;;   # hv wrote XL_EXIT_POWEROFF (0) to isa-debug-exit
    3) status=2 ;;   # XL_EXIT_REBOOT
    5) status=3 ;;   # XL_EXIT_CRASH
    7) status=4 ;;   # XL_EXIT_PANIC
    *) status=6 ;;
    esac
fi
qpid=""
if [ -n "$conpid" ]; then
    sleep 0.5; kill "$conpid" 2>/dev/null; wait "$conpid" 2>/dev/null; conpid=""
    { echo "== console =="; cat "$work/con.out"; } >>"$log"
fi
if [ -n "$cpid" ]; then
    sleep 0.5; kill "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null; cpid=""
    { echo "== xlctl =="; cat "$work/ctl.out"; } >>"$log"
fi
names=([0]=poweroff [2]=reboot [3]="dom0 crashed" [4]="hypervisor panic" [5]="loader error" [6]="unexpected QEMU exit" [124]="hang (${hang_seen:+still running ${hang_secs}s after \"$hang_text\", }timeout ${timeout}s)")
echo "xenolith: machine ended: ${names[$status]} (exit status $status)" >&2
exit $status
