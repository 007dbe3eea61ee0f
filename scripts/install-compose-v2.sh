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
PLUGIN_DIR=${DOCKER_CLI_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}

say() { printf '%-10s %s\n' compose-v2 "$1"; }

. "$(dirname "$0")/lib-go.sh"
require_root "$PLUGIN_DIR"
# Go 1.21+ fetches the toolchain compose's go.mod asks for by itself (GOTOOLCHAIN=auto below); an
# older one (Debian 12's golang-go is 1.19) cannot build it at all.
find_go 21 apt
go_lock install-compose
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

bin_dir=$GO_CACHE/bin/compose-$COMPOSE_VERSION
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
  src=$(module_dir "$COMPOSE_MODULE" "$COMPOSE_VERSION")
  (cd "$src" && gorun build -trimpath -ldflags "-s -w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION" -o "$built.tmp" ./cmd)
  mv -f "$built.tmp" "$built"
  say "built in $(($(date +%s) - start)) s"
fi

install_bin "$built" "$PLUGIN_DIR/docker-compose"

docker=$(command -v docker || true)
if [ -n "$docker" ]; then
  say "$("$docker" compose version)"
else
  say "note: no docker CLI on PATH; the plugin waits in $PLUGIN_DIR"
fi
