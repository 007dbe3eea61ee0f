/** Content checksums of COPY/ADD sources for the cache key: names, types, modes, link targets and file bytes. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

async function fileHash(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function visit(root: string, rel: string, h: ReturnType<typeof createHash>): Promise<void> {
  const path = join(root, rel);
  const st = await lstat(path);
  const mode = (st.mode & 0o7777).toString(8);
  if (st.isSymbolicLink()) {
    h.update(`L ${rel} ${mode} ${await readlink(path)}\n`);
  } else if (st.isDirectory()) {
    h.update(`D ${rel} ${mode}\n`);
    for (const name of (await readdir(path)).sort()) await visit(root, rel === '' ? name : `${rel}/${name}`, h);
  } else if (st.isFile()) {
    h.update(`F ${rel} ${mode} ${st.size} ${await fileHash(path)}\n`);
  } else {
    h.update(`O ${rel} ${mode} ${st.rdev}\n`);
  }
}

/** One hex digest over every source (relative to `root`) in the given order. */
export async function sourcesChecksum(root: string, rels: readonly string[]): Promise<string> {
  const h = createHash('sha256');
  for (const rel of rels) await visit(root, rel, h);
  return h.digest('hex');
}
