#!/usr/bin/env bash
# check-fixtures.sh - boot the Linux fixtures (build/fixtures, made by
# fixtures.sh) outside Xenolith and drive the initramfs shell: wait for
# "xenolith-initramfs: ready RELEASE" (RELEASE must be kernel-release) and
# the prompt "xlinux# ", run a command and check its answer, then type
# poweroff and wait for the machine to end. Prints the seconds from the
# start to each step (console-drive.py's "drive: +T.Ts" lines).
#   (default)  plain QEMU TCG, -kernel vmlinuz -initrd initramfs.cpio.gz,
#              console=ttyS0; ends by ACPI poweroff
#   --xen      as dom0 of real Xen 4.17 (run-xen.sh), console=hvc0; ends
#              by dom0's ACPI S5 ("Entering ACPI S5 state")
#   --elf      boot fixtures/vmlinux (the ELF) instead of the bzImage
#   --log FILE (default build/fixtures-check[-xen].log)   --timeout S
# Exit status 0 when all steps were seen (or the fixtures are UNAVAILABLE:
# then it says why and skips), else console-drive.py's (124 timeout).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
fx=$BUILD/fixtures
xen=0 kernel=$fx/vmlinuz log="" timeout=300
while [ $# -gt 0 ]; do
    case "$1" in
    --xen) xen=1 ;;
    --elf) kernel=$fx/vmlinux ;;
    --log) log=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    *) echo "check-fixtures.sh: unknown option $1" >&2; exit 64 ;;
    esac
    shift
done
if [ -f "$fx/UNAVAILABLE" ]; then echo "check-fixtures: skipped: $(cat "$fx/UNAVAILABLE")"; exit 0; fi
for f in "$kernel" "$fx/initramfs.cpio.gz" "$fx/kernel-release"; do
    [ -f "$f" ] || { echo "check-fixtures: no $f (make fixtures)" >&2; exit 64; }
done
rel=$(cat "$fx/kernel-release")
# shellcheck disable=SC2016 # the command is expanded by the guest's shell
steps=("expect:xenolith-initramfs: ready $rel" "expect:xlinux# "
       'send:echo answer-$((6*7)) $(uname -r) $(cat /sys/hypervisor/type 2>/dev/null || echo none)'
       "expect:answer-42 $rel" "expect:xlinux# " "send:poweroff")
if [ $xen = 0 ]; then
    [ -n "$log" ] || log=$BUILD/fixtures-check.log
    steps+=("expect:reboot: Power down" eof)
    cmd=(qemu-system-x86_64 -m 512 -display none -monitor none -serial stdio -no-reboot
         -kernel "$kernel" -initrd "$fx/initramfs.cpio.gz" -append "console=ttyS0")
else
    [ -n "$log" ] || log=$BUILD/fixtures-check-xen.log
    steps+=("expect:Entering ACPI S5 state" eof)
    # QEMU 7.2 TCG reads the frame of an iretq done at CPL 3 as a supervisor
    # access, so with SMAP on (Xen enables it when -cpu max offers it) the
    # kernel's iret-to-self (sync_core) faults on its own stack and dom0
    # dies early with "Unhandled: vec 14, #PF[0001]". Real CPUs do not.
    # Linux needs more than run-xen.sh's 64M dom0.
    export XL_QEMU_ARGS="${XL_QEMU_ARGS:-} -cpu max,smap=off"
    cmd=(bash "$here/run-xen.sh" --stdin --timeout "$timeout" --dom0 "$kernel"
         --ramdisk "$fx/initramfs.cpio.gz" --dom0-cmdline "console=hvc0 earlyprintk=xen"
         --hv-cmdline "dom0_mem=256M,max:256M")
fi
python3 "$here/console-drive.py" --quiet --timeout "$timeout" --log "$log" "${steps[@]}" -- "${cmd[@]}"
status=$?
if [ $status = 0 ]; then echo "check-fixtures: passed (log $log)"; else echo "check-fixtures: FAILED, status $status (log $log)"; tail -n 20 "$log"; fi
exit $status
