/**
 * docker load of the legacy `docker save` layout (per-layer directories with the v1 `json`,
 * `VERSION` and `layer.tar`, a `repositories` file, no manifest.json), written here from the layers
 * of a test image; and dockerd's answer for a tar that holds no image at all.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { dockerCli, rawRequest, runProcess } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const source = bed.images.layers;

async function run(cmd: string, args: string[]): Promise<void> {
  const r = await runProcess(cmd, args);
  expect(r.code, r.stderr).toBe(0);
}

/** The legacy archive for `ref`'s layers, bottom first; returns its path and the v1 IDs. */
async function legacyArchive(ref: string, repo: string, tag: string): Promise<{ file: string; v1Ids: string[] }> {
  const work = await mkdtemp(join(bed.privateDir, 'legacy-'));
  const saved = join(work, 'saved');
  await mkdir(saved);
  const save = await docker(['save', '-o', join(work, 'saved.tar'), ref]);
  expect(save.code, save.stderr).toBe(0);
  await run('tar', ['-xf', join(work, 'saved.tar'), '-C', saved]);
  const [manifest] = JSON.parse(await readFile(join(saved, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
  const out = join(work, 'legacy');
  await mkdir(out);
  const v1Ids: string[] = [];
  for (const [i, layer] of manifest.Layers.entries()) {
    const id = createHash('sha256').update(`legacy layer ${i} of ${ref}`).digest('hex');
    const dir = join(out, id);
    await mkdir(dir);
    const v1 = {
      id,
      ...(i > 0 ? { parent: v1Ids[i - 1] } : {}),
      created: `2016-03-0${i + 1}T12:00:00.500000000Z`,
      container: 'c'.repeat(64),
      container_config: { Cmd: ['/bin/sh', '-c', `#(nop) legacy layer ${i} <&>`] },
      docker_version: '1.9.1',
      author: 'legacy author',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
      architecture: 'amd64',
      os: 'linux',
      Size: 0,
    };
    await writeFile(join(dir, 'json'), JSON.stringify(v1, null, 1));
    await writeFile(join(dir, 'VERSION'), '1.0');
    await copyFile(join(saved, layer), join(dir, 'layer.tar'));
    v1Ids.push(id);
  }
  await writeFile(join(out, 'repositories'), JSON.stringify({ [repo]: { [tag]: v1Ids[v1Ids.length - 1] } }));
  const file = join(work, 'legacy.tar');
  await run('tar', ['-cf', file, '-C', out, '.']);
  return { file, v1Ids };
}

describe('docker load of the legacy save layout', () => {
  it('loads every layer directory as an image chained to its parent, tags from repositories, and the image runs', async () => {
    expect((await docker(['pull', source.reference])).code).toBe(0);
    const { file } = await legacyArchive(source.reference, 'burrow-legacy/app', 'v1');
    const r = await docker(['load', '-i', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Loaded image: burrow-legacy/app:v1');

    const run = await docker(['run', '--rm', 'burrow-legacy/app:v1', 'sh', '-c', 'cat /etc/layer3 /data/keep; ls /data']);
    expect(run.stdout).toBe('l3\nkeep\nhardlink\nkeep\n');
    const [img] = JSON.parse((await docker(['image', 'inspect', 'burrow-legacy/app:v1'])).stdout) as { Id: string; Parent: string; Author: string; RootFS: { Layers: string[] }; Config: { Cmd: string[] } }[];
    expect(img.RootFS.Layers).toEqual(source.diffIds);
    expect(img.Author).toBe('legacy author');
    expect(img.Config.Cmd).toEqual(['sh']);
    // dockerd links each legacy image to the one below: history walks the chain with real IDs.
    expect(img.Parent).toMatch(/^sha256:[0-9a-f]{64}$/);
    const history = await docker(['history', '--no-trunc', '--format', '{{.ID}} {{.CreatedBy}}', 'burrow-legacy/app:v1']);
    const rows = history.stdout.trim().split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toBe(`${img.Id} /bin/sh -c #(nop) legacy layer 2 <&>`);
    expect(rows[1].startsWith(img.Parent)).toBe(true);
    expect(rows[2]).toMatch(/^sha256:[0-9a-f]{64} \/bin\/sh -c #\(nop\) legacy layer 0 <&>$/);

    // The config is derived deterministically: loading the same archive again gives the same image.
    const again = await docker(['load', '-i', file]);
    expect(again.code, again.stderr).toBe(0);
    const [same] = JSON.parse((await docker(['image', 'inspect', 'burrow-legacy/app:v1'])).stdout) as { Id: string }[];
    expect(same.Id).toBe(img.Id);
  });

  it('a tar that is no image fails as in dockerd: the missing repositories file, inside a 200 stream', async () => {
    const work = await mkdtemp(join(bed.privateDir, 'not-image-'));
    await writeFile(join(work, 'hello.txt'), 'not an image\n');
    const file = join(work, 'plain.tar');
    await run('tar', ['-cf', file, '-C', work, 'hello.txt']);
    const r = await docker(['load', '-i', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^open \/.+\/repositories: no such file or directory\n$/);

    const client = new Docker({ socketPath: bed.socket });
    const res = (await client.loadImage(Readable.from([await readFile(file)]))) as unknown as NodeJS.ReadableStream & { statusCode?: number };
    expect(res.statusCode).toBe(200);
    let body = '';
    for await (const chunk of res) body += chunk.toString();
    const message = JSON.parse(body.trim()) as { errorDetail: { message: string }; error: string };
    expect(message.errorDetail.message).toMatch(/^open \/.+\/repositories: no such file or directory$/);

    // An empty body is an empty archive to dockerd's (Go) tar reader: the same answer.
    const empty = await rawRequest(bed.socket, 'POST', '/v1.50/images/load?quiet=1', '', { 'Content-Type': 'application/x-tar' });
    expect(empty.status).toBe(200);
    expect((JSON.parse(empty.body.trim()) as { error: string }).error).toMatch(/^open \/.+\/repositories: no such file or directory$/);
  });
});
