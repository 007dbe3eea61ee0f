/**
 * The floor for `docker run --rm busybox true`: `crun run` of the same busybox rootfs, as the same
 * user, inside `unshare --user --map-auto --map-root-user --mount` (one namespace for all runs, as an
 * engine's holder would be), with crun's hybrid-cgroup check satisfied by binding an empty file over
 * /sys/fs/cgroup/unified/cgroup.controllers in that private mount namespace (recipes §2).
 * Each run is timed in the shell around the crun process: fork + exec + create/start/wait/delete.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { summarize, type Sample } from './stats.js';
import { mustRun } from './proc.js';
import { removeTree } from './engines.js';

interface OciSpec {
  root?: { path: string; readonly?: boolean };
  process?: { args?: string[]; terminal?: boolean; env?: string[] };
  hostname?: string;
  mounts?: { destination: string }[];
  linux?: { namespaces?: { type: string }[] };
}

const SCRIPT = [
  'set -eu',
  'work=$1 n=$2',
  ': > "$work/empty"',
  'if [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || true)" ]; then',
  '  mount --bind "$work/empty" /sys/fs/cgroup/unified/cgroup.controllers',
  'fi',
  'mkdir -p "$work/bundle/rootfs" "$work/crun"',
  'tar -xzf "$work/layer.tar.gz" --numeric-owner -C "$work/bundle/rootfs"',
  'for i in $(seq "$n"); do',
  '  s=$EPOCHREALTIME',
  '  crun --root "$work/crun" run --bundle "$work/bundle" "floor$i" >/dev/null </dev/null',
  '  e=$EPOCHREALTIME',
  '  echo "${s/./} ${e/./}"',
  'done',
].join('\n');

export async function crunFloor(baseDir: string, layerGz: Buffer, runs: number, warmup: number): Promise<Sample> {
  const work = await mkdtemp(join(baseDir, 'floor-'));
  try {
    await writeFile(join(work, 'layer.tar.gz'), layerGz);
    const specDir = join(work, 'spec');
    await mkdir(specDir);
    await mustRun('crun', ['spec'], { cwd: specDir });
    const spec = JSON.parse(await readFile(join(specDir, 'config.json'), 'utf8')) as OciSpec;
    spec.root = { path: join(work, 'bundle', 'rootfs'), readonly: false };
    spec.process = { ...spec.process, args: ['/bin/true'], terminal: false, env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] };
    spec.hostname = 'floor';
    // The namespace the runs happen in already maps the user's subordinate ids (as podman's pause
    // process and Burrow's holder do), so no user namespace of the container's own.
    spec.linux = { ...spec.linux, namespaces: (spec.linux?.namespaces ?? []).filter((n) => n.type !== 'user') };
    spec.mounts = (spec.mounts ?? []).filter((m) => m.destination !== '/sys/fs/cgroup');
    await mkdir(join(work, 'bundle'));
    await writeFile(join(work, 'bundle', 'config.json'), JSON.stringify(spec));
    const r = await mustRun('unshare', ['--user', '--map-auto', '--map-root-user', '--mount', 'bash', '-c', SCRIPT, 'floor', work, String(runs + warmup)], {
      timeoutMs: 300_000,
    });
    const times = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ').map(Number))
      .map(([s, e]) => (e - s) / 1000);
    return summarize(times.slice(warmup));
  } finally {
    await removeTree(work);
  }
}
