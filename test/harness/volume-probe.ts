/**
 * Exercises the volume driver's mounting paths in-process, run by test/volumes.test.ts under
 * `unshare --user --map-auto --map-root-user --mount` — the same kind of namespace the daemon lives in.
 * Prints one JSON object of findings; leaves no mounts (the namespace dies with it).
 */
import { chmod, chown, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { EngineVolumeService } from '../../rootless/volumes/service.js';
import { isMountPoint } from '../../rootless/volumes/mounts.js';

async function main(dir: string): Promise<void> {
  const volumes = await EngineVolumeService.open(join(dir, 'volumes'), pino({ level: 'silent' }));
  const out: Record<string, unknown> = {};

  await volumes.create({ name: 'tmpvol', driverOpts: { type: 'tmpfs', o: 'size=1m' } });
  const tmpPath = await volumes.prepareForMount('tmpvol');
  out.tmpfsMounted = await isMountPoint(tmpPath);
  out.tmpfsSecondPrepareSamePath = (await volumes.prepareForMount('tmpvol')) === tmpPath;
  out.tmpfsOverflow = await writeFile(join(tmpPath, 'big'), Buffer.alloc(2 * 1024 * 1024)).then(() => 'written', (e: NodeJS.ErrnoException) => e.code);
  await volumes.remove('tmpvol', { force: false });
  out.tmpfsUnmountedOnRemove = !(await isMountPoint(tmpPath));

  const host = join(dir, 'host-dir');
  await mkdir(host);
  await writeFile(join(host, 'keep.txt'), 'precious');
  await volumes.create({ name: 'bindvol', driverOpts: { type: 'none', o: 'bind', device: host } });
  const bindPath = await volumes.prepareForMount('bindvol');
  out.bindSeesHost = await readFile(join(bindPath, 'keep.txt'), 'utf8');
  await volumes.remove('bindvol', { force: false });
  // Removing a bind-style volume must never delete the host directory's content.
  out.hostDataAfterRemove = await readFile(join(host, 'keep.txt'), 'utf8');
  out.missingDevice = await volumes.create({ name: 'nodev', driverOpts: { type: 'none', o: 'bind', device: join(dir, 'nope') } }).then(() => 'created', (e: Error) => e.message);

  const image = join(dir, 'image-content');
  await mkdir(join(image, 'sub'), { recursive: true });
  await writeFile(join(image, 'sub', 'f'), 'from image');
  await chown(join(image, 'sub', 'f'), 1000, 1000);
  await chmod(image, 0o750);
  await volumes.create({ name: 'copyvol' });
  out.copied = await volumes.copyUp('copyvol', dir, '/image-content');
  const copyPath = await volumes.prepareForMount('copyvol');
  const f = await stat(join(copyPath, 'sub', 'f'));
  out.copiedOwner = `${f.uid}:${f.gid}`;
  out.copiedRootMode = ((await stat(copyPath)).mode & 0o777).toString(8);
  out.copiedAgainIntoNonEmpty = await volumes.copyUp('copyvol', dir, '/image-content');
  await volumes.chown('copyvol', 2000, 3000);
  const g = await stat(join(copyPath, 'sub', 'f'));
  out.chownedOwner = `${g.uid}:${g.gid}`;

  volumes.acquire('copyvol', 'c1');
  volumes.acquire('copyvol', 'c2');
  out.inUse = await volumes.remove('copyvol', { force: true }).then(() => 'removed', (e: Error & { statusCode?: number }) => `${e.statusCode} ${e.message}`);
  volumes.release('copyvol', 'c1');
  volumes.release('copyvol', 'c2');
  await volumes.remove('copyvol', { force: false });
  out.left = await readdir(join(dir, 'volumes'));
  process.stdout.write(JSON.stringify(out));
}

main(process.argv[2] ?? '').catch((err: unknown) => {
  process.stderr.write(String(err instanceof Error ? err.stack : err));
  process.exit(1);
});
