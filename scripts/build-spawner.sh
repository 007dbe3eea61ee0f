#!/usr/bin/env bash
# Builds the spawner (rootless/spawner: starts the daemon's short-lived tools so the big Node process
# never forks itself; Go standard library only) as one static binary next to the daemon's exec
# wrapper, where the daemon looks for it.
#
#   scripts/build-spawner.sh [--optional] [OUT]    default OUT: dist/rootless/burrow-spawner
#
# `npm run build` runs it with --optional: without a Go toolchain it only warns (the daemon then
# forks its tools itself, as before: slower under concurrent starts, nothing else). Nothing is
# downloaded. The binary is cached like the hub agent's (scripts/build-hub-agent.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

optional=0
if [ "${1:-}" = --optional ]; then optional=1; shift; fi
SRC=$PWD/rootless/spawner
OUT=${1:-$PWD/dist/rootless/burrow-spawner}

say() { printf '%-10s %s\n' spawner "$1"; }

if [ -z "${BURROW_TOOLS_CACHE:-}" ] && ! { mkdir -p /var/cache/burrow-go 2>/dev/null && [ -w /var/cache/burrow-go ]; }; then
  export BURROW_TOOLS_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/burrow-go
fi
# shellcheck source=lib-go.sh
. scripts/lib-go.sh

build_helper spawner "$SRC" "$OUT" "${optional:-0}" 'the daemon forks its tools itself'
