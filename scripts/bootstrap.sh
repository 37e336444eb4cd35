#!/bin/sh
# The README's commands: `sh scripts/bootstrap.sh demo` / `sh scripts/bootstrap.sh test`.
# Runs `make TARGET...` after making sure make itself is there, so a fresh
# Debian 12 machine (a minimal image: no make, no sudo, maybe empty apt lists)
# needs nothing but the clone. Everything else (compilers, -dev packages, Node
# for the test peers) is installed by `make`'s deps target, scripts/install-deps.sh.
# On a machine that has make this is exactly `make TARGET...`.
set -eu
cd "$(dirname "$0")/.."

if ! command -v make >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "bootstrap: make is missing; not root and no sudo: install make and run again" >&2
        exit 1
    fi
    echo "bootstrap: installing make"
    export DEBIAN_FRONTEND=noninteractive
    # A container image ships with empty package lists; install-deps.sh
    # updates them too, but make has to come first.
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends make
fi

[ $# -gt 0 ] || set -- demo
exec make "$@"
