#!/bin/bash
# bench/events.sh - performance target 2 of issue 4: agentrig records at least
# 50,000 events/s with zero loss, loss meaning any difference between the
# events refagent says it sent and the events agentrig recorded.
#
# Usage: bench/events.sh [BUILD_DIR] [VUS] [DURATION]
#        (defaults: build 200 20s; KEEP=1 keeps the raw outputs)
# Builds nothing: cmake --build BUILD --target refagent floor agentrig.
#
# refagent streams every reasoning step as 20 token deltas (--thinking-deltas
# 20, about 318 frames per three-turn session) with no think time and its
# model and tools in-process, so the event rate is limited by the two
# processes' CPU, not by sleeping. refagent's count (GET /stats events_sent)
# is read right after the run, before it is stopped. For scale, bench/floor
# first runs the same flow at the same concurrency (nothing decoded): the
# events/s this machine gives a client that does no work. Exit 0 when the
# target is met (or agentrig has no bench mode yet: only the floor runs), 1
# when missed, 2 on a usage or setup error, 3 when a run failed.
set -u
BUILD=${1:-build}
VUS=${2:-200}
DURATION=${3:-20s}
FLOOR_SESSIONS=${FLOOR_SESSIONS:-3000}
TIMEOUT_S=${TIMEOUT_S:-180}
. "$(dirname "$0")/bench_lib.sh"

[[ "$VUS" =~ ^[1-9][0-9]*$ ]] || die 2 "VUS must be a positive integer, not '$VUS'"
need_bin "$REFAGENT" refagent
need_bin "$FLOOR" floor
need_gnu_time
raise_nofile $((VUS * 2 + 1024))
RA_ARGS=(--think-ms 0 --deps inline --thinking-deltas 20)

echo "machine   $(machine)"
echo "service   refagent --port 0 ${RA_ARGS[*]}, loopback"
echo

ra_start "${RA_ARGS[@]}"
timed floor "$FLOOR" --url "$RA_URL" --sessions "$FLOOR_SESSIONS" --concurrency "$VUS" --timeout-s "$TIMEOUT_S"
SENT=$(ra_stat events_sent)
ra_stop
[ "$T_RC" = 0 ] || die 3 "the floor did not complete its sessions: $(tail -1 "$WORK/floor.out")"
FRAMES=$(jq -r .frames "$WORK/floor.out")
WALL=$(jq -r .wall_s "$WORK/floor.out")
echo "floor     $FLOOR_SESSIONS sessions at $VUS open: $FRAMES frames in $WALL s =" \
    "$(awk -v f="$FRAMES" -v w="$WALL" 'BEGIN { printf "%.0f", f / w }') events/s;" \
    "refagent sent $SENT (difference $((SENT - FRAMES))); $T_CPU_S s CPU"

if ! has_bench; then
    echo
    echo "$(skip_bench_msg)"
    exit 0
fi
ra_start "${RA_ARGS[@]}"
timed agentrig timeout "$TIMEOUT_S" "$AGENTRIG" bench "$BENCH_DIR/scenarios/three_turns.yaml" \
    --target "$RA_URL" --vus "$VUS" --duration "$DURATION" --quiet -o "$WORK/agentrig"
SENT=$(ra_stat events_sent)
ra_stop
J="$WORK/agentrig/bench.json"
[ -f "$J" ] || die 3 "agentrig bench wrote no $J (exit $T_RC): $(tail -3 "$WORK/agentrig.err")"
EVENTS=$(jq '.counters.events | if type == "object" then (.total // ([.[] | numbers] | add)) else . end' "$J")
DUR=$(jq .duration_s "$J")
read -r started completed failed < <(jq -r '.counters | "\(.sessions_started) \(.sessions_completed) \(.sessions_failed)"' "$J")
RATE=$(awk -v e="$EVENTS" -v d="$DUR" 'BEGIN { printf "%.0f", e / d }')
echo "agentrig  bench --vus $VUS --duration $DURATION (exit $T_RC): $EVENTS events in $DUR s =" \
    "$RATE events/s; sessions started $started, completed $completed, failed $failed;" \
    "$T_CPU_S s CPU, peak RSS $T_RSS_KB KB"
echo "          refagent sent $SENT events: difference $((SENT - EVENTS))"
echo
verdict=0
if [ "$RATE" -ge 50000 ]; then
    echo "target (>= 50,000 events/s): met"
else
    echo "target (>= 50,000 events/s): MISSED"
    verdict=1
fi
if [ "$SENT" = "$EVENTS" ]; then
    echo "target (zero loss: events sent = events recorded): met"
else
    echo "target (zero loss: events sent = events recorded): MISSED ($((SENT - EVENTS)) not recorded)"
    verdict=1
fi
exit $verdict
