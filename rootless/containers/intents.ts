/**
 * Durable markers of operations under way, one file each in the container's dir: written (fsynced)
 * before an operation's first step with a side effect outside the record, removed after its last.
 * A marker found at daemon start means the previous daemon died in the middle: recovery.ts finishes
 * or undoes the operation. Markers say *that* the engine was doing something, not how far it got;
 * recovery reads how far from the system itself (mounts, runtime state, freezer), so every step of
 * it may be repeated.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { removeFileDurably, writeFileAtomic } from '../fs-atomic.js';

export type Intent =
  /** A start (user's, restart policy's or `docker restart`'s) between its mount and the "running" record. */
  | 'starting'
  /** The engine itself froze the container (docker commit's pause), not the user. */
  | 'engine-frozen'
  /** A user's `docker pause` between the freeze and the record that says paused. */
  | 'pausing';

const file = (containerDir: string, intent: Intent): string => join(containerDir, `intent-${intent}`);

export async function markIntent(containerDir: string, intent: Intent): Promise<void> {
  await writeFileAtomic(file(containerDir, intent), JSON.stringify({ pid: process.pid, at: new Date().toISOString() }));
}

export async function clearIntent(containerDir: string, intent: Intent): Promise<void> {
  await removeFileDurably(file(containerDir, intent));
}

export function hasIntent(containerDir: string, intent: Intent): boolean {
  return existsSync(file(containerDir, intent));
}
