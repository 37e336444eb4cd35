# bench/bench_lib.sh - helpers shared by bench/compare.sh, concurrency.sh,
# events.sh and overhead.sh (sourced, not run): starting and stopping a
# loopback refagent, timing a command with GNU time, and knowing whether this
# agentrig has the `bench` mode yet. Callers set BUILD before sourcing.

REFAGENT=${REFAGENT:-$BUILD/refagent/refagent}
AGENTRIG=${AGENTRIG:-$BUILD/runners/agentrig}
FLOOR=${FLOOR:-$BUILD/bench/floor}
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/agentrig-bench.XXXXXX")
RA_PID=""

bench_cleanup() {
    ra_stop
    if [ -n "${KEEP:-}" ]; then
        echo "raw outputs kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "$(basename "$0"): $2" >&2
    exit "$1"
}

need_bin() {
    [ -x "$1" ] || die 2 "$1 not found; build it first: cmake --build $BUILD --target ${2:-$(basename "$1")}"
}

need_gnu_time() {
    /usr/bin/time -f '%e' -o /dev/null true 2>/dev/null ||
        die 2 "GNU time (/usr/bin/time) is needed for CPU and peak RSS: apt-get install time"
}

machine() {
    echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
        "$(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release 2>/dev/null);" \
        "load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
}

# ra_start ARGS...: a fresh refagent on loopback; sets RA_URL and RA_DEPS.
ra_start() {
    ra_stop
    local out="$WORK/refagent.out"
    : >"$out"
    "$REFAGENT" --port 0 "$@" >"$out" 2>>"$WORK/refagent.log" &
    RA_PID=$!
    local i
    for i in $(seq 200); do
        RA_URL=$(sed -n 's/^listening \(ws:[^ ]*\).*/\1/p' "$out")
        RA_DEPS=$(sed -n 's/^deps \(http:[^ ]*\).*/\1/p' "$out")
        [ -n "$RA_URL" ] && [ -n "$RA_DEPS" ] && return 0
        kill -0 "$RA_PID" 2>/dev/null || break
        sleep 0.05
    done
    die 3 "refagent did not start (log: $WORK/refagent.log)"
}

ra_stop() {
    if [ -n "$RA_PID" ]; then
        kill "$RA_PID" 2>/dev/null
        wait "$RA_PID" 2>/dev/null
        RA_PID=""
    fi
}

# ra_stat FIELD: a field of refagent's GET /stats (events_sent, turns_completed, connections).
ra_stat() {
    curl -s --max-time 5 "$RA_DEPS/stats" | jq -r ".$1"
}

# timed NAME CMD...: runs CMD under GNU time, stdout to $WORK/NAME.out, stderr to
# $WORK/NAME.err; sets T_RC, T_WALL_S, T_CPU_S (user + sys) and T_RSS_KB (peak).
timed() {
    local name=$1
    shift
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/$name.time" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    T_RC=$?
    read -r T_WALL_S T_USER_S T_SYS_S T_RSS_KB <"$WORK/$name.time" || true
    T_CPU_S=$(awk -v u="$T_USER_S" -v s="$T_SYS_S" 'BEGIN { printf "%.2f", u + s }')
}

# has_bench: this agentrig has the bench mode (issue 4).
has_bench() {
    [ -x "$AGENTRIG" ] && "$AGENTRIG" bench --help >/dev/null 2>&1
}

skip_bench_msg() {
    echo "agentrig rows skipped: '$AGENTRIG bench' is not available yet" \
        "(build the agentrig target once runners/bench.c exists)"
}

raise_nofile() {
    local want=$1
    local hard
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
        die 2 "needs $want open files but the hard limit is $hard: raise it (e.g. 'ulimit -Hn $want' as root, or nofile in /etc/security/limits.conf)"
    fi
    ulimit -n "$want"
}
