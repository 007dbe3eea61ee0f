#!/usr/bin/env bash
# Builds BuildKit (buildkitd, buildctl) and the docker-buildx CLI plugin from their Go modules at
# pinned versions, so Burrow can serve `docker buildx build` with a real BuildKit (README: BuildKit).
#
#   sudo scripts/install-buildkit.sh                  build (once) and install; later runs are instant
#   sudo scripts/install-buildkit.sh --system-plugin  also put buildx in the CLI's system plugin
#                                                     directory, so every user's `docker build` uses
#                                                     BuildKit, as with Docker's own packages
#
# Caches follow scripts/install-compose-v2.sh: GOPATH, GOMODCACHE and GOCACHE under
# BURROW_TOOLS_CACHE (default /var/cache/burrow-go), binaries keyed by version. The machine is
# shared: every build runs at nice 19 (BURROW_GO_FLAGS=-p=1 also makes it one package at a time,
# for a busy machine; CI's cold build wants both cores) and never fetches a Go toolchain
# (GOTOOLCHAIN=local: a version needing a newer Go is not pinned here).
#
# Installed to BURROW_TOOLS_DIR (default /usr/local/lib/burrow-tools):
#   buildkitd, buildctl                             the daemon finds buildkitd there (or on PATH)
#   cli-plugins/docker-buildx                       NOT in the docker CLI's system plugin directory:
#     with buildx installed the CLI turns every `docker build` into `docker buildx build`, which a
#     daemon without BuildKit cannot serve. A user (or a test) opts in with `cliPluginsExtraDirs`
#     in its docker config.json, or by copying it to ~/.docker/cli-plugins; an administrator
#     who wants dockerd's default for every user passes --system-plugin.
set -euo pipefail
case "${1:-}" in
  ''|--system-plugin) ;;
  *) echo "usage: $0 [--system-plugin]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

BUILDKIT_MODULE=github.com/moby/buildkit
BUILDKIT_VERSION=v0.34.2
BUILDX_MODULE=github.com/docker/buildx
BUILDX_VERSION=v0.38.2
TOOLS=${BURROW_TOOLS_DIR:-/usr/local/lib/burrow-tools}

say() { printf '%-10s %s\n' buildkit "$1"; }

. scripts/lib-go.sh
require_root "$TOOLS"
find_go 26
go_lock install-buildkit
GO_NICE=1

# build NAME BINARY-PATH SRC-DIR PACKAGE GO-BUILD-FLAGS...
build() {
  local name=$1 out=$2 src=$3 pkg=$4; shift 4
  if [ -x "$out" ]; then say "$name already built ($out)"; return; fi
  say "building $name with $("$go" version) (a cold build takes minutes)"
  mkdir -p "$(dirname "$out")"
  local start; start=$(date +%s)
  (cd "$src" && gorun build -trimpath "$@" -o "$out.tmp" "$pkg")
  mv -f "$out.tmp" "$out"
  say "built $name in $(($(date +%s) - start)) s"
}

bk_src=$(module_dir "$BUILDKIT_MODULE" "$BUILDKIT_VERSION")
bk_ld="-s -w -X $BUILDKIT_MODULE/version.Version=$BUILDKIT_VERSION -X $BUILDKIT_MODULE/version.Package=$BUILDKIT_MODULE"
bk_bin=$GO_CACHE/bin/buildkit-$BUILDKIT_VERSION
# buildkitd's own release tags; no seccomp (it would need cgo): rootless runs with
# --oci-worker-no-process-sandbox and crun applies each step's seccomp profile itself.
build buildkitd "$bk_bin/buildkitd" "$bk_src" ./cmd/buildkitd -tags 'osusergo netgo static_build' -ldflags "$bk_ld"
build buildctl "$bk_bin/buildctl" "$bk_src" ./cmd/buildctl -ldflags "$bk_ld"

bx_src=$(module_dir "$BUILDX_MODULE" "$BUILDX_VERSION")
bx_bin=$GO_CACHE/bin/buildx-$BUILDX_VERSION
build docker-buildx "$bx_bin/docker-buildx" "$bx_src" ./cmd/buildx \
  -ldflags "-s -w -X $BUILDX_MODULE/version.Version=$BUILDX_VERSION -X $BUILDX_MODULE/version.Package=$BUILDX_MODULE"

install_bin "$bk_bin/buildkitd" "$TOOLS/buildkitd"
install_bin "$bk_bin/buildctl" "$TOOLS/buildctl"
install_bin "$bx_bin/docker-buildx" "$TOOLS/cli-plugins/docker-buildx"
say "buildkitd $("$TOOLS/buildkitd" --version | cut -d' ' -f3), buildx $BUILDX_VERSION in $TOOLS"
if [ "${1:-}" = --system-plugin ]; then
  install_bin "$bx_bin/docker-buildx" "${DOCKER_CLI_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}/docker-buildx"
fi
