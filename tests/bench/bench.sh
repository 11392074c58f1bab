#!/usr/bin/env bash
# bench.sh - run the PV micro-benchmark guest (build/guests/bench.elf) as
# dom0 of Xenolith and of a real Xen 4.17, both under QEMU with
# `-icount shift=0` so the guest's TSC follows retired instructions and
# the numbers repeat from run to run; print both columns and the ratio.
# The table also goes to $BUILD/bench-results.txt (with the QEMU and Xen
# versions and the command), the file to keep or compare between runs.
# Only reports numbers: it fails only if a run does not produce them.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
elf="$BUILD/guests/bench.elf"
work=$(mktemp -d "${TMPDIR:-/tmp}/xl-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export XL_QEMU_ARGS="-icount shift=0"

bash "$top/tests/harness/run-qemu.sh" --quiet --dom0 "$elf" --log "$work/xl.log" --timeout 120
xl_rc=$?
xen_rc=skipped
if [ -f /boot/xen-4.17-amd64.efi ]; then
    bash "$top/tests/harness/run-xen.sh" --quiet --dom0 "$elf" --log "$work/xen.log" \
        --timeout 120 --stop "bench: done"
    xen_rc=$?
else
    echo "bench: real Xen not installed (xen-hypervisor-4.17-amd64): Xen column skipped"
    : >"$work/xen.log"
fi

# "bench: NAME: T ticks/op (N ops)" -> NAME<TAB>T
extract() { sed -n 's/.*bench: \(.*\): \([0-9]*\) ticks\/op.*/\1\t\2/p' "$1" | tr -d '\r'; }
extract "$work/xl.log" >"$work/xl.tsv"
extract "$work/xen.log" >"$work/xen.tsv"
if [ ! -s "$work/xl.tsv" ]; then
    echo "bench: no numbers from Xenolith (run-qemu.sh status $xl_rc)"; tail -20 "$work/xl.log"; exit 1
fi
results="$BUILD/bench-results.txt"
xen_pkg=$(dpkg-query -W -f='${Package} ${Version}' 'xen-hypervisor-4.17-amd64' 2>/dev/null || echo "not installed")
{
echo "PV micro-benchmarks, TSC ticks per operation under QEMU -icount shift=0 (lower is better)"
echo "$(qemu-system-x86_64 --version | head -1); Xen: $xen_pkg; command: make bench ($(date -u +%Y-%m-%d))"
printf '%-50s %10s %10s %7s\n' "operation" "Xenolith" "Xen 4.17" "ratio"
while IFS=$'\t' read -r name xl; do
    xen=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$work/xen.tsv")
    ratio=-
    [ -n "$xen" ] && [ "$xen" -gt 0 ] && ratio=$(awk -v a="$xl" -v b="$xen" 'BEGIN { printf "%.2f", a / b }')
    printf '%-50s %10s %10s %7s\n' "$name" "$xl" "${xen:--}" "$ratio"
done <"$work/xl.tsv"
grep -h "not measured" "$work/xl.log" "$work/xen.log" | tr -d '\r' | sed 's/^/  /'
echo "(Xenolith run status $xl_rc, Xen run status $xen_rc; ratio = Xenolith / Xen)"
} | tee "$results"
echo "bench: table written to $results"
