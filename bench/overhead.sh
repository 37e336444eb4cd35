#!/bin/bash
# bench/overhead.sh - performance target 3 of issue 4: at 500 sessions/s (open
# model), the p99 of agentrig's measurement overhead is at most 1 ms. The
# overhead of a turn is the latency agentrig measured for it minus the turn
# duration refagent stamped in its root agent_completed (duration_us):
# bench.json's metrics.harness_overhead.
#
# Usage: bench/overhead.sh [BUILD_DIR] [RATE] [DURATION]
#        (defaults: build 500 20s; KEEP=1 keeps the raw outputs)
# Builds nothing: cmake --build BUILD --target refagent agentrig.
# Exit 0 when the target is met, 1 when missed, 2 on a usage or setup error
# (and when agentrig has no bench mode yet), 3 when the run failed.
set -u
BUILD=${1:-build}
RATE=${2:-500}
DURATION=${3:-20s}
MAX_VUS=${MAX_VUS:-2000}
# BENCH_ARGS: extra agentrig bench options, e.g. BENCH_ARGS="--threads 1"
read -r -a EXTRA <<< "${BENCH_ARGS:-}"
TIMEOUT_S=${TIMEOUT_S:-180}
. "$(dirname "$0")/bench_lib.sh"

[[ "$RATE" =~ ^[1-9][0-9]*$ ]] || die 2 "RATE must be a positive integer (sessions/s), not '$RATE'"
need_bin "$REFAGENT" refagent
need_gnu_time
has_bench || die 2 "$(skip_bench_msg)"
raise_nofile $((MAX_VUS * 2 + 1024))
RA_ARGS=(--think-ms 0 --deps inline)

echo "machine   $(machine)"
echo "service   refagent --port 0 ${RA_ARGS[*]}, loopback"
ra_start "${RA_ARGS[@]}"
timed agentrig timeout "$TIMEOUT_S" "$AGENTRIG" bench "$BENCH_DIR/scenarios/three_turns.yaml" \
    --target "$RA_URL" --rate "$RATE/s" --duration "$DURATION" --max-vus "$MAX_VUS" --quiet "${EXTRA[@]}" \
    -o "$WORK/agentrig"
ra_stop
J="$WORK/agentrig/bench.json"
[ -f "$J" ] || die 3 "agentrig bench wrote no $J (exit $T_RC): $(tail -3 "$WORK/agentrig.err")"
echo "load      bench --rate $RATE/s --duration $DURATION --max-vus $MAX_VUS${EXTRA[*]:+ ${EXTRA[*]}} (exit $T_RC);" \
    "$T_CPU_S s CPU, peak RSS $T_RSS_KB KB"
jq -r '.counters | "sessions  started \(.sessions_started), completed \(.sessions_completed), failed \(.sessions_failed), dropped \(.dropped)"' "$J"
echo
printf '%-18s %8s %8s %8s %8s %8s %8s\n' metric count "p50 us" "p90 us" "p99 us" "max us" "avg us"
for m in harness_overhead turn_duration; do
    jq -r --arg m "$m" '.metrics[$m] | "\($m) \(.count) \(.p50_us) \(.p90_us) \(.p99_us) \(.max_us) \(.avg_us)"' "$J" |
        awk '{ printf "%-18s %8d %8.0f %8.0f %8.0f %8.0f %8.0f\n", $1, $2, $3, $4, $5, $6, $7 }'
done
echo
P99=$(jq '.metrics.harness_overhead.p99_us' "$J")
if awk -v p="$P99" 'BEGIN { exit !(p <= 1000) }'; then
    echo "target (harness_overhead p99 <= 1 ms): met"
    exit 0
fi
echo "target (harness_overhead p99 <= 1 ms): MISSED"
exit 1
