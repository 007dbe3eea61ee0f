/**
 * A volume's subpath (`--mount type=volume,volume-subpath=…`) is content a container writes: a path
 * joined on the host could pass through a symlink a container made in the volume and have the runtime
 * mount a directory of the user's into the next container. So the subpath is resolved with the volume
 * as its root by the in-root helper, which binds what it found onto a pin point in the container's dir;
 * the runtime mounts the pin. Pins are needed only until the runtime has made the container's mounts
 * (its mount namespace keeps its own copy; the engine's namespace is private), so they are released
 * right after `crun create`, when a start fails, and at daemon start for a start a crash cut short.
 */
import { lstat, mkdir, readdir, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { notFound } from '../../translate/errors.js';
import { runTool } from '../exec.js';
import { inRootText } from '../in-root.js';

const pinsDir = (containerDir: string): string => join(containerDir, 'subpaths');

/** Binds `subpath` of the volume at `data` onto a fresh pin; returns the pin's host path. */
export async function pinSubpath(containerDir: string, index: number, data: string, subpath: string): Promise<string> {
  await mkdir(pinsDir(containerDir), { recursive: true, mode: 0o700 });
  const pin = join(pinsDir(containerDir), String(index));
  await releasePin(pin);
  await inRootText({ op: 'pin', source: data, subpath, pin }, () => notFound(`the subpath ${subpath} does not exist in the volume`));
  return pin;
}

/** Unmounts and removes one pin; never deletes recursively (it may still be a mount). */
async function releasePin(pin: string): Promise<void> {
  const st = await lstat(pin).catch(() => undefined);
  if (!st) return;
  await runTool('umount', ['-l', '--', pin], { allowFailure: true });
  if (st.isDirectory()) await rmdir(pin);
  else await unlink(pin);
}

/** Every pin of a container: after its runtime create, after a failed start, and at recovery. */
export async function releasePins(containerDir: string): Promise<void> {
  const names = await readdir(pinsDir(containerDir)).catch(() => [] as string[]);
  for (const name of names) await releasePin(join(pinsDir(containerDir), name));
}
