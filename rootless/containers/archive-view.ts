/**
 * The container's filesystem as `docker cp` sees it: dockerd mounts the container's volumes and binds
 * into its rootfs for an archive call, and so does this, in a view of its own. crun mounts them only in
 * the container's mount namespace, so the overlay's `merged` dir in the engine's namespace shows what
 * lies *under* them. A view is a fresh bind of `merged` with each volume and bind source bound onto
 * its destination (resolved in scope); the engine's mount namespace is private, so none of it shows on
 * `merged` or in the container, and all of it is unmounted when the call ends.
 *
 * Views live in a directory of their own, never under a container's dir: removing a container deletes
 * its dir recursively, which must never walk into a bind-mounted host directory.
 */
import { mkdir, mkdtemp, readdir, realpath, rmdir, stat, unlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Logger } from 'pino';
import { internal } from '../../translate/errors.js';
import { runTool, ToolError } from '../exec.js';
import { mountPointsUnder } from '../volumes/mounts.js';
import type { ArchiveMountSource } from './mount-plan.js';
import { resolveInScope } from './scoped-path.js';

export interface ArchiveView {
  /** The rootfs with the volumes and binds in place (host path). */
  root: string;
  /** Unmounts everything and removes the view; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Binds every entry (source, mount point, d|f, ro|rw, rbind|bind) in one process. The mount point was
 * resolved in scope by the caller; a container may still swap a directory for a symlink meanwhile, so
 * the shell enters the directory without following anything new (`cd -P`, then checks where it is)
 * and mounts onto "." (`-c`: no path is looked up again). A read-only bind is made read-only on a
 * private staging point first, then bound over, so the remount never touches the view itself.
 */
const BIND_SCRIPT = `
set -eu
merged=$1 root=$2 base=$3
shift 3
fail() { echo "$*" >&2; exit 1; }
if [ -n "$merged" ]; then mount --bind -- "$merged" "$root"; fi
n=0
while [ $# -ge 5 ]; do
  src=$1 dst=$2 kind=$3 mode=$4 bind=$5
  shift 5
  n=$((n + 1))
  if [ "$kind" = d ]; then dir=$dst; else dir=\${dst%/*}; fi
  case "$dst" in "$root"/?*) ;; *) fail "mount point $dst is not below the container's root" ;; esac
  [ -d "$dir" ] || [ -L "$dir" ] || mkdir -p -- "$dir"
  cd -P "$dir"
  [ "$(pwd -P)" = "$dir" ] || fail "mount point $dst changed while it was being mounted"
  target=.
  if [ "$kind" = f ]; then
    target=./\${dst##*/}
    [ ! -L "$target" ] || fail "mount point $dst is a symbolic link"
    [ -e "$target" ] || (set -C; : > "$target")
  fi
  if [ "$mode" = ro ]; then
    stage=$base/stage-$n
    if [ "$kind" = d ]; then mkdir -- "$stage"; else (set -C; : > "$stage"); fi
    mount "--$bind" -- "$src" "$stage"
    mount -o remount,bind,ro -- "$stage"
    mount -c "--$bind" -- "$stage" "$target"
    umount -R -- "$stage"
    if [ "$kind" = d ]; then rmdir -- "$stage"; else rm -f -- "$stage"; fi
  else
    mount -c "--$bind" -- "$src" "$target"
  fi
  cd /
done
`;

/** Unmounts each path given with everything below it; lazily when something still holds it. */
const UNMOUNT_SCRIPT = 'for p in "$@"; do umount -R -- "$p" 2>/dev/null || umount -R -l -- "$p" || true; done';

const depth = (p: string): number => p.split('/').filter((c) => c !== '').length;
const isUnder = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

export class ArchiveViews {
  private readonly swept: Promise<void>;

  /**
   * `dir`: where views are made. Views an engine left there when it died mid-call are cleared right
   * away: the namespace, and so their mounts, outlive the engine, and such a view would keep a stopped
   * container's old overlay alive.
   */
  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {
    this.swept = this.sweep();
  }

  async open(merged: string, mounts: readonly ArchiveMountSource[]): Promise<ArchiveView> {
    await this.swept;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Real paths throughout: the shell compares them with what `pwd -P` says.
    const base = await realpath(await mkdtemp(join(this.dir, 'view-')));
    const root = join(base, 'root');
    await mkdir(root, { mode: 0o700 });
    let closing: Promise<void> | undefined;
    const view: ArchiveView = { root, close: () => (closing ??= this.remove(base)) };
    try {
      await this.bindAll(merged, root, base, mounts);
    } catch (err) {
      await view.close();
      if (err instanceof ToolError) throw internal(`mounting the container's volumes failed: ${err.stderr.trim() || err.message}`);
      throw err;
    }
    return view;
  }

  /**
   * Parents before children, as the container got them. A mount inside another one is resolved only
   * once that one is in place (a symlink in the volume counts, as it does for crun), so each level of
   * nesting is one process; most containers have one level.
   */
  private async bindAll(merged: string, root: string, base: string, mounts: readonly ArchiveMountSource[]): Promise<void> {
    const ordered = mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i).map((x) => x.m);
    const levels: number[] = [];
    ordered.forEach((m, i) => {
      let level = 0;
      for (let j = 0; j < i; j++) {
        if (isUnder(m.destination, (ordered[j] as ArchiveMountSource).destination)) level = Math.max(level, (levels[j] as number) + 1);
      }
      levels.push(level);
    });
    const top = Math.max(0, ...levels);
    for (let level = 0; level <= top; level++) {
      const args: string[] = [];
      for (const [i, m] of ordered.entries()) {
        if (levels[i] !== level) continue;
        // Level 0 is resolved in `merged`, which the view shows unchanged until it is mounted.
        const point = level === 0 ? join(root, posix.relative(merged, await resolveInScope(merged, m.destination))) : await resolveInScope(root, m.destination);
        const kind = (await stat(m.source)).isDirectory() ? 'd' : 'f';
        args.push(m.source, point, kind, m.readOnly ? 'ro' : 'rw', m.recursive ? 'rbind' : 'bind');
      }
      await runTool('sh', ['-c', BIND_SCRIPT, 'burrow-archive-view', level === 0 ? merged : '', root, base, ...args]);
    }
  }

  /** Unmounts and removes one view. Only ever rmdir/unlink: nothing that could still be a mount is deleted recursively. */
  private async remove(base: string): Promise<void> {
    try {
      const mounted = (await mountPointsUnder(base)).filter((p, _i, all) => !all.some((q) => q !== p && isUnder(p, q)));
      if (mounted.length > 0) await runTool('sh', ['-c', UNMOUNT_SCRIPT, 'burrow-archive-view', ...mounted]);
      for (const name of await readdir(base)) {
        const path = join(base, name);
        if ((await stat(path)).isDirectory()) await rmdir(path);
        else await unlink(path);
      }
      await rmdir(base);
    } catch (err) {
      this.logger.warn({ err, view: base }, 'removing an archive view failed; it is left in place');
    }
  }

  /** Never rejects: remove() logs what it cannot clear. */
  private async sweep(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    for (const name of names) await this.remove(await realpath(join(this.dir, name)).catch(() => join(this.dir, name)));
  }
}
