import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFileInRoot } from '../rootless/read-in-root.js';

const dir = await mkdtemp(join(tmpdir(), 'burrow-read-in-root-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('readFileInRoot', () => {
  it('resolves symlinks with the tree as its root and never reads outside it', async () => {
    const root = join(dir, 'root');
    await mkdir(join(root, 'etc'), { recursive: true });
    await mkdir(join(root, 'alt'), { recursive: true });
    await writeFile(join(dir, 'host-passwd'), 'host\n');
    await writeFile(join(root, 'alt', 'passwd'), 'inside\n');
    await writeFile(join(root, 'etc', 'group'), 'group\n');
    // An absolute link means a path in the tree; `..` stops at the tree's root.
    await symlink('/alt/passwd', join(root, 'etc', 'passwd'));
    await symlink('../../../../host-passwd', join(root, 'etc', 'up'));
    await symlink(join(dir, 'host-passwd'), join(root, 'etc', 'abs'));
    await symlink(dir, join(root, 'outdir'));
    expect(await readFileInRoot(root, '/etc/passwd')).toBe('inside\n');
    expect(await readFileInRoot(root, '/etc/group')).toBe('group\n');
    expect(await readFileInRoot(root, '/etc/up')).toBe('');
    expect(await readFileInRoot(root, '/etc/abs')).toBe('');
    expect(await readFileInRoot(root, '/outdir/host-passwd')).toBe('');
    expect(await readFileInRoot(root, '/etc/missing')).toBe('');
    expect(await readFileInRoot(root, '/etc')).toBe('');
  });

  it('reads a file whole, an empty one as empty, and at most maxBytes of a bigger one', async () => {
    const root = join(dir, 'sizes');
    await mkdir(join(root, 'etc'), { recursive: true });
    const big = 'x'.repeat(70_000) + '\n';
    await writeFile(join(root, 'etc', 'big'), big);
    await writeFile(join(root, 'etc', 'empty'), '');
    expect(await readFileInRoot(root, '/etc/big')).toBe(big);
    expect(await readFileInRoot(root, '/etc/big', 10)).toBe('x'.repeat(10));
    expect(await readFileInRoot(root, '/etc/empty')).toBe('');
  });
});
