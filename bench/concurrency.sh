#!/bin/bash
# bench/concurrency.sh - performance target 1 of issue 4: agentrig holds 5,000
# concurrent multi-turn WebSocket sessions with a peak RSS of at most 64 MB
# (12 KB per open session).
#
# Usage: bench/concurrency.sh [BUILD_DIR] [VUS] [DURATION]
#        (defaults: build 5000 20s; KEEP=1 keeps the raw outputs)
# Builds nothing: cmake --build BUILD --target refagent floor agentrig.
#
# refagent runs with a think time and many workers (THINK_MS=200, WORKERS=1024)
# so that a turn takes about a second and every virtual user keeps its
# session open for most of the run. A sampler reads refagent's /stats twice a
# second, so the report says how many connections were really open at once,
# not only how many were asked for. For scale, bench/floor first holds the
# same number of sessions (one session each, nothing decoded). Exit 0 when
# the target is met (or agentrig has no bench mode yet: only the floor runs),
# 1 when missed, 2 on a usage or setup error, 3 when a run failed.
set -u
BUILD=${1:-build}
VUS=${2:-5000}
DURATION=${3:-20s}
THINK_MS=${THINK_MS:-200}
WORKERS=${WORKERS:-1024}
TIMEOUT_S=${TIMEOUT_S:-180}
. "$(dirname "$0")/bench_lib.sh"

[[ "$VUS" =~ ^[1-9][0-9]*$ ]] || die 2 "VUS must be a positive integer, not '$VUS'"
need_bin "$REFAGENT" refagent
need_bin "$FLOOR" floor
need_gnu_time
# Each session is one socket here and one in refagent (they inherit the limit),
# plus lws's and the runtime's own.
raise_nofile $((VUS * 2 + 1024))
RA_ARGS=(--think-ms "$THINK_MS" --workers "$WORKERS" --deps inline)

# sample_connections: the highest "connections" refagent reported, into $WORK/peak_conns.
sample_connections() {
    local peak=0 n
    while :; do
        n=$(ra_stat connections 2>/dev/null)
        [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt "$peak" ] && peak=$n && echo "$peak" >"$WORK/peak_conns"
        sleep 0.5
    done
}

# held NAME FN: a fresh refagent, then FN (which reads $RA_URL and calls timed)
# while sampling; sets PEAK_CONNS.
held() {
    local name=$1 fn=$2
    ra_start "${RA_ARGS[@]}"
    echo 0 >"$WORK/peak_conns"
    sample_connections &
    local sampler=$!
    "$fn" "$name"
    kill "$sampler" 2>/dev/null
    wait "$sampler" 2>/dev/null
    PEAK_CONNS=$(cat "$WORK/peak_conns")
    ra_stop
}

floor_one() { timed "$1" "$FLOOR" --url "$RA_URL" --sessions 1 --concurrency 1 --timeout-s "$TIMEOUT_S"; }
floor_all() { timed "$1" "$FLOOR" --url "$RA_URL" --sessions "$VUS" --concurrency "$VUS" --timeout-s "$TIMEOUT_S"; }
agentrig_one() {
    timed "$1" timeout "$TIMEOUT_S" "$AGENTRIG" bench "$BENCH_DIR/scenarios/three_turns.yaml" \
        --target "$RA_URL" --vus 1 --iterations 1 --threads 2 --quiet -o "$WORK/$1"
}
agentrig_all() {
    timed "$1" timeout "$TIMEOUT_S" "$AGENTRIG" bench "$BENCH_DIR/scenarios/three_turns.yaml" \
        --target "$RA_URL" --vus "$VUS" --duration "$DURATION" --threads 2 --quiet -o "$WORK/$1"
}

# per_session_kb PEAK_KB BASE_KB: (PEAK - BASE) / (VUS - 1), or PEAK / VUS for one VU.
per_session_kb() {
    awk -v p="$1" -v b="$2" -v n="$VUS" 'BEGIN { printf "%.1f", (n > 1 ? (p - b) / (n - 1) : p) }'
}

echo "machine   $(machine)"
echo "service   refagent --port 0 ${RA_ARGS[*]}, loopback; ulimit -n $(ulimit -n)"
echo "load      $VUS sessions open at once (refagent's /stats sampled every 0.5 s for the peak)"
echo

held floor1 floor_one
FLOOR_BASE_KB=$T_RSS_KB
held floor floor_all
[ "$T_RC" = 0 ] || die 3 "the floor did not complete its $VUS sessions: $(tail -1 "$WORK/floor.out")"
echo "floor     $VUS sessions at once, 1 each: peak RSS $T_RSS_KB KB ($((T_RSS_KB / 1024)) MB)," \
    "$(per_session_kb "$T_RSS_KB" "$FLOOR_BASE_KB") KB per open session above its" \
    "$FLOOR_BASE_KB KB baseline; refagent saw $PEAK_CONNS connections at once;" \
    "$T_CPU_S s CPU, $T_WALL_S s wall"

if ! has_bench; then
    echo
    echo "$(skip_bench_msg)"
    exit 0
fi
held agentrig1 agentrig_one
AG_BASE_KB=$T_RSS_KB
held agentrig agentrig_all
J="$WORK/agentrig/bench.json"
[ -f "$J" ] || die 3 "agentrig bench wrote no $J (exit $T_RC): $(tail -3 "$WORK/agentrig.err")"
read -r started completed failed < <(jq -r '.counters | "\(.sessions_started) \(.sessions_completed) \(.sessions_failed)"' "$J")
# Sessions still open 5 s after the duration are abandoned by agentrig (closed,
# neither completed nor failed): with a think time most sessions are mid-run.
echo "agentrig  bench --vus $VUS --duration $DURATION --threads 2 (exit $T_RC): sessions started" \
    "$started, completed $completed, failed $failed, abandoned at the end" \
    "$((started - completed - failed)); refagent saw $PEAK_CONNS connections at once;" \
    "$T_CPU_S s CPU, $T_WALL_S s wall"
echo "          peak RSS $T_RSS_KB KB ($((T_RSS_KB / 1024)) MB); $(awk -v p="$T_RSS_KB" -v n="$VUS" \
    'BEGIN { printf "%.1f", p / n }') KB per session including the baseline;" \
    "$(per_session_kb "$T_RSS_KB" "$AG_BASE_KB") KB per open session above the $AG_BASE_KB KB of 1 VU"
echo
verdict=0
if [ "$T_RSS_KB" -le $((64 * 1024)) ]; then
    echo "target (peak RSS <= 64 MB at $VUS sessions): met"
else
    echo "target (peak RSS <= 64 MB at $VUS sessions): MISSED"
    verdict=1
fi
if [ "$PEAK_CONNS" -lt "$VUS" ]; then
    echo "note: refagent never saw all $VUS connections open at once (peak $PEAK_CONNS)"
fi
[ "$failed" = 0 ] || verdict=3
exit $verdict
