/**
 * Container records on disk: <dataRoot>/containers/<id>/container.json, each replaced atomically.
 * The in-memory map is the source of truth while the daemon runs; every change is written through.
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import { containerErrors } from '../../translate/errors.js';
import { warnOnly } from '../log.js';

const RECORD = 'container.json';

export class ContainerStore {
  private readonly records = new Map<string, ContainerRecord>();
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(readonly root: string) {}

  static async open(root: string): Promise<ContainerStore> {
    const store = new ContainerStore(root);
    await mkdir(root, { recursive: true, mode: 0o700 });
    for (const id of await readdir(root)) {
      try {
        const rec = JSON.parse(await readFile(join(root, id, RECORD), 'utf8')) as ContainerRecord;
        store.records.set(rec.id, rec);
      } catch {
        // A directory without a readable record is a create that died half-way: nothing refers to it.
        await rm(join(root, id), { recursive: true, force: true }).catch(warnOnly('could not remove a half-created container directory'));
      }
    }
    return store;
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  all(): ContainerRecord[] {
    return [...this.records.values()];
  }

  get(id: string): ContainerRecord | undefined {
    return this.records.get(id);
  }

  /** dockerd's lookup order: full ID, exact name, unique ID prefix. */
  find(ref: string): ContainerRecord {
    const byId = this.records.get(ref);
    if (byId) return byId;
    const name = ref.startsWith('/') ? ref : `/${ref}`;
    for (const r of this.records.values()) if (r.name === name) return r;
    if (/^[a-f0-9]+$/.test(ref)) {
      const matches = this.all().filter((r) => r.id.startsWith(ref));
      if (matches.length === 1 && matches[0]) return matches[0];
    }
    throw containerErrors.noSuchContainer(ref);
  }

  byName(name: string): ContainerRecord | undefined {
    for (const r of this.records.values()) if (r.name === name) return r;
    return undefined;
  }

  /** A new container's first write (create). */
  async add(rec: ContainerRecord): Promise<void> {
    this.records.set(rec.id, rec);
    await this.write(rec);
  }

  /**
   * Writes a change to a known container. A removed container stays removed: a late save (a health
   * result, the end of an operation that raced the removal) must not bring its record back.
   */
  async save(rec: ContainerRecord): Promise<void> {
    if (!this.records.has(rec.id)) return;
    await this.write(rec);
  }

  /** Writes are chained per container so an older snapshot never lands after a newer one. */
  private async write(rec: ContainerRecord): Promise<void> {
    const data = JSON.stringify(rec);
    const prev = this.writes.get(rec.id) ?? Promise.resolve();
    const next = prev.then(() => writeFileAtomic(join(this.dir(rec.id), RECORD), data));
    this.writes.set(rec.id, next.catch(() => undefined));
    await next;
  }

  async remove(id: string): Promise<void> {
    this.records.delete(id);
    await this.writes.get(id);
    this.writes.delete(id);
    await rm(this.dir(id), { recursive: true, force: true });
  }
}
