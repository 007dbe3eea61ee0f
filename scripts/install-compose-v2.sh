#!/usr/bin/env bash
# Builds Docker Compose v2 (today's `docker compose`) from its Go source at a pinned version and
# installs it as a docker CLI plugin, so the tests drive the compose people use now.
#
#   sudo scripts/install-compose-v2.sh        build (once) and install; later runs are instant
#
# The build goes through the Go module proxy, the only route to compose's source here. GOPATH,
# GOMODCACHE and GOCACHE live under one stable directory (BURROW_TOOLS_CACHE, default
# /var/cache/burrow-go) so a second run, or a fresh clone on the same machine, reuses the modules,
# the compiled packages and the binary itself. The binary goes to /usr/local/lib/docker/cli-plugins,
# one of the docker CLI's system-wide plugin directories, so every user's `docker` finds it.
set -euo pipefail

COMPOSE_MODULE=github.com/docker/compose/v5
# v5.7.x needs github.com/docker/secrets-engine, which the module proxy refuses to serve (403),
# so the newest buildable release is pinned.
COMPOSE_VERSION=v5.6.0
CACHE=${BURROW_TOOLS_CACHE:-/var/cache/burrow-go}
PLUGIN_DIR=${DOCKER_CLI_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}

say() { printf '%-10s %s\n' compose-v2 "$1"; }

[ "$(id -u)" -eq 0 ] || { echo "$0: must run as root (it writes $PLUGIN_DIR)" >&2; exit 1; }

go=$(command -v go || true)
if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go; fi
if [ -z "$go" ]; then
  say "no go toolchain found; installing Debian's golang-go"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends golang-go
  go=$(command -v go)
fi
# Go 1.21+ fetches the toolchain compose's go.mod asks for by itself (GOTOOLCHAIN=auto); an older
# one (Debian 12's golang-go is 1.19) cannot build it at all.
case $("$go" env GOVERSION) in
  go1.[0-9]|go1.[0-9].*|go1.1[0-9]|go1.1[0-9].*|go1.20|go1.20.*)
    echo "$0: $go is $("$go" env GOVERSION); compose needs Go 1.21 or later" >&2
    exit 1 ;;
esac

mkdir -p "$CACHE"
# Two test runs as root at once (developers share machines) build and install one at a time.
exec 9>"$CACHE/.install-compose.lock"
flock 9

# Every go command runs with the caches under $CACHE. A go.mod asking for a newer Go than the one
# installed makes the go command fetch that toolchain through the module proxy (GOTOOLCHAIN=auto);
# it is cached in GOMODCACHE too.
gorun() {
  env GOPATH="$CACHE/gopath" GOMODCACHE="$CACHE/mod" GOCACHE="$CACHE/build" GOFLAGS= \
    CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" "$go" "$@"
}

bin_dir=$CACHE/bin/compose-$COMPOSE_VERSION
built=$bin_dir/cmd
if [ -x "$built" ]; then
  say "$COMPOSE_VERSION already built ($built)"
else
  say "building $COMPOSE_MODULE $COMPOSE_VERSION with $("$go" version) (a cold build takes minutes)"
  mkdir -p "$bin_dir"
  start=$(date +%s)
  # `go install module/cmd@version` refuses compose: its go.mod has exclude directives, which only
  # apply to the main module. So fetch the module's source into the cache and build from inside it,
  # where its go.mod and go.sum are the main module's (the module cache is read-only; go build only
  # reads it). The version is stamped the way compose's Makefile does, for `docker compose version`.
  src=$(cd / && gorun mod download -json "$COMPOSE_MODULE@$COMPOSE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || { echo "$0: go mod download gave no source dir for $COMPOSE_MODULE@$COMPOSE_VERSION" >&2; exit 1; }
  (cd "$src" && gorun build -trimpath -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" -o "$built.tmp" ./cmd)
  mv -f "$built.tmp" "$built"
  say "built in $(($(date +%s) - start)) s"
fi

mkdir -p "$PLUGIN_DIR"
target=$PLUGIN_DIR/docker-compose
if cmp -s "$built" "$target" 2>/dev/null; then
  say "$target is $COMPOSE_VERSION"
else
  install -m 0755 "$built" "$target.tmp"
  mv -f "$target.tmp" "$target"
  say "installed $target"
fi

docker=$(command -v docker || true)
if [ -n "$docker" ]; then
  say "$("$docker" compose version)"
else
  say "note: no docker CLI on PATH; the plugin waits in $PLUGIN_DIR"
fi
