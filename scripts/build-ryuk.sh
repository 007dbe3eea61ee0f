#!/usr/bin/env bash
# Builds the test suite's Ryuk reaper (test/fixtures/ryuk: testcontainers' reaper protocol, Go
# standard library only) as one static binary, which the tests package as the image
# testcontainers/ryuk and push to their loopback registry.
#
#   sudo scripts/build-ryuk.sh        build (once per source change) and install; later runs are instant
#
# The real reaper (github.com/testcontainers/moby-ryuk) is not served by the module proxy this
# machine reaches, so the tests use this one. Nothing is downloaded: the build needs only the Go
# toolchain. The compiled binary is cached under BURROW_TOOLS_CACHE (default /var/cache/burrow-go,
# shared with scripts/install-compose-v2.sh), keyed by the sources' hash, and installed world-readable
# at BURROW_RYUK_BINARY (default /usr/local/lib/burrow-tools/ryuk), where the test harness reads it.
set -euo pipefail
cd "$(dirname "$0")/.."

SRC=$PWD/test/fixtures/ryuk
TARGET=${BURROW_RYUK_BINARY:-/usr/local/lib/burrow-tools/ryuk}

say() { printf '%-10s %s\n' ryuk "$1"; }
. scripts/lib-go.sh

require_root "$TARGET"
find_go 23
go_lock build-ryuk

# The sources and the toolchain decide the binary: a change to either builds anew.
key=$( (cd "$SRC" && sha256sum go.mod ./*.go && "$go" env GOVERSION) | sha256sum | cut -c1-16)
built=$GO_CACHE/bin/ryuk-$key/ryuk
if [ -x "$built" ]; then
  say "already built ($built)"
else
  say "building $SRC with $("$go" version)"
  mkdir -p "$(dirname "$built")"
  # Its own unit tests (filter lines, config) first: a reaper that misreads the protocol fails here.
  (cd "$SRC" && gorun vet . && gorun test -count=1 .)
  # Static (no cgo): the image holds this one file and nothing else.
  (cd "$SRC" && gorun build -trimpath -ldflags '-s -w' -o "$built.tmp" .)
  mv -f "$built.tmp" "$built"
  say "built $built"
fi

install_bin "$built" "$TARGET"
