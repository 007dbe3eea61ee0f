/**
 * The build context reader on the real filesystem: trees GNU tar packs (gnu, pax, ustar formats,
 * plain and gzip) come out identical to the source, the forms it does not model still go through
 * GNU tar, and hostile archives write nothing outside. Pure header decoding is checked too.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { receiveContext } from '../rootless/build/context.js';
import { compressionOf } from '../translate/compression.js';
import { memberPath, parseHeaderBlock, parsePaxRecords, TAR_BLOCK } from '../translate/tar-header.js';
import { writeTar } from './harness/tar.js';

const scratch: string[] = [];
afterAll(async () => {
  for (const d of scratch) await rm(d, { recursive: true, force: true });
});

async function tempDir(tag: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `burrow-ctx-${tag}-`));
  scratch.push(d);
  return d;
}

async function receive(body: Buffer | string): Promise<string> {
  const work = await tempDir('work');
  const stream = typeof body === 'string' ? createReadStream(body) : Readable.from([body]);
  return receiveContext(stream, work);
}

async function failure(body: Buffer): Promise<{ message: string; statusCode?: number }> {
  try {
    await receive(body);
  } catch (err) {
    return err as { message: string; statusCode?: number };
  }
  throw new Error('the context was accepted');
}

const LONG = `${'deep/'.repeat(25)}name-longer-than-one-hundred-bytes.txt`;

/** A source tree with every kind the reader handles: modes, times, long names, both link kinds. */
async function sourceTree(): Promise<string> {
  const src = await tempDir('src');
  await mkdir(join(src, 'private'), { mode: 0o700 });
  await writeFile(join(src, 'private', 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(src, 'private', 'run.sh'), 0o4751);
  await mkdir(join(src, LONG, '..'), { recursive: true });
  await writeFile(join(src, LONG), 'long name\n');
  await writeFile(join(src, 'big.bin'), Buffer.alloc(700_000, 7));
  await writeFile(join(src, 'empty'), '');
  await link(join(src, 'big.bin'), join(src, 'hard.bin'));
  await symlink('private/run.sh', join(src, 'link'));
  await symlink('/etc/passwd', join(src, 'abs-link'));
  await utimes(join(src, 'empty'), 1_600_000_000, 1_600_000_000);
  await utimes(join(src, 'private'), 1_500_000_000, 1_500_000_000);
  return src;
}

interface Node {
  mode: number;
  mtime: number;
  kind: string;
  body: string;
}

async function snapshot(root: string, rel = '', out = new Map<string, Node>()): Promise<Map<string, Node>> {
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const st = await lstat(join(root, path));
    const kind = st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file';
    const body = kind === 'link' ? await readlink(join(root, path)) : kind === 'file' ? (await readFile(join(root, path))).toString('base64').slice(0, 64) + st.size : '';
    // A link's own time is not kept by every unpacker; its target is what matters.
    out.set(path, { kind, body, mode: kind === 'link' ? 0 : st.mode & 0o7777, mtime: kind === 'link' ? 0 : Math.floor(st.mtimeMs / 1000) });
    if (kind === 'dir') await snapshot(root, path, out);
  }
  return out;
}

describe('tar header decoding', () => {
  it('reads names, pax records and the end marker, and reports what it does not model', () => {
    const tar = writeTar([
      { type: 'file', name: 'a/b.txt', content: 'x', mode: 0o640, mtime: 1234 },
      { type: 'fifo', name: 'pipe' },
    ]);
    const file = parseHeaderBlock(tar.subarray(0, TAR_BLOCK));
    expect(file).toMatchObject({ kind: 'file', name: 'a/b.txt', size: 1, mode: 0o640, mtime: 1234 });
    expect(parseHeaderBlock(tar.subarray(2 * TAR_BLOCK, 3 * TAR_BLOCK))).toMatchObject({ kind: 'unsupported', typeflag: '6' });
    expect(parseHeaderBlock(Buffer.alloc(TAR_BLOCK))).toEqual({ kind: 'end' });
    const damaged = Buffer.from(tar.subarray(0, TAR_BLOCK));
    damaged[0] ^= 1;
    expect(parseHeaderBlock(damaged)).toMatchObject({ kind: 'bad' });
    expect(parsePaxRecords(Buffer.from('19 path=some/where\n11 size=42\n'))).toEqual(new Map([['path', 'some/where'], ['size', '42']]));
    expect(parsePaxRecords(Buffer.from('99 path=x\n'))).toBeUndefined();
    expect(memberPath('./a/b/')).toBe('a/b');
    expect(memberPath('./')).toBe('');
    expect(memberPath('../x')).toBe('../x');
  });

  it('tells compressions apart by their first bytes, as dockerd does', () => {
    expect(compressionOf(gzipSync(Buffer.from('x')))).toBe('gzip');
    expect(compressionOf(Buffer.from('BZh91AY'))).toBe('bzip2');
    expect(compressionOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00]))).toBe('xz');
    expect(compressionOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04]))).toBe('zstd');
    expect(compressionOf(writeTar([{ type: 'file', name: 'a' }]))).toBe('none');
    expect(compressionOf(Buffer.from([0x1f]))).toBe('none');
  });
});

describe('receiving a build context', () => {
  for (const format of ['gnu', 'posix', 'ustar']) {
    it(`unpacks a GNU tar --format=${format} tree as it was, plain and gzipped`, async () => {
      const src = await sourceTree();
      const made = execFileSync('tar', ['-c', `--format=${format}`, '-f', '-', '-C', src, '.'], { maxBuffer: 64 * 1024 * 1024 });
      const want = await snapshot(src);
      for (const body of [made, gzipSync(made)]) {
        const dir = await receive(body);
        expect(await snapshot(dir)).toEqual(want);
        const big = await lstat(join(dir, 'big.bin'));
        expect((await lstat(join(dir, 'hard.bin'))).ino).toBe(big.ino);
      }
    });
  }

  it('still takes bzip2 and xz contexts and a sparse file through GNU tar', async () => {
    const src = await sourceTree();
    execFileSync('truncate', ['-s', '1M', join(src, 'sparse')]);
    // GNU tar run by an unprivileged user (as this suite is; the daemon is root in its namespace) drops setuid.
    await chmod(join(src, 'private', 'run.sh'), 0o751);
    const want = await snapshot(src);
    for (const flag of ['-j', '-J', '-S']) {
      const file = join(await tempDir('archive'), 'ctx.tar');
      execFileSync('tar', ['-c', flag, '-f', file, '-C', src, '.']);
      expect(await snapshot(await receive(file))).toEqual(want);
    }
  });

  it('refuses escaping names and hard links, and never writes through a link it made', async () => {
    const escaping = await failure(writeTar([{ type: 'file', name: 'ok' }, { type: 'file', name: 'a/../../evil', content: 'x' }]));
    expect(escaping.statusCode).toBe(400);
    expect(escaping.message).toContain('points outside the context');
    expect((await failure(writeTar([{ type: 'file', name: '/abs', content: 'x' }]))).message).toContain('outside the context');
    const hard = await failure(writeTar([{ type: 'hardlink', name: 'passwd', target: '../../../../etc/passwd' }]));
    expect(hard.message).toContain('points outside the context');

    const outside = await tempDir('outside');
    const dir = await receive(
      writeTar([
        { type: 'symlink', name: 'a', target: outside },
        { type: 'file', name: 'a/planted', content: 'x' },
        { type: 'symlink', name: 'b', target: outside },
        { type: 'symlink', name: 'b/planted-link', target: '/etc' },
      ]),
    ).catch(() => undefined);
    expect(await readdir(outside)).toEqual([]);
    if (dir) expect((await lstat(join(dir, 'a'))).isSymbolicLink()).toBe(false);
  });

  it('answers 400 for a body that is not a tar or a damaged gzip', async () => {
    const notTar = await failure(Buffer.from('this is not an archive at all'.repeat(40)));
    expect(notTar.statusCode).toBe(400);
    expect(notTar.message).toMatch(/^invalid build context/);
    const broken = gzipSync(writeTar([{ type: 'file', name: 'Dockerfile', content: 'FROM x\n' }]));
    const damaged = await failure(Buffer.concat([broken.subarray(0, 20), Buffer.alloc(40, 0xff)]));
    expect(damaged.statusCode).toBe(400);
    expect(damaged.message).toMatch(/^invalid build context/);
  });
});
