#!/usr/bin/env bash
# bench-io.sh - split-driver benchmarks: one Xenolith boot under QEMU
# `-icount shift=0` with dom0's services on a virtio-blk disk (a raw
# image on the host), then through xl on the control line: blktest
# mode=bench (blkfront -> blkback -> virtio-blk) and two nettest domUs
# (netfront -> netback -> bridge -> netback -> netfront: a UDP blast of
# 64- and 1400-byte frames counted at the receiver, timed pings).
# Collects the domUs' "bench: ..." lines and appends an I/O table to
# $BUILD/bench-results.txt. Called by `make bench` after bench.sh
# (BENCH_IO=0 skips it). Only reports numbers; it must never judge
# them, and fails only if the run does not produce them.
# Environment: BENCH_IO_COUNT (block requests per case, default 400),
# BENCH_IO_DEPTH (default 8), BENCH_IO_PKTS (datagrams per size, 2000),
# BENCH_IO_PINGS (200).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BUILD=${BUILD:-$top/build}
count=${BENCH_IO_COUNT:-400} depth=${BENCH_IO_DEPTH:-8}
pkts=${BENCH_IO_PKTS:-2000} pings=${BENCH_IO_PINGS:-200}
work=$(mktemp -d "${TMPDIR:-/tmp}/xl-bench-io.XXXXXX")
trap 'rm -rf "$work"' EXIT
export XL_QEMU_ARGS="-icount shift=0"

mkdir -p "$work/rd"
truncate -s 64M "$work/vda.img"
cp "$BUILD/guests/blktest.elf" "$BUILD/guests/nettest.elf" "$work/rd/"
cat >"$work/rd/blk-bench.cfg" <<CFG
name = "blk-bench"
memory = 16
kernel = "blktest.elf"
cmdline = "mode=bench depth=$depth count=$count"
disk = [ 'format=raw, vdev=xvda, access=rw, target=vda:16M+16M' ]
CFG
cat >"$work/rd/net-rx.cfg" <<CFG
name = "net-rx"
memory = 16
kernel = "nettest.elf"
vif = [ "mac=00:16:3e:00:00:0b, bridge=xenbr0" ]
cmdline = "ip=10.0.0.2 count=0 sink=7001 answer=600000"
CFG
cat >"$work/rd/net-tx.cfg" <<CFG
name = "net-tx"
memory = 16
kernel = "nettest.elf"
vif = [ "mac=00:16:3e:00:00:0a, bridge=xenbr0" ]
cmdline = "ip=10.0.0.1 peer=10.0.0.2 blast=$pkts port=7001 count=$pings linger=0"
CFG
(cd "$work/rd" && ls | cpio -o -H newc --quiet >../rd.cpio)
# dom0's hypercall counts around each part, for the per-request analysis
cat >"$work/script" <<'SCRIPT'
xl hypercalls 0
xl create blk-bench.cfg
wait 600 !^blk-bench xl list
xl hypercalls 0
xl create net-rx.cfg
xl create net-tx.cfg
wait 600 !^net- xl list
xl hypercalls 0
halt
SCRIPT
t0=$(date +%s)
# The control line is driven from here, not by run-qemu.sh --ctl-script:
# under -icount the firmware is slow enough that xlctl.sh's sync pings
# can time out before dom0 reads COM2, so the script starts only once
# dom0 says its services run.
bash "$top/tests/harness/run-qemu.sh" --quiet --dom0-cmdline "services=1" --disk "$work/vda.img" \
    --ramdisk "$work/rd.cpio" --ctl "$work/ctl.sock" --log "$work/io.log" --timeout 900 &
qpid=$!
for _ in $(seq 1500); do
    grep -q "dom0: services running" "$work/io.log" 2>/dev/null && break
    kill -0 "$qpid" 2>/dev/null || break
    sleep 0.2
done
bash "$top/tests/harness/xlctl.sh" --sock "$work/ctl.sock" --wait 60 --script "$work/script" \
    >"$work/ctl.out" 2>&1
wait "$qpid"
rc=$?
{ echo "== xlctl =="; cat "$work/ctl.out"; } >>"$work/io.log"
secs=$(( $(date +%s) - t0 ))
[ -n "${BENCH_IO_LOG:-}" ] && cp "$work/io.log" "$BENCH_IO_LOG"

# "(dN) [..] bench: blk|net NAME: T ticks/op (N ops), RATE ..." -> NAME<TAB>T<TAB>N<TAB>RATE
# (as dom0's console back end relays them, "(d0) [..] (dN) bench: ...": a
# domU may also print them on the hv's console, which would count twice)
extract() {
    tr -d '\r' <"$1" | grep -E '^\(d0\) \[[^]]*\] \(d[1-9][0-9]*\) bench: ' | sed -n 's/.*bench: \(blk\|net\) \(.*\): \([0-9]*\) ticks\/op (\([0-9]*\) ops), \(.*\) (virtual time).*/\1 \2\t\3\t\4\t\5/p'
}
extract "$work/io.log" >"$work/io.tsv"
if [ ! -s "$work/io.tsv" ]; then
    echo "bench-io: no numbers (run-qemu.sh status $rc)"; tail -30 "$work/io.log"; exit 1
fi
results="$BUILD/bench-results.txt"
{
echo
echo "Split-driver I/O (tests/bench/bench-io.sh), one Xenolith run under QEMU -icount shift=0, 1 CPU"
echo "$(qemu-system-x86_64 --version | head -1); command: tests/bench/bench-io.sh, run by make bench ($(date -u +%Y-%m-%d)); ${secs} s"
echo "ticks/op = TSC ticks per request or packet = instructions retired by the hv, dom0 and"
echo "the domUs together, plus virtual time that passed while the CPU sat halted waiting"
echo "for the host (QEMU's icount sleep: a block request waits for QEMU's disk I/O, so the blk"
echo "rows include host latency and move between runs; the net rows touch no host device)."
echo "Rates are per second of QEMU virtual time (1 instruction = 1 ns)."
echo "Xen 4.17 has no column: our dom0 services were not run as dom0 of real Xen."
printf '%-66s %10s %7s %14s\n' "operation" "ticks/op" "ops" "rate"
while IFS=$'\t' read -r name t n rate; do
    printf '%-66s %10s %7s %14s\n' "$name" "$t" "$n" "$rate"
done <"$work/io.tsv"
tr -d '\r' <"$work/io.log" | grep -E '^\(d0\) \[[^]]*\] \(d[1-9][0-9]*\) bench: ' | sed -n 's/.*bench: net \(.*\) \(sent\|received\): \(.*\)/  \1 \2: \3/p'
# dom0's hypercall counts (xl hypercalls 0 before, between and after)
hc() {  # snapshot K (1..3), "CALL SUBOP" or "total" -> count
    awk -v k="$1" -v what="$2" '/^xl> xl hypercalls 0$/ { n++ } n == k && what == "total" && /^Domain 0: / { print $3; exit }
        n == k && what != "total" && index($0, what " ") == 1 { print $NF; exit }' "$work/ctl.out"
}
blkreq=$(( 4 * (count + depth) + (depth != 1 ? 4 * (count + 1) : 0) ))
for part in "block 1 2 $blkreq requests (the timed ones and the warm-ups)" "net 2 3 both domUs' whole runs"; do
    set -- $part
    line="  dom0 hypercalls during the $1 part ($(echo "${@:4}")):"
    for w in total "grant_table_op               copy" "event_channel_op             send" \
             "sched_op                     block" "iret                         -"; do
        a=$(hc "$2" "$w") b=$(hc "$3" "$w"); a=${a:-0}
        [ -n "$b" ] && line="$line $(echo "$w" | tr -s ' ') $((b - a)),"
    done
    echo "${line%,}"
done
echo "(run status $rc; block: $count requests per row, $depth in flight where not 1;"
echo " net: $pkts datagrams per size, $pings pings)"
} | tee -a "$results"
echo "bench-io: table appended to $results"
