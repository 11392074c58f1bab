#!/usr/bin/env bash
# scenarios.sh - run QEMU scenario files (tests/scenarios/*.scn) and judge
# each by its exit status and serial-log markers. A scenario file is bash
# that sets:
#   DESC            one line saying what it shows
#   RUNNER          qemu (default): Xenolith via run-qemu.sh; xen: the same
#                   QEMU booting REAL Xen 4.17 via run-xen.sh (dom0 only);
#                   bochs: Xenolith in Bochs via run-bochs.sh (multiboot2)
#   RUN_ARGS=(...)  arguments for the runner (--dom0, --cfg-text, ...)
#   EXPECT_STATUS   the runner's exit status (0 poweroff, 2 reboot, 3 crash,
#                   5 loader error, 124 timeout; see run-qemu.sh / run-xen.sh)
#   EXPECT=(...)    fixed strings that must appear in the log, in this order
#   REJECT=(...)    fixed strings that must not appear
#   MEASURE=(...)   extended regexes whose matching lines are printed (numbers)
#   TIMEOUT         seconds before the runner calls it a hang (default 60)
#   SKIP            when set (to the reason), the scenario is not run and is
#                   reported as "SKIP name: reason" (fixtures that could not
#                   be had)
#   check_log()     optional bash function, a custom check run after EXPECT
#                   and REJECT pass: called with the log file (\r removed) as
#                   $1; non-zero return fails the scenario, and its last line
#                   of output says why. Other lines are printed as measured.
# On failure it says why and prints the tail of the log.
# -j N (first argument): N groups of scenarios (round-robin over the
# list) run side by side, each a scenarios.sh of its own; their reports
# are printed group by group once all are done, then the totals. Every
# scenario already waits for states with bounds, so a loaded host only
# makes it slower.
set -u
if [ "${1:-}" = -j ] && [ "${2:-1}" -gt 1 ] 2>/dev/null; then
    jobs=$2; shift 2
    groups=(); for ((g = 0; g < jobs; g++)); do groups+=(""); done
    i=0
    for scn in "$@"; do groups[$((i % jobs))]+="$scn"$'\n'; i=$((i + 1)); done
    out=$(mktemp -d "${TMPDIR:-/tmp}/xl-scn.XXXXXX")
    for ((g = 0; g < jobs; g++)); do
        mapfile -t list < <(printf '%s' "${groups[$g]}")
        [ "${#list[@]}" -gt 0 ] || continue
        bash "$0" "${list[@]}" >"$out/$g" 2>&1 &
    done
    wait
    tp=0 tf=0 ts=0
    for ((g = 0; g < jobs; g++)); do
        [ -f "$out/$g" ] || continue
        grep -v '^scenarios: ' "$out/$g"
        t=$(sed -n 's/^scenarios: \([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}.*/\1 \2 \4/p' "$out/$g")
        read -r p f sk <<<"$t"
        [ -n "$p" ] || { echo "scenarios: group $g printed no totals"; f=$((${f:-0} + 1)); }
        tp=$((tp + ${p:-0})) tf=$((tf + ${f:-0})) ts=$((ts + ${sk:-0}))
    done
    rm -rf "$out"
    echo "scenarios: $tp passed, $tf failed$( [ "$ts" -gt 0 ] && echo ", $ts skipped (see the SKIP lines)")"
    [ "$tf" = 0 ]
    exit
fi
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
logdir="$top/build/scenario-logs"
mkdir -p "$logdir"
# shellcheck source=scenario-lib.sh
source "$here/scenario-lib.sh"
# --smp N runs: a watchdog bound that host scheduling of TCG vCPU threads
# does not trip (a CPU stuck in the hv is still caught, in 10 s instead
# of 1; smp_watchdog checks the 1 s default with its own setting).
export XL_SMP_WATCHDOG_MS=${XL_SMP_WATCHDOG_MS:-10000}
pass=0 fail=0 skipped=0
for scn in "$@"; do
    name=$(basename "$scn" .scn)
    DESC="" RUNNER=qemu RUN_ARGS=() EXPECT_STATUS=0 EXPECT=() REJECT=() MEASURE=() TIMEOUT=60 SKIP=""
    unset -f check_log
    if [ ! -f "$scn" ]; then
        echo "FAIL $name: no scenario file $scn"; fail=$((fail + 1)); continue
    fi
    # shellcheck disable=SC1090
    if ! source "$scn" || [ -z "$DESC" ]; then
        echo "FAIL $name: $scn did not load (a bash error, or no DESC)"; fail=$((fail + 1)); continue
    fi
    log="$logdir/$name.log"
    if [ -n "$SKIP" ]; then
        echo "SKIP $name: $SKIP"
        skipped=$((skipped + 1))
        continue
    fi
    t0=$(date +%s%N)
    case "$RUNNER" in
    qemu) runner="$here/run-qemu.sh" ;;
    xen) runner="$here/run-xen.sh" ;;
    bochs) runner="$here/run-bochs.sh" ;;
    *) echo "FAIL $name: unknown RUNNER=$RUNNER"; fail=$((fail + 1)); continue ;;
    esac
    bash "$runner" --quiet --timeout "$TIMEOUT" --log "$log" "${RUN_ARGS[@]}" 2>/dev/null
    status=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    secs="$((ms / 1000)).$(((ms % 1000) / 100))"
    why=""
    [ "$status" = "$EXPECT_STATUS" ] || why="exit status $status, expected $EXPECT_STATUS"
    rest=$(tr -d '\r' <"$log")
    for m in "${EXPECT[@]}"; do
        [ -n "$why" ] && break
        case "$rest" in
        *"$m"*) rest=${rest#*"$m"} ;;
        *) why="missing (in order): $m" ;;
        esac
    done
    for m in "${REJECT[@]}"; do
        [ -z "$why" ] && grep -qF -- "$m" "$log" && why="unexpected: $m"
    done
    checked=""
    if [ -z "$why" ] && declare -F check_log >/dev/null; then
        tr -d '\r' <"$log" >"$log.clean"
        if checked=$(check_log "$log.clean" 2>&1); then :; else
            why="check_log: $(tail -n 1 <<<"$checked")"
        fi
        rm -f "$log.clean"
    fi
    if [ -z "$why" ]; then
        pass=$((pass + 1))
        printf 'PASS %-24s %5ss  %s\n' "$name" "$secs" "$DESC"
        for re in "${MEASURE[@]}"; do
            grep -aE -- "$re" "$log" | tr -d '\r' | sed 's/^/     measured: /'
        done
        [ -n "$checked" ] && sed 's/^/     measured: /' <<<"$checked"
    else
        fail=$((fail + 1))
        printf 'FAIL %-24s %5ss  %s\n     why: %s\n     log tail (%s):\n' "$name" "$secs" "$DESC" "$why" "$log"
        tail -n 25 "$log" | tr -d '\r' | sed 's/^/       | /'
        # where each domU got to (its last own lines) and what it called:
        # the tail alone is dom0's shutdown when a domU hangs
        for d in $(grep -aoE '^\(d[1-9][0-9]*\)' "$log" | sort -u | tr -d '()'); do
            echo "     last lines of $d:"
            grep -a "^($d) " "$log" | tail -n 3 | tr -d '\r' | sed 's/^/       | /'
        done
        grep -aE ' d[1-9][0-9]* hypercalls: ' "$log" | tr -d '\r' | cut -c1-240 | sed 's/^/       | /'
    fi
done
echo "scenarios: $pass passed, $fail failed$( [ "$skipped" -gt 0 ] && echo ", $skipped skipped (see the SKIP lines)")"
[ "$fail" = 0 ]
