#!/usr/bin/env bash
# Builds the hub agent (slirp/hub-agent: published ports and the networks' DNS, Go standard library
# only) as one static binary next to the daemon's networking code, where the daemon looks for it.
#
#   scripts/build-hub-agent.sh [--optional] [OUT]    default OUT: dist/slirp/burrow-hub-agent
#
# `npm run build` runs it with --optional: without a Go toolchain it only warns (the daemon then
# refuses to set up networks and `burrow doctor` says how to fix it). Nothing is downloaded. The
# compiled binary is cached, keyed by the sources' hash and the toolchain, under BURROW_TOOLS_CACHE
# (default /var/cache/burrow-go as for the other Go builds, or ~/.cache/burrow-go where that is not
# writable), so a rebuild with unchanged sources only copies it.
set -euo pipefail
cd "$(dirname "$0")/.."

optional=
if [ "${1:-}" = --optional ]; then optional=1; shift; fi
SRC=$PWD/slirp/hub-agent
OUT=${1:-$PWD/dist/slirp/burrow-hub-agent}

say() { printf '%-10s %s\n' hub-agent "$1"; }

go=$(command -v go || true)
if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go; fi
if [ -z "$go" ]; then
  if [ -n "$optional" ]; then
    say "WARNING: no Go toolchain, $OUT not built; container networking needs it (sudo apt-get install golang-go, then $0)" >&2
    exit 0
  fi
  echo "$0: no Go toolchain found (sudo apt-get install golang-go)" >&2
  exit 1
fi

CACHE=${BURROW_TOOLS_CACHE:-/var/cache/burrow-go}
if ! { mkdir -p "$CACHE" 2>/dev/null && [ -w "$CACHE" ]; }; then
  CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/burrow-go
  mkdir -p "$CACHE"
fi
exec 9>"$CACHE/.build-hub-agent.lock"
flock 9

# The sources and the toolchain decide the binary: a change to either builds anew.
key=$( (cd "$SRC" && sha256sum go.mod ./*.go && "$go" env GOVERSION GOARCH) | sha256sum | cut -c1-16)
built=$CACHE/bin/hub-agent-$key/burrow-hub-agent
if [ ! -x "$built" ]; then
  say "building $SRC with $("$go" version)"
  mkdir -p "$(dirname "$built")"
  gorun() {
    (cd "$SRC" && env GOPATH="$CACHE/gopath" GOMODCACHE="$CACHE/mod" GOCACHE="$CACHE/build" GOFLAGS= \
      GOTOOLCHAIN=local CGO_ENABLED=0 "$go" "$@")
  }
  gorun vet .
  gorun test -count=1 .
  # Static (no cgo): it runs wherever the daemon does, whatever libc the host has.
  gorun build -trimpath -ldflags '-s -w' -o "$built.tmp" .
  mv -f "$built.tmp" "$built"
fi

if ! cmp -s "$built" "$OUT" 2>/dev/null; then
  mkdir -p "$(dirname "$OUT")"
  install -m 0755 "$built" "$OUT.tmp"
  mv -f "$OUT.tmp" "$OUT"
  say "installed $OUT"
fi
