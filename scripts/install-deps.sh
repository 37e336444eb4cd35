#!/bin/sh
# Installs the Debian 12 packages agentrig needs to build and test, and only
# the missing ones, so `make demo` / `make test` work on a fresh machine and
# cost nothing on a prepared one. Uses sudo when not root. make itself is
# installed by scripts/bootstrap.sh (the README's commands) before this runs.
# ca-certificates: installs are --no-install-recommends, and npm (the test
# peers' `npm ci`) and curl need it for HTTPS.
set -eu

PKGS="build-essential cmake pkg-config libcurl4-openssl-dev libwebsockets-dev libcjson-dev
libpcre2-dev libyaml-dev libcmocka-dev python3 python3-junitparser python3-websockets
libxml2-utils curl ca-certificates python3-jsonschema"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# The AG-UI peer (tests/peers/agui) runs on Node. Machines often have a newer
# Node than Debian's; only when there is none at all, install Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: not root and no sudo; install them and run again" >&2
    exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
