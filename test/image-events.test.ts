/**
 * The image events dockerd sends for the operations that make images: `docker build -t` (classic
 * builder: one `tag` per name), `docker load` (one `load` per image, its ID as its name),
 * `docker import` (`tag`, then `import`) and `docker commit` (the image's `tag`, then the
 * container's `commit` with imageID/imageRef/comment, before its unpause).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { containerKit } from './harness/container-kit.js';
import { writeTar } from './harness/tar.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const { uniqueName, removeAll } = containerKit(docker);
const tag = (name: string): string => `burrow-imgev-${name}-${process.pid}:v1`;
let dir = '';

async function ok(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await docker(args, env ? { env } : {});
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

/** The events of `filters` from `since` until now, as "Type Action Actor.ID name=…" lines. */
async function eventsSince(since: number, filters: string[], format = '{{.Type}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "name"}}'): Promise<string[]> {
  const until = (Date.now() / 1000 + 0.2).toFixed(3);
  const out = await ok(['events', '--since', since.toFixed(3), '--until', until, ...filters.flatMap((f) => ['--filter', f]), '--format', format]);
  return out === '' ? [] : out.split('\n');
}

const imageId = (ref: string): Promise<string> => ok(['image', 'inspect', '--format', '{{.Id}}', ref]);

beforeAll(async () => {
  await ok(['pull', busybox]);
  dir = await mkdtemp(join(tmpdir(), 'burrow-imgev-'));
});

afterAll(async () => {
  await removeAll();
  for (const n of ['build', 'load', 'import', 'commit']) await docker(['rmi', '-f', tag(n)]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('image events', () => {
  it('a classic build with two names sends a tag event for each, naming the built image', async () => {
    await writeFile(join(dir, 'Dockerfile'), `FROM ${busybox}\nLABEL burrow.test=image-events\n`);
    const since = Date.now() / 1000;
    await ok(['build', '-t', tag('build'), '-t', `${tag('build')}-second`, dir], { DOCKER_BUILDKIT: '0' });
    const id = await imageId(tag('build'));
    await ok(['rmi', `${tag('build')}-second`]);
    const tags = (await eventsSince(since, ['type=image', 'event=tag'])).filter((l) => l.includes('burrow-imgev-build'));
    expect(tags).toEqual([`image tag ${id} ${tag('build')}`, `image tag ${id} ${tag('build')}-second`]);
  });

  it('docker load sends one load event per image, its ID as its name, and no tag event', async () => {
    await ok(['tag', busybox, tag('load')]);
    const id = await imageId(tag('load'));
    const archive = join(dir, 'load.tar');
    await ok(['save', '-o', archive, tag('load')]);
    await ok(['rmi', tag('load')]);
    const since = Date.now() / 1000;
    await ok(['load', '-i', archive]);
    expect(await eventsSince(since, ['type=image'])).toEqual([`image load ${id} ${id}`]);
  });

  it('docker import tags the new image, then sends import', async () => {
    const archive = join(dir, 'import.tar');
    await writeFile(archive, writeTar([{ type: 'file', name: 'hello.txt', content: 'imported\n' }]));
    const since = Date.now() / 1000;
    const id = await ok(['import', archive, tag('import')]);
    expect(await eventsSince(since, ['type=image'])).toEqual([`image tag ${id} ${tag('import')}`, `image import ${id} ${id}`]);
  });

  it('docker commit: the image tag event, then the container commit event before the unpause', async () => {
    const name = uniqueName('imgev-commit');
    await ok(['run', '-d', '--name', name, busybox, 'sleep', '300']);
    const since = Date.now() / 1000;
    const id = await ok(['commit', '-m', 'a note', name, tag('commit')]);
    const cid = await ok(['inspect', '--format', '{{.Id}}', name]);
    // No filter (different filter keys must all match): the container's and the image's events in their order.
    const all = await eventsSince(since, [], '{{.Type}} {{.Action}} {{.Actor.ID}} {{index .Actor.Attributes "imageID"}}|{{index .Actor.Attributes "imageRef"}}|{{index .Actor.Attributes "comment"}}|{{index .Actor.Attributes "name"}}');
    const lines = all.filter((l) => l.includes(cid) || l.includes(id));
    expect(lines).toEqual([
      'container pause ' + cid + ' |||' + name,
      `image tag ${id} |||${tag('commit')}`,
      `container commit ${cid} ${id}|${tag('commit')}|a note|${name}`,
      'container unpause ' + cid + ' |||' + name,
    ]);
  });
});
