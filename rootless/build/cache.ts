/** The build cache: cache key → the image a step produced, kept in one JSON file next to the image store. */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../fs-atomic.js';

export class BuildCache {
  private entries: Record<string, string> = {};
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string) {}

  static async open(file: string): Promise<BuildCache> {
    const cache = new BuildCache(file);
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) if (typeof v === 'string') cache.entries[k] = v;
      }
    } catch {
      // No cache yet, or a damaged one: start empty, the cache is only an optimisation.
    }
    return cache;
  }

  get(key: string): string | undefined {
    return this.entries[key];
  }

  async set(key: string, imageId: string): Promise<void> {
    this.entries[key] = imageId;
    await this.persist();
  }

  /** The images the cache points at. */
  images(): Set<string> {
    return new Set(Object.values(this.entries));
  }

  /** Forgets entries whose image matches `drop`. */
  async forget(drop: (imageId: string) => boolean): Promise<void> {
    for (const [k, v] of Object.entries(this.entries)) if (drop(v)) delete this.entries[k];
    await this.persist();
  }

  private async persist(): Promise<void> {
    const data = JSON.stringify(this.entries);
    const next = this.writing.then(() => writeFileAtomic(this.file, data));
    this.writing = next.catch(() => undefined);
    await next;
  }
}
