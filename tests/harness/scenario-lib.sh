# scenario-lib.sh - checks that scenario files share (sourced by
# scenarios.sh before each scenario, so check_log may call them).

# domu_beats_check LOG START [MAX_GAP]: boot-time domU d1 ran (from the
# first line matching regex START to "d1 destroyed") while the heartbeat
# dom0 ran: dom0 beat during that time and after it, never more than
# MAX_GAP ms apart (default 500; beats are 20 ms of PV-clock time apart:
# a much longer gap means dom0 was starved, with room for a loaded host).
domu_beats_check() {
    local log=$1 gap start end first last max=${3:-500}
    start=$(grep -n -- "$2" "$log" | head -1 | cut -d: -f1)
    end=$(grep -n "d1 destroyed" "$log" | head -1 | cut -d: -f1)
    first=$(awk -v s="$start" -v e="$end" 'NR > s && NR < e && /dom0: heartbeat/' "$log" | wc -l)
    last=$(awk -v e="$end" 'NR > e && /dom0: heartbeat/' "$log" | wc -l)
    echo "dom0 heartbeats: $first while d1 ran, $last after it"
    [ "$first" -ge 1 ] || { echo "no dom0 heartbeat while d1 ran"; return 1; }
    [ "$last" -ge 1 ] || { echo "no dom0 heartbeat after d1 was destroyed"; return 1; }
    gap=$(sed -n 's/.*dom0: heartbeat [0-9]*\/[0-9]* (\([0-9]*\) ms).*/\1/p' "$log" |
          awk 'NR > 1 && $1 - p > g { g = $1 - p } { p = $1 } END { print g + 0 }')
    echo "longest gap between dom0 heartbeats: $gap ms"
    [ "$gap" -le "$max" ] || { echo "dom0 heartbeats $gap ms apart, want <= $max"; return 1; }
}

# domu_frames_back_check LOG: every frame came back: free pages after d1's
# destroy = free before the boot-time domUs were built + the boot-module
# pages reclaimed after they were built.
domu_frames_back_check() {
    local log=$1 before reclaimed after
    before=$(sed -n 's/.*memory: \([0-9]*\) pages free before boot-time domUs.*/\1/p' "$log")
    reclaimed=$(sed -n 's/.*memory: \([0-9]*\) boot-module pages reclaimed.*/\1/p' "$log")
    after=$(sed -n 's/.*d1 destroyed: [0-9]* frames returned, \([0-9]*\) free.*/\1/p' "$log")
    echo "free pages: $before before the domU + $reclaimed reclaimed, $after after its destroy"
    [ -n "$before" ] && [ -n "$reclaimed" ] && [ -n "$after" ] || { echo "free-page lines missing"; return 1; }
    [ "$after" = $((before + reclaimed)) ] || { echo "free pages $after after destroy, want $((before + reclaimed))"; return 1; }
}

# attack_domu_check LOG: an attack guest (tests/guests/attack.c) as d1.
attack_domu_check() {
    domu_beats_check "$1" "attack: .* starting" && domu_frames_back_check "$1"
}

# frames_back_check LOG (net_*.scn): once the domUs are gone nothing of
# theirs is left: the last domU destroy reports 0 grant mappings in use
# (netback unmapped every ring), and when dom0's shutdown starts the free
# count is the one after boot less exactly one frame: the maptrack frame
# the hypervisor gave dom0 at its first grant map (hv-owned, freed with
# dom0, so counted in "returned at shutdown").
frames_back_check() {
    local base ret fin before maps
    base=$(sed -n 's/.*boot-module pages reclaimed, \([0-9]*\) pages free.*/\1/p' "$1")
    ret=$(sed -n 's/.*memory: [0-9]* pages free (\([0-9]*\) returned at shutdown).*/\1/p' "$1")
    fin=$(sed -n 's/.*memory: \([0-9]*\) pages free (.*returned at shutdown).*/\1/p' "$1")
    maps=$(grep -E 'd[1-9][0-9]* destroyed: ' "$1" | tail -1 | sed -n 's/.* \([0-9]*\) grant mappings.*/\1/p')
    [ -n "$base" ] && [ -n "$ret" ] && [ -n "$fin" ] && [ -n "$maps" ] || { echo "free-page lines missing"; return 1; }
    before=$((fin - ret))
    echo "free pages: $base after boot, $before when dom0's shutdown began, $fin at the end; grant mappings after the last domU: $maps"
    [ "$maps" = 0 ] || { echo "$maps grant mappings left after the last domU"; return 1; }
    [ $((base - before)) = 1 ] || { echo "pages leaked: $before free at shutdown, want $base - 1 (dom0's maptrack frame)"; return 1; }
}
