#!/bin/bash
# One-time, root-side preparation for `npm run bench`: the anchors (rootless Podman, rootless
# Docker) and the tools the workloads use. Burrow's own host setup stays in scripts/setup-host.sh,
# which this runs too, for the benchmark user (default burrow-test).
#
#   sudo bench/setup.sh [USER]
set -euo pipefail
U=${1:-burrow-test}
[ "$(id -u)" -eq 0 ] || { echo "$0: must run as root (try: sudo $0 $U)" >&2; exit 1; }
cd "$(dirname "$0")/.."

# podman: the rootless Podman anchor (its Docker-compatible service).
# docker.io: the rootless Docker anchor (dockerd + /usr/share/docker.io/contrib/dockerd-rootless.sh).
# rootlesskit: what dockerd-rootless.sh runs dockerd under. iperf3: published-port throughput.
BENCH_PACKAGES=(podman docker.io rootlesskit iperf3 slirp4netns uidmap crun catatonit busybox-static)
missing=()
for p in "${BENCH_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "bench packages present: ${BENCH_PACKAGES[*]}"
fi

# Installing docker.io enables a root dockerd (and podman a few units). The benchmark never talks
# to a root daemon; stop them so they don't eat CPU during the measurements.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  for unit in docker.service docker.socket containerd.service; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
  done
fi

# Burrow's own prerequisites (subuids, delegated cgroups, /dev/fuse, /dev/net/tun, ...).
bash scripts/setup-host.sh "$U"
