import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../fs-atomic.js';
import { rfc3339Seconds, type VolumeRecord } from '../../translate/volume-json.js';
import { volumeNameProblem } from '../../translate/volume-name.js';
import { mountPointsUnder } from './mounts.js';

const META = 'volume.json';
const DATA = '_data';
/** Valid names never start with ".", so trash entries can't collide with a volume. */
const TRASH_PREFIX = '.trash-';

function asStringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * The local driver's files: <root>/<name>/volume.json (written first, crash-safely) and
 * <root>/<name>/_data (the content). A directory with content but no readable metadata is kept as a
 * plain volume rather than lost; one with neither is a create that died halfway and is swept.
 */
export class VolumeStore {
  private readonly records = new Map<string, VolumeRecord>();

  private constructor(
    readonly root: string,
    private readonly logger: Logger,
  ) {}

  static async open(dir: string, logger: Logger): Promise<VolumeStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new VolumeStore(await realpath(dir), logger);
    await store.load();
    return store;
  }

  /** The volume's directory; refuses any name that could resolve outside root. */
  private dir(name: string): string {
    if (volumeNameProblem(name) !== undefined) throw new Error(`refusing unsafe volume name ${JSON.stringify(name)}`);
    return join(this.root, name);
  }

  dataPath(name: string): string {
    return join(this.dir(name), DATA);
  }

  get(name: string): VolumeRecord | undefined {
    return this.records.get(name);
  }

  list(): VolumeRecord[] {
    return [...this.records.values()].sort((a, b) => a.Name.localeCompare(b.Name));
  }

  async create(record: VolumeRecord): Promise<void> {
    const dir = this.dir(record.Name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, META), JSON.stringify(record, null, 2) + '\n');
    // 0755 like dockerd: processes under other container uids must reach the content.
    await mkdir(join(dir, DATA), { recursive: true, mode: 0o755 });
    this.records.set(record.Name, record);
  }

  /** Forgets the volume at once, then deletes its files; callers unmount first. */
  async remove(name: string): Promise<void> {
    const dir = this.dir(name);
    await this.assertNothingMounted(dir);
    // Not named after the volume: a name of NAME_MAX characters leaves no room for a prefix.
    const trash = join(this.root, `${TRASH_PREFIX}${process.pid}-${Date.now()}-${randomBytes(4).toString('hex')}`);
    await rename(dir, trash);
    this.records.delete(name);
    await rm(trash, { recursive: true, force: true });
  }

  /** Never let a recursive delete walk into a bound host directory. */
  private async assertNothingMounted(dir: string): Promise<void> {
    const mounted = await mountPointsUnder(dir);
    if (mounted.length > 0) throw new Error(`volume directory still has mounts: ${mounted.join(', ')}`);
  }

  private async load(): Promise<void> {
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      const path = join(this.root, entry.name);
      if (entry.name.startsWith(TRASH_PREFIX)) {
        // A remove interrupted by a crash: finish it, unless something is mounted there.
        if ((await mountPointsUnder(path)).length === 0) await rm(path, { recursive: true, force: true });
        continue;
      }
      if (!entry.isDirectory() || volumeNameProblem(entry.name) !== undefined) continue;
      const record = await this.readRecord(entry.name, path);
      if (record) this.records.set(record.Name, record);
    }
  }

  private async readRecord(name: string, dir: string): Promise<VolumeRecord | undefined> {
    const data = join(dir, DATA);
    const meta = await readFile(join(dir, META), 'utf8').then(
      (text) => JSON.parse(text) as Record<string, unknown>,
      () => undefined,
    );
    const dataEntries = await readdir(data).catch(() => undefined);
    if (!meta) {
      if (!dataEntries || dataEntries.length === 0) {
        this.logger.debug({ volume: name }, 'sweeping a volume whose create did not finish');
        if ((await mountPointsUnder(dir)).length === 0) await rm(dir, { recursive: true, force: true });
        return undefined;
      }
      this.logger.warn({ volume: name }, 'volume metadata missing or unreadable; keeping its data as a plain volume');
      const created = await stat(dir);
      const record: VolumeRecord = { Name: name, CreatedAt: rfc3339Seconds(created.mtime), Labels: {}, Options: {}, Anonymous: false };
      await writeFileAtomic(join(dir, META), JSON.stringify(record, null, 2) + '\n');
      return record;
    }
    if (!dataEntries) await mkdir(data, { recursive: true, mode: 0o755 });
    return {
      Name: name,
      // The engine hands out a Date: a time that doesn't parse is replaced like a missing one.
      CreatedAt: typeof meta.CreatedAt === 'string' && !Number.isNaN(Date.parse(meta.CreatedAt)) ? meta.CreatedAt : rfc3339Seconds(new Date()),
      Labels: asStringMap(meta.Labels),
      Options: asStringMap(meta.Options),
      Anonymous: meta.Anonymous === true,
    };
  }
}
