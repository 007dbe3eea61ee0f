#!/bin/bash
# One-time, root-side preparation of a host for Burrow (the rootless Docker engine).
#
#   sudo scripts/setup-host.sh USER                   prepare the host and USER (idempotent)
#   sudo scripts/setup-host.sh --remove-cgroups USER  undo the cgroup delegation (only empty cgroups)
#
# Everything here is what an administrator of a shared server does once for a user who
# wants to run containers: packages, a user with subordinate ids, usable /dev/fuse and
# /dev/net/tun, and a cgroup subtree the user owns. Nothing is unmounted, no hierarchy is
# rearranged and no process is moved. One mount option changes: the cgroup2 mount gets
# favordynmods (Linux >= 6.0; BURROW_NO_FAVORDYNMODS=1 skips it), see "cgroup joins" below.
set -euo pipefail

PACKAGES=(uidmap crun runc conmon catatonit fuse-overlayfs slirp4netns passt docker-registry python3
  skopeo umoci busybox-static python3-docker docker-compose attr iptables iproute2 jq curl
  procps tmux zstd xz-utils bzip2 perl util-linux git openssl openssh-client)
CGROUP_ROOT=/sys/fs/cgroup
SUBID_COUNT=65536
FAILED=0

say() { printf '%-10s %s\n' "$1" "$2"; }
fail() { say "$1" "FAILED: $2" >&2; FAILED=1; }
usage() {
  echo "usage: $0 USER | $0 --remove-cgroups USER" >&2
  exit 2
}

[ $# -ge 1 ] || usage
MODE=setup
if [ "$1" = --remove-cgroups ]; then MODE=remove; shift; fi
[ $# -eq 1 ] || usage
U=$1
case $U in -*|*/*|'') usage ;; esac
[ "$(id -u)" -eq 0 ] || { echo "$0: must run as root (try: sudo $0 $U)" >&2; exit 1; }

# --- cgroup layout ------------------------------------------------------------------

cgroup_mode() {
  case $(stat -fc %T "$CGROUP_ROOT" 2>/dev/null) in
    cgroup2fs) echo v2 ;;
    *) if [ "$(stat -fc %T "$CGROUP_ROOT/unified" 2>/dev/null)" = cgroup2fs ]; then echo hybrid; else echo v1; fi ;;
  esac
}

# Mount points of every v1 hierarchy directly under $CGROUP_ROOT. mountinfo rather than a
# fixed list: crun and runc create the container cgroup in every mounted hierarchy and
# fail if any one of them lacks the user's subtree.
v1_hierarchies() {
  awk -v root="$CGROUP_ROOT/" '{
      for (i = 7; i <= NF; i++) if ($i == "-") break
      if ($(i + 1) == "cgroup" && index($5, root) == 1 && substr($5, length(root) + 1) !~ /\//) print $5
    }' /proc/self/mountinfo | sort -u
}

delegate_v1() {
  local h d
  for h in $(v1_hierarchies); do
    d=$h/$U
    if [ -d "$d" ]; then
      say cgroup "$d exists"
    else
      mkdir "$d"
      say cgroup "created $d"
    fi
    # The dir (to create container cgroups) and its control files (to set limits and
    # join tasks); v1 has no other notion of delegation. Not recursive: the cgroups below it are
    # the user's own, and may come and go while this runs.
    chown "$U:$G" "$d"
    find "$d" -maxdepth 1 -type f -exec chown "$U:$G" {} +
    if [ -f "$d/cpuset.cpus" ]; then
      # An empty cpuset refuses tasks; copy the parent's only when unset so a user's
      # narrower setting survives re-runs.
      [ -n "$(cat "$d/cpuset.cpus")" ] || { cat "$h/cpuset.cpus" >"$d/cpuset.cpus"; say cgroup "copied cpuset.cpus to $d"; }
      [ -n "$(cat "$d/cpuset.mems")" ] || { cat "$h/cpuset.mems" >"$d/cpuset.mems"; say cgroup "copied cpuset.mems to $d"; }
      echo 1 >"$d/cgroup.clone_children"
    fi
  done
}

# cgroup2 delegation as documented by the kernel: the directory plus the three files
# that let the owner manage its own subtree.
delegate_v2_dir() {
  local d=$1
  if [ -d "$d" ]; then say cgroup "$d exists"; else mkdir "$d"; say cgroup "created $d"; fi
  chown "$U:$G" "$d" "$d/cgroup.procs" "$d/cgroup.threads" "$d/cgroup.subtree_control"
}

delegate_v2() {
  local parent=$CGROUP_ROOT c enabled
  enabled=" $(cat "$parent/cgroup.subtree_control") "
  for c in $(cat "$parent/cgroup.controllers"); do
    case $c in cpu|cpuset|io|memory|pids|hugetlb) ;; *) continue ;; esac
    case $enabled in *" $c "*) continue ;; esac
    if echo "+$c" >"$parent/cgroup.subtree_control" 2>/dev/null; then
      say cgroup "enabled $c in $parent/cgroup.subtree_control"
    else
      say cgroup "could not enable $c in $parent/cgroup.subtree_control (skipped)"
    fi
  done
  delegate_v2_dir "$CGROUP_ROOT/$U"
  say cgroup "note: on cgroup v2 the engine must run inside $CGROUP_ROOT/$U (or the user's systemd user@.service) to move containers there"
}

remove_cgroups() {
  local dirs=() d left=0
  case $(cgroup_mode) in
    v2) dirs=("$CGROUP_ROOT/$U") ;;
    *) for d in $(v1_hierarchies); do dirs+=("$d/$U"); done; dirs+=("$CGROUP_ROOT/unified/$U") ;;
  esac
  for d in "${dirs[@]}"; do
    [ -d "$d" ] || { say cgroup "$d absent"; continue; }
    # rmdir refuses a cgroup that still has tasks or children, so busy subtrees stay.
    if find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null && [ ! -d "$d" ]; then
      say cgroup "removed $d"
    else
      say cgroup "kept $d: not empty (processes or cgroups left)" >&2
      left=1
    fi
  done
  return $left
}

if [ "$MODE" = remove ]; then
  remove_cgroups || exit 1
  exit 0
fi

# --- packages -------------------------------------------------------------------------

missing=()
# The hub agent (published ports, DNS; scripts/build-hub-agent.sh) is Go: any toolchain from 1.19
# (Debian 12's golang-go) builds it, so one already installed (e.g. /usr/local/go) is kept.
if ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ]; then PACKAGES+=(golang-go); fi
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  say packages "all ${#PACKAGES[@]} present"
else
  say packages "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- user and subordinate ids ---------------------------------------------------------

if id -u "$U" >/dev/null 2>&1; then
  say user "$U exists (uid $(id -u "$U"))"
else
  useradd --create-home --shell /bin/bash "$U"
  say user "created $U (uid $(id -u "$U"))"
fi
UID_N=$(id -u "$U")
G=$(id -gn "$U")

# $1 = /etc/subuid|/etc/subgid, $2 = usermod flag, $3 = login.defs minimum key
ensure_subids() {
  local file=$1 flag=$2 minkey=$3 have min start
  touch "$file"
  have=$(awk -F: -v u="$U" -v n="$UID_N" '($1 == u || $1 == n) && $3 > 0 { printf "%s%d-%d", s, $2, $2 + $3 - 1; s = "," }' "$file")
  if [ -n "$have" ]; then
    say subids "$file: $U has $have"
    return
  fi
  min=$(awk -v k="$minkey" '$1 == k { print $2 }' /etc/login.defs 2>/dev/null)
  # Place the new range after every existing one so it cannot overlap any user's.
  start=$(awk -F: -v m="${min:-100000}" '$1 !~ /^#/ && NF >= 3 && $2 + $3 > m { m = $2 + $3 } END { print m }' "$file")
  usermod "$flag" "$start-$((start + SUBID_COUNT - 1))" "$U"
  say subids "$file: gave $U $start-$((start + SUBID_COUNT - 1))"
}
ensure_subids /etc/subuid --add-subuids SUB_UID_MIN
ensure_subids /etc/subgid --add-subgids SUB_GID_MIN

# --- user namespaces ------------------------------------------------------------------

for s in kernel.unprivileged_userns_clone user.max_user_namespaces; do
  f=/proc/sys/${s//.//}
  [ -r "$f" ] || continue
  if [ "$(cat "$f")" = 0 ]; then
    v=1; [ "$s" = user.max_user_namespaces ] && v=65536
    sysctl -qw "$s=$v"
    say userns "set $s=$v (not persistent; add it to /etc/sysctl.d/ to keep it)"
  fi
done

for b in newuidmap newgidmap; do
  p=$(command -v "$b" || true)
  if [ -z "$p" ]; then
    fail idmap "$b not found (apt-get install uidmap)"
  elif [ -u "$p" ] && [ "$(stat -c %u "$p")" = 0 ]; then
    say idmap "$p is setuid root"
  elif [ -n "$(getcap "$p" 2>/dev/null)" ]; then
    say idmap "$p has file capabilities: $(getcap "$p" | cut -d' ' -f2-)"
  else
    fail idmap "$p is neither setuid root nor file-capable (fix: chmod u+s $p)"
  fi
done

# --- devices --------------------------------------------------------------------------

if [ ! -e /dev/net/tun ]; then
  mkdir -p /dev/net
  mknod /dev/net/tun c 10 200
  say devices "created /dev/net/tun"
fi
[ -e /dev/fuse ] || modprobe fuse 2>/dev/null || true
[ -e /dev/fuse ] || { mknod /dev/fuse c 10 229; say devices "created /dev/fuse"; }
# Root inside a user namespace gets no DAC override on root-owned nodes, so the
# user's own permission bits are what slirp4netns/pasta and fuse-overlayfs get.
for dev in /dev/fuse /dev/net/tun; do
  if [ "$(stat -c %a "$dev")" = 666 ]; then
    say devices "$dev already 0666"
  else
    chmod 0666 "$dev"
    say devices "chmod 0666 $dev (not persistent across reboots without a udev rule)"
  fi
done

# --- cgroups --------------------------------------------------------------------------

CG_MODE=$(cgroup_mode)
say cgroup "mode $CG_MODE"
case $CG_MODE in
  v2) delegate_v2 ;;
  hybrid) delegate_v1; delegate_v2_dir "$CGROUP_ROOT/unified/$U" ;;
  v1) delegate_v1 ;;
esac

# --- cgroup joins -----------------------------------------------------------------------
# Every container start and exec moves a process into its cgroups. The kernel's lock for that
# waits for an RCU grace period (5-20 ms) when no migration happened just before, which is the
# usual case for an interactive `docker exec`; favordynmods keeps the lock ready for writers at a
# small cost to every fork and exit. Not persistent across reboots: run this script again.
favor_dynmods() {
  local target
  target=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
  if [ -z "$target" ]; then say cgroup "no cgroup2 mount: favordynmods not applicable"; return; fi
  if awk -v t="$target" '$2 == t && $3 == "cgroup2"' /proc/mounts | grep -q favordynmods; then
    say cgroup "$target has favordynmods"
  elif [ -n "${BURROW_NO_FAVORDYNMODS:-}" ]; then
    say cgroup "left $target without favordynmods (BURROW_NO_FAVORDYNMODS)"
  elif mount -o remount,favordynmods "$target" 2>/dev/null; then
    say cgroup "remounted $target with favordynmods (cgroup joins do not wait for RCU)"
  else
    say cgroup "could not add favordynmods to $target (kernel before 6.0?): skipped"
  fi
}
favor_dynmods

# --- verification as the user ---------------------------------------------------------

as_user() {
  (cd / && setpriv --reuid="$U" --regid="$G" --init-groups \
    env -i HOME="$(getent passwd "$U" | cut -d: -f6)" PATH=/usr/local/bin:/usr/bin:/bin "$@")
}

if out=$(as_user unshare --user --map-auto --map-root-user --mount true 2>&1); then
  say verify "as $U: unshare --user --map-auto --map-root-user --mount true: ok"
else
  fail verify "as $U: unshare --user --map-auto --map-root-user --mount true: ${out:-failed}"
fi

case $CG_MODE in v2) probe=$CGROUP_ROOT/$U ;; *) probe=$(v1_hierarchies | head -n1)/$U ;; esac
if [ -d "$probe" ]; then
  if out=$(as_user sh -c 'mkdir "$1/.burrow-verify" && rmdir "$1/.burrow-verify"' sh "$probe" 2>&1); then
    say verify "as $U: can create cgroups under $probe: ok"
  else
    fail verify "as $U: cannot create cgroups under $probe: $out"
  fi
fi

if [ "$FAILED" -ne 0 ]; then
  echo "setup-host: finished with failures (see above)" >&2
  exit 1
fi
# The checkout's own launcher: `burrow` is not on PATH after a clone.
bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bin/burrow"
echo "setup-host: done. Next, as $U (after npm ci && npm run build in the checkout):"
echo "  $bin doctor     # checks this host for $U; every failure names its fix"
echo "  $bin daemon     # starts the engine; $bin install adds the docker context 'burrow'"
