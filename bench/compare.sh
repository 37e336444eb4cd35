#!/bin/bash
# bench/compare.sh - performance target 4 of issue 4 in one run: agentrig's CPU
# per completed session against the floor (a raw lws client that decodes
# nothing), and its sessions per CPU-second and memory per open session
# against hand-written Node `ws` and Python `websockets` clients.
#
# Usage: bench/compare.sh [BUILD_DIR] [SESSIONS] [CONCURRENCY]
#        (defaults: build 3000 100; KEEP=1 keeps the raw outputs)
# Builds nothing: cmake --build BUILD --target refagent floor agentrig, and
# npm ci --prefix bench/peers once.
#
# Every client does the same flow (bench/README.md), one client after another,
# each run against a fresh refagent, each run under GNU time (CPU user+sys,
# peak RSS). Per client, four runs:
#   cpu    SESSIONS at CONCURRENCY open, refagent --think-ms 0 --deps inline:
#          CPU per completed session and sessions per CPU-second;
#   cpu1   SESSIONS_C1 (300) at 1 open, the same: the baseline for "memory
#          under load", (RSS cpu - RSS cpu1) / (C - 1);
#   held   HELD_CONC (1000) sessions all open at once against refagent with a
#          think time (HELD_THINK_MS, 100) and enough workers to run them all,
#          and held1 the same with one session: memory per open session,
#          (RSS held - RSS held1) / (HELD_CONC - 1), without the runtime's
#          baseline or the garbage of a full-speed run. 1000 rather than 100
#          because V8's heap grows in steps of megabytes: at 100 sessions the
#          difference is mostly that step (Node gave 18 to 74 KB per session).
# FLOW=light runs three short greeting turns (7 frames each, near the 5 frames
# a turn the issue's figures assume) instead of the default three analysis
# turns (about 17 frames each): BENCH_MESSAGES for the clients,
# scenarios/three_light_turns.yaml for agentrig.
# Exit 0 when every target is met (or agentrig has no bench mode yet: its
# rows are skipped), 1 when one is missed, 2 on a usage or setup error, 3
# when a client did not complete every session.
set -u
BUILD=${1:-build}
SESSIONS=${2:-3000}
CONC=${3:-100}
SESSIONS_C1=${SESSIONS_C1:-300}
HELD_THINK_MS=${HELD_THINK_MS:-100}
HELD_CONC=${HELD_CONC:-1000}
TIMEOUT_S=${TIMEOUT_S:-300}
. "$(dirname "$0")/bench_lib.sh"

FLOW=${FLOW:-analysis}
case "$FLOW" in
analysis) FLOW_SCENARIO=three_turns.yaml ;;
light)
    FLOW_SCENARIO=three_light_turns.yaml
    export BENCH_MESSAGES="Hello!|Hi again|Thanks, that is all"
    ;;
*) die 2 "FLOW must be analysis or light, not '$FLOW'" ;;
esac

for n in "$SESSIONS" "$CONC" "$HELD_CONC" "$SESSIONS_C1"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] ||
        die 2 "SESSIONS, CONCURRENCY, HELD_CONC and SESSIONS_C1 must be positive integers, not '$n'"
done
[ "$CONC" -ge 2 ] && [ "$HELD_CONC" -ge 2 ] ||
    die 2 "CONCURRENCY and HELD_CONC must be at least 2 (memory per session compares with 1)"
need_bin "$REFAGENT" refagent
need_bin "$FLOOR" floor
need_gnu_time
command -v node >/dev/null || die 2 "node not found (apt-get install nodejs)"
[ -d "$BENCH_DIR/peers/node_modules/ws" ] || die 2 "the Node client needs its package: npm ci --prefix bench/peers"
/usr/bin/python3 -c 'import websockets' 2>/dev/null ||
    die 2 "/usr/bin/python3 has no websockets module: apt-get install python3-websockets"
HAVE_BENCH=0
has_bench && HAVE_BENCH=1
raise_nofile $((HELD_CONC * 2 + 1024 > 4096 ? HELD_CONC * 2 + 1024 : 4096))

CLIENTS="floor node python"
[ $HAVE_BENCH = 1 ] && CLIENTS="$CLIENTS agentrig"

# run_client PHASE NAME SESSIONS CONC REFAGENT_ARGS...: one measured run against a
# fresh refagent; appends a row to $WORK/rows.
run_client() {
    local phase=$1 name=$2 s=$3 c=$4 tag="$2-$1"
    shift 4
    ra_start "$@"
    local common=(--url "$RA_URL" --sessions "$s" --concurrency "$c" --timeout-s "$TIMEOUT_S")
    case $name in
    floor) timed "$tag" "$FLOOR" "${common[@]}" ;;
    node) timed "$tag" node "$BENCH_DIR/peers/node_client.mjs" "${common[@]}" ;;
    python) timed "$tag" /usr/bin/python3 "$BENCH_DIR/peers/py_client.py" "${common[@]}" ;;
    agentrig)
        timed "$tag" timeout "$TIMEOUT_S" "$AGENTRIG" bench "$BENCH_DIR/scenarios/$FLOW_SCENARIO" \
            --target "$RA_URL" --vus "$c" --iterations "$s" --threads 1 --quiet -o "$WORK/$tag"
        ;;
    esac
    local sent completed frames
    sent=$(ra_stat events_sent)
    ra_stop
    if [ "$name" = agentrig ]; then
        local j="$WORK/$tag/bench.json"
        [ -f "$j" ] || die 3 "agentrig bench wrote no $j (exit $T_RC): $(tail -3 "$WORK/$tag.err")"
        completed=$(jq '.counters.sessions_completed' "$j")
        frames=$(jq '.counters.events | if type == "object" then (.total // ([.[] | numbers] | add)) else . end' "$j")
    else
        local line
        line=$(tail -1 "$WORK/$tag.out")
        completed=$(jq -r '.completed' <<<"$line" 2>/dev/null)
        frames=$(jq -r '.frames' <<<"$line" 2>/dev/null)
        [ -n "$completed" ] || die 3 "$name printed no result (exit $T_RC): $(tail -3 "$WORK/$tag.err")"
    fi
    if [ "$completed" != "$s" ]; then
        echo "warning: $name completed $completed of $s sessions at concurrency $c (exit $T_RC)" >&2
        FAILED=1
    fi
    echo "$phase $name $c $s $completed $frames $sent $T_WALL_S $T_CPU_S $T_RSS_KB" >>"$WORK/rows"
    printf '  %-8s %-5s C=%-4s %5s sessions %6.2f s wall %6.2f s CPU %7s KB peak\n' \
        "$name" "$phase" "$c" "$completed" "$T_WALL_S" "$T_CPU_S" "$T_RSS_KB"
}

FAILED=0
: >"$WORK/rows"
FAST=(--think-ms 0 --deps inline)
HELD=(--think-ms "$HELD_THINK_MS" --deps inline --workers 1024)
echo "machine   $(machine)"
echo "service   a fresh refagent --port 0 for each run, loopback"
echo "flow      connect, 3 turns (send user_message, read to the root agent_completed), close"
echo "cpu       $SESSIONS sessions at $CONC open, refagent ${FAST[*]}"
echo "          (and $SESSIONS_C1 at 1 open: the baseline of the peak-RSS-under-load figure)"
echo "held      $HELD_CONC sessions all open at once, refagent ${HELD[*]}"
echo "          (so a session lasts ~1.5 s and little garbage builds up), and 1 alone"
[ $HAVE_BENCH = 1 ] || echo "note      $(skip_bench_msg)"
echo
echo "runs:"
for name in $CLIENTS; do
    run_client cpu1 "$name" "$SESSIONS_C1" 1 "${FAST[@]}"
    run_client cpu "$name" "$SESSIONS" "$CONC" "${FAST[@]}"
    run_client held1 "$name" 1 1 "${HELD[@]}"
    run_client held "$name" "$HELD_CONC" "$HELD_CONC" "${HELD[@]}"
done
echo

# The table and the ratios, from the rows: phase name conc sessions completed
# frames sent wall cpu rss.
awk -v conc="$CONC" -v hconc="$HELD_CONC" -v have_bench=$HAVE_BENCH '
    $1 == "cpu1" { rss1[$2] = $10; next }
    $1 == "held1" { held1[$2] = $10; next }
    $1 == "held" { held[$2] = $10; next }
    {
        c = $2
        order[++n] = c; done[c] = $5; frames[c] = $6; sent[c] = $7
        wall[c] = $8; cpu[c] = $9; rss[c] = $10
    }
    END {
        printf "%-9s %9s %8s %9s %6s %6s %8s %8s %8s %8s %8s %8s %8s\n", "client", "completed",
               "fr/sess", "refagent", "wall s", "CPU s", "us/sess", "sess/CPUs", "RSS@" conc,
               "RSS@1", "KB/s", "held KB", "KB/open"
        for (i = 1; i <= n; i++) {
            c = order[i]
            us[c] = done[c] ? cpu[c] * 1e6 / done[c] : 0
            rate[c] = cpu[c] > 0 ? done[c] / cpu[c] : 0
            kb[c] = (rss[c] - rss1[c]) / (conc - 1)
            kbo[c] = (held[c] - held1[c]) / (hconc - 1)
            printf "%-9s %9d %8.1f %9s %6.2f %6.2f %8.0f %8.0f %8d %8d %8.1f %8d %8.1f\n", c,
                   done[c], done[c] ? frames[c] / done[c] : 0,
                   (frames[c] == sent[c] ? "= frames" : sent[c]), wall[c], cpu[c], us[c], rate[c],
                   rss[c], rss1[c], kb[c], held[c], kbo[c]
        }
        print ""
        print "fr/sess: frames per session; refagent: its events_sent in the run (\"= frames\" when it"
        print "equals the client'"'"'s count); us/sess: CPU us (user+sys) per completed session; sess/CPUs:"
        print "sessions per CPU-second; RSS in KB (GNU time'"'"'s peak). KB/s: (RSS@" conc " - RSS@1) / " conc - 1
        print "under full-speed load (includes garbage not yet collected); held KB: peak RSS with " hconc
        print "sessions held open at once; KB/open: (held KB - the same with 1 session) / " hconc - 1 ","
        print "memory per open session without the runtime'"'"'s baseline."
        print ""
        printf "for scale: Node %.2fx the floor'"'"'s CPU per session, Python %.2fx\n",
               us["node"] / us["floor"], us["python"] / us["floor"]
        if (!have_bench) exit 0
        missed = 0
        missed += report("agentrig CPU/session / floor", us["agentrig"] / us["floor"], "<=", 1.5)
        missed += report("agentrig sessions per CPU-s / Node", rate["agentrig"] / rate["node"], ">=", 1.5)
        missed += report("agentrig sessions per CPU-s / Python", rate["agentrig"] / rate["python"], ">=", 4)
        missed += report("agentrig KB/open session / Node", kbo["node"] > 0 ? kbo["agentrig"] / kbo["node"] : 99, "<=", 1 / 3)
        report("(under load: KB/s / Node, not a target)", kb["node"] > 0 ? kb["agentrig"] / kb["node"] : 99, "<=", 1 / 3)
        exit missed ? 1 : 0
    }
    function report(what, r, op, want,    ok) {
        ok = op == "<=" ? r <= want : r >= want
        printf "%-42s %6.2f  (target %s %.2f)  %s\n", what, r, op, want, ok ? "met" : "MISSED"
        return ok ? 0 : 1
    }
' "$WORK/rows"
verdict=$?
[ $HAVE_BENCH = 1 ] || echo "targets not evaluated: $(skip_bench_msg)"
[ $FAILED = 0 ] || exit 3
exit $verdict
