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

optional=
if [ "${1:-}" = --optional ]; then optional=1; shift; fi
SRC=$PWD/slirp/hub-agent
OUT=${1:-$PWD/dist/slirp/burrow-hub-agent}

say() { printf '%-10s %s\n' hub-agent "$1"; }

if [ -z "${BURROW_TOOLS_CACHE:-}" ] && ! { mkdir -p /var/cache/burrow-go 2>/dev/null && [ -w /var/cache/burrow-go ]; }; then
  export BURROW_TOOLS_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/burrow-go
fi
# shellcheck source=lib-go.sh
. scripts/lib-go.sh

# go.mod says 1.19: Debian 12's golang-go builds it.
if [ -n "$optional" ] && ! (find_go 19) 2>/dev/null; then
  say "WARNING: no Go toolchain (1.19 or later), $OUT not built; container networks need it (sudo apt-get install golang-go, then $0)" >&2
  exit 0
fi
find_go 19
go_lock build-hub-agent

# The sources and the toolchain decide the binary: a change to either builds anew.
key=$( (cd "$SRC" && sha256sum go.mod ./*.go && "$go" env GOVERSION GOARCH) | sha256sum | cut -c1-16)
built=$GO_CACHE/bin/hub-agent-$key/burrow-hub-agent
if [ ! -x "$built" ]; then
  say "building $SRC with $("$go" version)"
  mkdir -p "$(dirname "$built")"
  (cd "$SRC" && gorun vet . && gorun test -count=1 . && gorun build -trimpath -ldflags '-s -w' -o "$built.tmp" .)
  mv -f "$built.tmp" "$built"
fi
# Quietly when nothing changed: `npm run build` runs this every time. (Not install_bin: OUT's
# directory belongs to the checkout, whose modes are not this script's business.)
if ! cmp -s "$built" "$OUT" 2>/dev/null; then
  mkdir -p "$(dirname "$OUT")"
  install -m 0755 "$built" "$OUT.tmp"
  mv -f "$OUT.tmp" "$OUT"
  say "installed $OUT"
fi
