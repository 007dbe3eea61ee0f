#!/usr/bin/env bash
# `npm test` lands here after the build. As root (CI), it prepares the host and re-runs itself as an
# unprivileged test user: the daemon under test never runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

if [ "$(id -u)" = 0 ]; then
  user=${BURROW_TEST_USER:-burrow-test}
  bash scripts/setup-host.sh "$user"
  # The hub agent and the spawner again: on a fresh machine `npm run build` ran before setup-host.sh installed Go.
  bash scripts/build-hub-agent.sh
  bash scripts/build-spawner.sh
  # The clients the tests drive beyond Debian's packages: compose v2 (built from Go source once,
  # cached), docker-py 7 and testcontainers-python (a virtualenv from PyPI), and the Ryuk reaper
  # testcontainers starts (built from test/fixtures/ryuk, cached), and BuildKit with the buildx
  # plugin (built from Go source once, cached). All are no-ops when in place.
  bash scripts/install-compose-v2.sh
  bash scripts/install-python-clients.sh
  bash scripts/build-ryuk.sh
  bash scripts/install-buildkit.sh
  if ! setpriv --reuid="$user" --regid="$user" --init-groups test -r "$src/package.json" -a -x "$src/node_modules"; then
    # A checkout under a private home (e.g. /root) is unreadable to the test user: test a copy.
    copy=$(mktemp -d /tmp/burrow-src.XXXXXX)
    cp -a "$src/." "$copy/"
    chmod -R a+rX "$copy"
    chmod 755 "$copy"
    src=$copy
    echo "testing a readable copy of the checkout in $src"
  fi
  home=$(getent passwd "$user" | cut -d: -f6)
  cd /
  exec setpriv --reuid="$user" --regid="$user" --init-groups \
    env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin HOME="$home" USER="$user" LOGNAME="$user" \
    CI="${CI:-}" BURROW_LANE="${BURROW_LANE:-}" TERM="${TERM:-dumb}" LANG=C.UTF-8 \
    BURROW_FAULT_SEED="${BURROW_FAULT_SEED:-}" BURROW_FAULT_ROUNDS="${BURROW_FAULT_ROUNDS:-}" \
    BURROW_STRESS_SEED="${BURROW_STRESS_SEED:-}" BURROW_STRESS_SECONDS="${BURROW_STRESS_SECONDS:-}" \
    bash "$src/test/run.sh" "$@"
fi

# As the unprivileged user: a private XDG_RUNTIME_DIR when the login gave none.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d "/tmp/burrow-xdg-$(id -u).XXXXXX")
  export XDG_RUNTIME_DIR
  trap 'rm -rf "$XDG_RUNTIME_DIR"' EXIT
fi
cd "$src"
node_modules/.bin/vitest run --configLoader runner "$@"
