import { randomBytes } from 'node:crypto';
import { access, constants, readdir, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Volume, VolumeCreateRequest, VolumePruneResult, VolumeService, VolumeUsage } from './interface.js';
import { conflict, invalidParameter, notFound, type EngineError } from '../../translate/errors.js';
import { parseVolumeDriverOpts, type VolumeBacking } from '../../translate/volume-opts.js';
import {
  isAnonymous,
  rfc3339Seconds,
  volumeListFilter,
  volumePruneFilter,
  type VolumeFilterView,
  type VolumeRecord,
} from '../../translate/volume-json.js';
import { ANONYMOUS_LABEL, invalidVolumeName } from '../../translate/volume-name.js';
import { inRootText } from '../in-root.js';
import { KeyedLock } from './keyed-lock.js';
import { isMountPoint, mountBacking, unmountAll } from './mounts.js';
import { chownTree } from './ownership.js';
import { VolumeRefs } from './refs.js';
import { VolumeStore } from './store.js';
import { contentSize } from './usage.js';

/** dockerd's volume events (`create`, `destroy`; containers report `mount`/`unmount` themselves). */
export type VolumeEventSink = (action: 'create' | 'destroy', name: string, attributes: Record<string, string>) => void;

const noSuchVolume = (name: string): EngineError => notFound(`get ${name}: no such volume`);

/** Options a container's mount request carries for a volume created on first use. */
export interface EnsureVolumeOptions {
  labels?: Record<string, string>;
  driverOpts?: Record<string, string>;
}

/** A host path the engine's user namespace can read and enter: rootless can't grant more than the user has. */
async function assertReadableDir(path: string): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw invalidParameter(`bind source path does not exist: ${path}`);
  if (!st.isDirectory()) throw invalidParameter(`bind source path is not a directory: ${path}`);
  await access(path, constants.R_OK | constants.X_OK).catch(() => {
    throw invalidParameter(`bind source path ${path} is not readable by the user running the rootless engine`);
  });
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidParameter(`invalid ${field}: not an object`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw invalidParameter(`invalid ${field}: value of ${JSON.stringify(k)} is not a string`);
    out[k] = v;
  }
  return out;
}

/**
 * The `local` volume driver for a rootless engine. The API side answers /volumes; the container side
 * (acquire/release/ensure/prepareForMount/copyUp/chown) is what container create/start/rm call.
 */
export class EngineVolumeService implements VolumeService {
  private readonly refs = new VolumeRefs();
  private readonly lock = new KeyedLock();
  private eventSink: VolumeEventSink | undefined;

  private constructor(
    private readonly store: VolumeStore,
    private readonly logger: Logger,
  ) {}

  static async open(root: string, logger: Logger): Promise<EngineVolumeService> {
    const child = logger.child({ component: 'volumes' });
    return new EngineVolumeService(await VolumeStore.open(root, child), child);
  }

  setEventSink(sink: VolumeEventSink): void {
    this.eventSink = sink;
  }

  // ---- API ----------------------------------------------------------------------------

  async create(request: VolumeCreateRequest): Promise<Volume> {
    const driver = request.driver ?? '';
    if (driver !== '' && driver !== 'local') throw notFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const labels = stringMap(request.labels, 'Labels');
    const opts = stringMap(request.driverOpts, 'DriverOpts');
    const name = request.name || randomBytes(32).toString('hex');
    return this.volume(await this.createOrGet(name, { labels, driverOpts: opts }, Object.prototype.hasOwnProperty.call(labels, ANONYMOUS_LABEL)));
  }

  async list(filters?: string): Promise<Volume[]> {
    const keep = volumeListFilter(filters);
    return this.views()
      .filter(keep)
      .map((v) => this.volume(v.record));
  }

  async inspect(name: string): Promise<Volume> {
    return this.volume(this.mustGet(name));
  }

  async remove(name: string, opts: { force: boolean }): Promise<void> {
    await this.lock.run(name, async () => {
      const record = this.store.get(name);
      if (!record) {
        if (opts.force) return;
        throw noSuchVolume(name);
      }
      // dockerd refuses a volume in use even with force; force only forgives a missing one.
      const users = this.refs.users(name);
      if (users.length > 0) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      await unmountAll(this.store.dataPath(name));
      await this.store.remove(name);
      this.logger.debug({ volume: name }, 'volume removed');
      this.eventSink?.('destroy', name, { driver: 'local' });
    });
  }

  async prune(filters: string | undefined, opts: { allByDefault: boolean }): Promise<VolumePruneResult> {
    const keep = volumePruneFilter(filters, opts.allByDefault);
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const view of this.views().filter(keep)) {
      const name = view.record.Name;
      // A bind-style volume's content stays on the host: nothing is reclaimed.
      const size = this.backing(view.record).kind === 'bind' ? 0 : await contentSize(this.store.dataPath(name));
      try {
        await this.remove(name, { force: false });
      } catch (err) {
        // Taken into use meanwhile, or not unmountable: dockerd skips such volumes too.
        this.logger.debug({ volume: name, err }, 'prune skipped a volume');
        continue;
      }
      deleted.push(name);
      reclaimed += size;
    }
    return { deleted, spaceReclaimed: reclaimed };
  }

  async diskUsage(): Promise<VolumeUsage[]> {
    const out: VolumeUsage[] = [];
    for (const { record } of this.views()) {
      const size = await contentSize(this.store.dataPath(record.Name));
      out.push({ ...this.volume(record), size, refCount: this.refs.users(record.Name).length });
    }
    return out;
  }

  // ---- containers ---------------------------------------------------------------------

  /** The volume, created on first use as dockerd does for `-v name:/path` (labels/opts apply only then). */
  async ensure(name: string, opts: EnsureVolumeOptions = {}): Promise<Volume> {
    return this.volume(await this.createOrGet(name, { labels: opts.labels ?? {}, driverOpts: opts.driverOpts ?? {} }, false));
  }

  /** A new volume with a generated name for an image VOLUME or `-v /path`; pruned by default, removed by `rm -v`. */
  async createAnonymous(): Promise<Volume> {
    const name = randomBytes(32).toString('hex');
    return this.volume(await this.createOrGet(name, { labels: { [ANONYMOUS_LABEL]: '' }, driverOpts: {} }, true));
  }

  /** Marks the volume used by a container; fails for a volume that doesn't exist. */
  acquire(name: string, containerId: string): void {
    this.mustGet(name);
    this.refs.acquire(name, containerId);
  }

  release(name: string, containerId: string): void {
    this.refs.release(name, containerId);
  }

  inUse(name: string): boolean {
    return this.refs.inUse(name);
  }

  /** Anonymous volumes are the ones `docker rm -v` removes. */
  isAnonymous(name: string): boolean {
    const record = this.store.get(name);
    return !!record && isAnonymous(record);
  }

  /** The host path to bind into a container; tmpfs and bind-style volumes are mounted on _data the first time. */
  async prepareForMount(name: string): Promise<string> {
    return this.lock.run(name, () => this.mountedData(name));
  }

  /**
   * Copies what the image has at the mount point into the volume, preserving owners, modes and xattrs,
   * but only into an empty volume (dockerd's copy-up rule). True when something was copied.
   */
  async copyUp(name: string, rootfs: string, destination: string): Promise<boolean> {
    return this.lock.run(name, async () => {
      const data = await this.mountedData(name);
      if ((await readdir(data)).length > 0) return false;
      // The image's content at the mount point, read inside the rootfs: an image (or a container) whose
      // path there is a symlink out of it copies from its own tree, never from the host's.
      const said = await inRootText({ op: 'copy-up', root: rootfs, path: destination, target: data }, () => notFound(`no rootfs at ${rootfs}`));
      return (JSON.parse(said) as { copied: boolean }).copied;
    });
  }

  /** The `:U` option: makes the volume's content owned by a container uid/gid. */
  async chown(name: string, uid: number, gid: number): Promise<void> {
    await this.lock.run(name, async () => chownTree(await this.mountedData(name), uid, gid));
  }

  // ---- internals ----------------------------------------------------------------------

  private mustGet(name: string): VolumeRecord {
    const record = this.store.get(name);
    if (!record) throw noSuchVolume(name);
    return record;
  }

  private views(): VolumeFilterView[] {
    return this.store.list().map((record) => ({ record, inUse: this.refs.inUse(record.Name) }));
  }

  private volume(record: VolumeRecord): Volume {
    return {
      name: record.Name,
      createdAt: new Date(record.CreatedAt),
      mountpoint: this.store.dataPath(record.Name),
      labels: { ...record.Labels },
      options: { ...record.Options },
    };
  }

  private backing(record: VolumeRecord): VolumeBacking {
    return parseVolumeDriverOpts(record.Options);
  }

  private async createOrGet(name: string, opts: { labels: Record<string, string>; driverOpts: Record<string, string> }, anonymous: boolean): Promise<VolumeRecord> {
    const refused = invalidVolumeName(name);
    if (refused) throw refused;
    return this.lock.run(name, async () => {
      const existing = this.store.get(name);
      if (existing) return existing;
      const backing = parseVolumeDriverOpts(opts.driverOpts);
      if (backing.kind === 'bind') await assertReadableDir(backing.device);
      const record: VolumeRecord = { Name: name, CreatedAt: rfc3339Seconds(new Date()), Labels: opts.labels, Options: opts.driverOpts, Anonymous: anonymous };
      await this.store.create(record);
      this.logger.debug({ volume: name, backing: backing.kind }, 'volume created');
      // Also for volumes a container creates on first use, as dockerd's volume service reports them.
      this.eventSink?.('create', name, { driver: 'local' });
      return record;
    });
  }

  /** Call with the volume's lock held. */
  private async mountedData(name: string): Promise<string> {
    const backing = this.backing(this.mustGet(name));
    const data = this.store.dataPath(name);
    if (backing.kind === 'directory' || (await isMountPoint(data))) return data;
    if (backing.kind === 'bind') await assertReadableDir(backing.device);
    await mountBacking(backing, data).catch((err: unknown) => {
      throw invalidParameter(`failed to mount local volume ${name}: ${err instanceof Error ? err.message : String(err)}`);
    });
    return data;
  }
}
