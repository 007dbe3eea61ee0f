# Shared by the scripts that build Go programs from source (install-compose-v2.sh,
# install-buildkit.sh, build-ryuk.sh, build-hub-agent.sh, build-spawner.sh): the root check, finding a Go toolchain, the cache layout, the
# build lock and installing a binary only when it changed. Source it after `set -euo pipefail` and
# after defining `say`.
#
# The caches (GOPATH, GOMODCACHE, GOCACHE, built binaries under bin/) live under one stable
# directory, BURROW_TOOLS_CACHE (default /var/cache/burrow-go), so a second run or a fresh clone on
# the same machine reuses modules, compiled packages and binaries.

GO_CACHE=${BURROW_TOOLS_CACHE:-/var/cache/burrow-go}

# require_root WHAT: these scripts write system directories.
require_root() {
  [ "$(id -u)" -eq 0 ] || { echo "$0: must run as root (it writes $1)" >&2; exit 1; }
}

# find_go MIN_MINOR [apt]: sets $go to a toolchain of Go 1.MIN_MINOR or later. With "apt", a
# machine without any Go gets Debian's golang-go first (1.19 on Debian 12).
find_go() {
  local min=$1 how=${2:-}
  go=$(command -v go || true)
  if [ -z "$go" ] && [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go; fi
  if [ -z "$go" ] && [ "$how" = apt ]; then
    say "no go toolchain found; installing Debian's golang-go"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends golang-go
    go=$(command -v go)
  fi
  [ -n "$go" ] || { echo "$0: no go toolchain found (Go 1.$min or later is needed)" >&2; exit 1; }
  local version minor
  version=$("$go" env GOVERSION)
  minor=$(printf '%s\n' "$version" | sed -n 's/^go1\.\([0-9][0-9]*\).*/\1/p')
  if [ -z "$minor" ] || [ "$minor" -lt "$min" ]; then
    echo "$0: $go is $version; Go 1.$min or later is needed" >&2
    exit 1
  fi
}

# go_lock NAME: one build at a time per script (test runs as root may overlap on a shared machine).
go_lock() {
  mkdir -p "$GO_CACHE"
  exec 9>"$GO_CACHE/.$1.lock"
  flock 9
}

# gorun ARGS...: the go command with every cache under $GO_CACHE, static (no cgo). GOTOOLCHAIN is
# local unless the caller sets it; GO_NICE=1 builds at nice 19; BURROW_GO_FLAGS passes GOFLAGS.
gorun() {
  local nice=()
  if [ "${GO_NICE:-0}" = 1 ]; then nice=(nice -n 19); fi
  env GOPATH="$GO_CACHE/gopath" GOMODCACHE="$GO_CACHE/mod" GOCACHE="$GO_CACHE/build" GOFLAGS="${BURROW_GO_FLAGS:-}" \
    CGO_ENABLED=0 GOTOOLCHAIN="${GOTOOLCHAIN:-local}" "${nice[@]}" "$go" "$@"
}

# module_dir MODULE VERSION: the module's source in the cache (`go install module@version` refuses
# modules with exclude directives, so those are built from inside their own directory).
module_dir() {
  local dir
  dir=$(cd / && gorun mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { echo "$0: go mod download gave no source dir for $1@$2" >&2; exit 1; }
  printf '%s\n' "$dir"
}

# install_bin FROM TO: installs world-executable, atomically, only when the bytes differ.
install_bin() {
  local from=$1 to=$2
  if cmp -s "$from" "$to" 2>/dev/null; then say "$to is up to date"; return; fi
  mkdir -p "$(dirname "$to")"
  chmod 755 "$(dirname "$to")"
  install -m 0755 "$from" "$to.tmp"
  mv -f "$to.tmp" "$to"
  say "installed $to"
}

# build_helper NAME SRC OUT OPTIONAL WITHOUT: builds one of the daemon's own Go helpers (the hub
# agent, the spawner: standard library, go.mod at 1.19 so Debian 12's golang-go builds them) into
# OUT in the checkout. The binary is cached under $GO_CACHE/bin, keyed by the sources and the
# toolchain, so an unchanged rebuild only compares bytes (`npm run build` runs it every time). With
# OPTIONAL=1 and no Go it only warns, WITHOUT saying what the daemon does then. Not install_bin:
# OUT's directory belongs to the checkout, whose modes are not these scripts' business.
build_helper() {
  local name=$1 src=$2 out=$3 optional=$4 without=$5
  if [ "$optional" = 1 ] && ! (find_go 19) 2>/dev/null; then
    say "WARNING: no Go toolchain (1.19 or later), $out not built; $without (sudo apt-get install golang-go, then $0)" >&2
    return 0
  fi
  find_go 19
  go_lock "build-$name"
  local key built
  key=$( (cd "$src" && sha256sum go.mod ./*.go && "$go" env GOVERSION GOARCH) | sha256sum | cut -c1-16)
  built=$GO_CACHE/bin/$name-$key/burrow-$name
  if [ ! -x "$built" ]; then
    say "building $src with $("$go" version)"
    mkdir -p "$(dirname "$built")"
    (cd "$src" && gorun vet . && gorun test -count=1 . && gorun build -trimpath -ldflags '-s -w' -o "$built.tmp" .)
    mv -f "$built.tmp" "$built"
  fi
  if ! cmp -s "$built" "$out" 2>/dev/null; then
    mkdir -p "$(dirname "$out")"
    install -m 0755 "$built" "$out.tmp"
    mv -f "$out.tmp" "$out"
    say "installed $out"
  fi
}
