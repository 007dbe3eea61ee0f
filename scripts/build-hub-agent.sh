#!/usr/bin/env bash
# Builds the hub agent (slirp/hub-agent: published ports and the networks' DNS, Go standard library
# only) as one static binary next to the daemon's networking code, where the daemon looks for it.
#
#   scripts/build-hub-agent.sh [--optional] [OUT]    default OUT: dist/slirp/burrow-hub-agent
#
# `npm run build` runs it with --optional: without a Go toolchain it only warns (the daemon then
# refuses to set up container networks and `burrow doctor` says how to fix it). Nothing is
# downloaded. Any user may run it: the compiled binary is cached, keyed by the sources' hash and the
# toolchain, under BURROW_TOOLS_CACHE (default /var/cache/burrow-go as for the other Go builds, or
# ~/.cache/burrow-go where that is not writable), so a rebuild of unchanged sources only copies it.
set -euo pipefail
cd "$(dirname "$0")/.."

optional=0
if [ "${1:-}" = --optional ]; then optional=1; shift; fi
SRC=$PWD/slirp/hub-agent
OUT=${1:-$PWD/dist/slirp/burrow-hub-agent}

say() { printf '%-10s %s\n' hub-agent "$1"; }

if [ -z "${BURROW_TOOLS_CACHE:-}" ] && ! { mkdir -p /var/cache/burrow-go 2>/dev/null && [ -w /var/cache/burrow-go ]; }; then
  export BURROW_TOOLS_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/burrow-go
fi
# shellcheck source=lib-go.sh
. scripts/lib-go.sh

build_helper hub-agent "$SRC" "$OUT" "${optional:-0}" 'container networks need it'
