#!/bin/sh
# bench/proxy/run.sh - the fault proxy's added latency on loopback.
# Builds nothing: run `cmake --build BUILD --target pxbench refagent` first.
# Usage: bench/proxy/run.sh [BUILD_DIR] [N]   (defaults: build, 2000)
# Starts refagent's dependency server as the upstream, runs pxbench against
# it (N requests direct, N through the proxy), prints the figures and the
# machine, and exits with pxbench's status (0: target met).
set -eu
BUILD=${1:-build}
N=${2:-2000}
REFAGENT="$BUILD/refagent/refagent"
PXBENCH="$BUILD/bench/pxbench"
for bin in "$REFAGENT" "$PXBENCH"; do
    if [ ! -x "$bin" ]; then
        echo "run.sh: $bin not found; build it first (cmake --build $BUILD --target pxbench refagent)" >&2
        exit 2
    fi
done

OUT=$(mktemp)
"$REFAGENT" --port 0 >"$OUT" 2>/dev/null &
RA_PID=$!
trap 'kill "$RA_PID" 2>/dev/null; wait "$RA_PID" 2>/dev/null; rm -f "$OUT"' EXIT INT TERM
DEPS=""
i=0
while [ $i -lt 100 ]; do
    DEPS=$(sed -n 's/^deps \(http:[^ ]*\).*/\1/p' "$OUT")
    [ -n "$DEPS" ] && break
    sleep 0.05
    i=$((i + 1))
done
if [ -z "$DEPS" ]; then
    echo "run.sh: refagent did not print its deps URL" >&2
    exit 3
fi

echo "machine       $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "upstream      refagent deps server at $DEPS"
"$PXBENCH" --upstream "$DEPS" -n "$N"
