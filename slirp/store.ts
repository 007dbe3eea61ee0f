/** Crash-safe persistence under <dataRoot>/networks: one file per network, one per attached container. */
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../rootless/fs-atomic.js';
import type { ContainerNetRecord, NetworkRecord } from './types.js';
import { warnOnly } from '../rootless/log.js';

async function readJsonDir<T>(dir: string): Promise<T[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: T[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    // A half-written file cannot exist (atomic rename), but a hand-edited one may: skip it.
    const text = await readFile(join(dir, name), 'utf8').catch(() => '');
    try {
      out.push(JSON.parse(text) as T);
    } catch {
      continue;
    }
  }
  return out;
}

export class NetworkStore {
  private constructor(
    readonly dir: string,
    private readonly endpointDir: string,
  ) {}

  static async open(dir: string): Promise<NetworkStore> {
    const endpointDir = join(dir, 'endpoints');
    await mkdir(endpointDir, { recursive: true, mode: 0o700 });
    return new NetworkStore(dir, endpointDir);
  }

  loadNetworks(): Promise<NetworkRecord[]> {
    return readJsonDir<NetworkRecord>(this.dir);
  }

  saveNetwork(rec: NetworkRecord): Promise<void> {
    return writeFileAtomic(join(this.dir, `${rec.id}.json`), JSON.stringify(rec, null, 1));
  }

  async deleteNetwork(id: string): Promise<void> {
    await unlink(join(this.dir, `${id}.json`)).catch(warnOnly('could not remove a network record'));
  }

  loadContainers(): Promise<ContainerNetRecord[]> {
    return readJsonDir<ContainerNetRecord>(this.endpointDir);
  }

  saveContainer(rec: ContainerNetRecord): Promise<void> {
    return writeFileAtomic(join(this.endpointDir, `${rec.containerId}.json`), JSON.stringify(rec, null, 1));
  }

  async deleteContainer(id: string): Promise<void> {
    await unlink(join(this.endpointDir, `${id}.json`)).catch(warnOnly('could not remove an endpoint record'));
  }
}
