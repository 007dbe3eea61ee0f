#!/usr/bin/env bash
# Installs the current Python clients (docker-py 7.x and testcontainers-python 4.x, pinned in
# scripts/python-clients.txt) from PyPI into a virtualenv every user can run, beside Debian's
# docker-py 5 in the system python.
#
#   sudo scripts/install-python-clients.sh     create or update the venv; a second run is instant
#
# The venv is made from Debian's /usr/bin/python3 (the python the test user's PATH finds), at
# BURROW_PY_VENV (default /opt/burrow-tools/venv), and run as `burrow-tools-python` (a wrapper in
# /usr/local/bin, so tests find it on PATH; a symlink would not do: python finds its venv from the
# path it was started by). A copy of the requirements kept inside it
# says what is installed, so an unchanged list costs one cmp.
set -euo pipefail
cd "$(dirname "$0")"

VENV=${BURROW_PY_VENV:-/opt/burrow-tools/venv}
REQS=$PWD/python-clients.txt
PY=/usr/bin/python3

say() { printf '%-10s %s\n' python "$1"; }

[ "$(id -u)" -eq 0 ] || { echo "$0: must run as root (it writes $VENV)" >&2; exit 1; }

mkdir -p "$(dirname "$VENV")"
# Two test runs as root at once would pip into one venv together: one at a time.
exec 9>"$(dirname "$VENV")/.install-python-clients.lock"
flock 9

WRAPPER=/usr/local/bin/burrow-tools-python
wrapper_text="#!/bin/sh
# Written by burrow's scripts/install-python-clients.sh: the python of its client virtualenv.
exec $VENV/bin/python \"\$@\"
"
if [ "$(cat "$WRAPPER" 2>/dev/null)" != "$(printf %s "$wrapper_text")" ]; then
  printf %s "$wrapper_text" >"$WRAPPER"
  chmod 0755 "$WRAPPER"
  say "wrote $WRAPPER"
fi

if cmp -s "$REQS" "$VENV/burrow-requirements.txt" && [ -x "$VENV/bin/python" ]; then
  say "$VENV is up to date ($(grep -v '^#' "$REQS" | paste -sd' '))"
  exit 0
fi

# Debian splits venv (and ensurepip) out of python3.
if ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then
  say "installing python3-venv"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends python3-venv
fi

[ -x "$VENV/bin/python" ] || { "$PY" -m venv "$VENV"; say "created $VENV"; }
# --no-deps with the full pinned list: what is installed is exactly the list.
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-virtualenv -r "$REQS"
cp "$REQS" "$VENV/burrow-requirements.txt"
chmod -R a+rX "$VENV"
say "installed into $VENV: $("$VENV/bin/python" -c 'import docker, importlib.metadata as m; print("docker-py", docker.__version__, "testcontainers", m.version("testcontainers"))')"
