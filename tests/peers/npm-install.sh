#!/bin/sh
# Installs the npm packages of each peer named (tests/peers/<name>) from its
# package-lock.json, once: a peer whose node_modules was installed from the
# same lock file is left alone, so the three build flavours `make test` runs
# (plain, ASan, TSan) reach the npm registry once, not three times.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for peer in "$@"; do
    dir="$here/$peer"
    stamp="$dir/node_modules/.agentrig-installed-lock"
    if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then
        echo "npm-install: $peer is up to date"
        continue
    fi
    echo "npm-install: $peer: npm ci"
    npm ci --no-audit --no-fund --loglevel=error --prefix "$dir"
    cp "$dir/package-lock.json" "$stamp"
done
