# scenario-lib.sh - checks that scenario files share (sourced by
# scenarios.sh before each scenario, so check_log may call them).

# attack_domu_check LOG: boot-time domU d1 attacked while the heartbeat
# dom0 ran. dom0 beat while d1 ran and after it was gone, never more than
# 500 ms apart, and every frame came back: free pages after d1's destroy
# = free before boot-time domUs + the boot-module pages reclaimed.
attack_domu_check() {
    local log=$1 gap before reclaimed after start end first last
    start=$(grep -n "attack: .* starting" "$log" | head -1 | cut -d: -f1)
    end=$(grep -n "d1 destroyed" "$log" | head -1 | cut -d: -f1)
    first=$(awk -v s="$start" -v e="$end" 'NR > s && NR < e && /dom0: heartbeat/' "$log" | wc -l)
    last=$(awk -v e="$end" 'NR > e && /dom0: heartbeat/' "$log" | wc -l)
    echo "dom0 heartbeats: $first during the attack, $last after it"
    [ "$first" -ge 1 ] || { echo "no dom0 heartbeat while the attacker ran"; return 1; }
    [ "$last" -ge 1 ] || { echo "no dom0 heartbeat after the attacker was destroyed"; return 1; }
    gap=$(sed -n 's/.*dom0: heartbeat [0-9]*\/[0-9]* (\([0-9]*\) ms).*/\1/p' "$log" |
          awk 'NR > 1 && $1 - p > g { g = $1 - p } { p = $1 } END { print g + 0 }')
    echo "longest gap between dom0 heartbeats: $gap ms"
    [ "$gap" -le 500 ] || { echo "dom0 heartbeats $gap ms apart, want <= 500"; return 1; }
    before=$(sed -n 's/.*memory: \([0-9]*\) pages free before boot-time domUs.*/\1/p' "$log")
    reclaimed=$(sed -n 's/.*memory: \([0-9]*\) boot-module pages reclaimed.*/\1/p' "$log")
    after=$(sed -n 's/.*d1 destroyed: [0-9]* frames returned, \([0-9]*\) free.*/\1/p' "$log")
    echo "free pages: $before before the domU + $reclaimed reclaimed, $after after its destroy"
    [ -n "$before" ] && [ -n "$reclaimed" ] && [ -n "$after" ] || { echo "free-page lines missing"; return 1; }
    [ "$after" = $((before + reclaimed)) ] || { echo "free pages $after after destroy, want $((before + reclaimed))"; return 1; }
}
