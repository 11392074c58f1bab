#!/usr/bin/env bash
# bench.sh - run the PV micro-benchmark guest (build/guests/bench.elf) as
# dom0 of Xenolith and of a real Xen 4.17, both under QEMU with
# `-icount shift=0` so the guest's TSC follows retired instructions and
# the numbers repeat from run to run; print both columns and the ratio.
# Each runs twice: with one CPU, then with two (bench=two-cpus, the one
# row that needs a second CPU). BENCH_XEN=0 skips the Xen runs.
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

# Each hypervisor runs twice: with one CPU (every row but one), then with
# two (bench=two-cpus: only the round trip between domains on two CPUs).
# With -icount QEMU runs the CPUs in turn on one thread (run-qemu.sh
# --smp), so a two-CPU number is the instructions both CPUs retired; the
# firmware alone then takes minutes on a loaded host (longer bounds).
bash "$top/tests/harness/run-qemu.sh" --quiet --dom0 "$elf" --log "$work/xl.log" --timeout 240
xl_rc=$?
bash "$top/tests/harness/run-qemu.sh" --quiet --dom0 "$elf" --log "$work/xl2.log" --timeout 600 \
    --smp 2 --dom0-cmdline "bench=two-cpus"
xl_rc="$xl_rc/$?"
xen_rc=skipped xen_note=""
if [ "${BENCH_XEN:-1}" = 0 ]; then
    xen_note="Xen column skipped: BENCH_XEN=0"
elif [ ! -f /boot/xen-4.17-amd64.efi ]; then
    xen_note="Xen column skipped: real Xen not installed (xen-hypervisor-4.17-amd64)"
else
    bash "$top/tests/harness/run-xen.sh" --quiet --dom0 "$elf" --log "$work/xen.log" \
        --timeout 300 --stop "bench: done"
    xen_rc=$?
    bash "$top/tests/harness/run-xen.sh" --quiet --dom0 "$elf" --log "$work/xen2.log" \
        --timeout 600 --stop "bench: done" --smp 2 --dom0-cmdline "bench=two-cpus"
    xen_rc="$xen_rc/$?"
fi
[ -n "$xen_note" ] && echo "bench: $xen_note"
touch "$work/xen.log" "$work/xen2.log"

# "bench: NAME: T ticks/op (N ops)" -> NAME<TAB>T
extract() { sed -n 's/.*bench: \(.*\): \([0-9]*\) ticks\/op.*/\1\t\2/p' "$1" | tr -d '\r'; }
cat "$work/xl.log" "$work/xl2.log" | extract /dev/stdin >"$work/xl.tsv"
cat "$work/xen.log" "$work/xen2.log" | extract /dev/stdin >"$work/xen.tsv"
if [ ! -s "$work/xl.tsv" ]; then
    echo "bench: no numbers from Xenolith (run-qemu.sh status $xl_rc)"; tail -20 "$work/xl.log"; exit 1
fi
results="$BUILD/bench-results.txt"
xen_pkg=$(dpkg-query -W -f='${Package} ${Version}' 'xen-hypervisor-4.17-amd64' 2>/dev/null || echo "not installed")
{
echo "PV micro-benchmarks, TSC ticks per operation under QEMU -icount shift=0 (lower is better)"
echo "$(qemu-system-x86_64 --version | head -1); Xen: $xen_pkg; command: make bench ($(date -u +%Y-%m-%d))"
printf '%-50s %10s %10s %7s\n' "operation" "Xenolith" "Xen 4.17" "ratio"
# Xenolith's rows in its order, then any row only Xen gave (a Xenolith
# run that ended early): "-" where a column has no number.
{ cut -f1 "$work/xl.tsv"; cut -f1 "$work/xen.tsv" | grep -vxFf <(cut -f1 "$work/xl.tsv"); } >"$work/names"
while IFS= read -r name; do
    xl=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$work/xl.tsv")
    xen=$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$work/xen.tsv")
    ratio=-
    [ -n "$xl" ] && [ -n "$xen" ] && [ "$xen" -gt 0 ] && ratio=$(awk -v a="$xl" -v b="$xen" 'BEGIN { printf "%.2f", a / b }')
    printf '%-50s %10s %10s %7s\n' "$name" "${xl:--}" "${xen:--}" "$ratio"
done <"$work/names"
for f in xl xl2 xen xen2; do
    grep -h "not measured" "$work/$f.log" | tr -d '\r' | sed "s/^/  ${f%2}: /"
done
[ -n "$xen_note" ] && echo "  $xen_note"
echo "(Xenolith run status $xl_rc, Xen run status $xen_rc (1 CPU/2 CPUs); ratio = Xenolith / Xen)"
} | tee "$results"
echo "bench: table written to $results"
