/**
 * What a start reads on the host side of a container's files: a volume's subpath (content that
 * containers write), the image's content copied into a new volume, and /etc/passwd for `:U`. An image
 * or a container that makes any of those a symlink out of its tree must not make the engine read or
 * mount a directory of the user's.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildContexts } from './harness/build-context.js';
import { dockerCli } from './harness/clients.js';
import { containerKit } from './harness/container-kit.js';
import { isolatedTestbed } from './harness/isolated.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const { uniqueName, removeAll, ok } = containerKit(docker);
const { context, cleanup } = buildContexts('burrow-escape-ctx');
const legacy = { DOCKER_BUILDKIT: '0' };
const HOST_FILE = 'host-only-secret';
let canary = '';
const volumes = new Set<string>();
const images = new Set<string>();

beforeAll(async () => {
  await ok(['pull', busybox]);
  canary = await mkdtemp(join(process.env.BURROW_TEST_SCRATCH ?? tmpdir(), 'burrow-canary-'));
  await writeFile(join(canary, HOST_FILE), 'HOST SECRET\n');
});

afterAll(async () => {
  await removeAll();
  for (const v of volumes) await docker(['volume', 'rm', '-f', v]);
  for (const i of images) await docker(['rmi', '-f', i]);
  await cleanup();
  if (canary) await rm(canary, { recursive: true, force: true });
});

describe('a start never follows a container-made symlink out of its tree', () => {
  it('a volume subpath that a container made a symlink to a host directory resolves inside the volume', async () => {
    const vol = uniqueName('subpath-vol');
    volumes.add(vol);
    const links = `mkdir -p /v/real && echo inside > /v/real/f && ln -s ${canary} /v/abs && ln -s ../../../../../..${canary} /v/rel && ln -s / /v/root`;
    await ok(['run', '--rm', '-v', `${vol}:/v`, busybox, 'sh', '-c', links]);
    // A plain subpath works as dockerd's does.
    expect(await ok(['run', '--rm', '--mount', `type=volume,src=${vol},dst=/x,volume-subpath=real`, busybox, 'cat', '/x/f'])).toBe('inside');
    for (const sub of ['abs', 'rel', `root${canary}`]) {
      const r = await docker(['run', '--rm', '--mount', `type=volume,src=${vol},dst=/x,volume-subpath=${sub}`, busybox, 'ls', '-A', '/x']);
      expect(r.stdout, sub).not.toContain(HOST_FILE);
    }
    // `root` leads to the volume's own root, never the host's.
    const own = await ok(['run', '--rm', '--mount', `type=volume,src=${vol},dst=/x,volume-subpath=root`, busybox, 'ls', '-A', '/x']);
    expect(own.split('\n').sort()).toEqual(['abs', 'real', 'rel', 'root']);
    expect(await readdir(canary)).toEqual([HOST_FILE]);
  });

  it("an image whose VOLUME path is a symlink to a host directory copies nothing of the host's into the new volume", async () => {
    const image = `escape-volume-${process.pid}`;
    images.add(image);
    // The same path exists in the image: there the symlink leads, and only its content is copied up.
    const dir = await context({ Dockerfile: `FROM ${busybox}\nRUN mkdir -p ${canary} && echo image > ${canary}/from-image && ln -s ${canary} /data\nVOLUME /data\n` });
    const built = await docker(['build', '-t', image, dir], { env: legacy });
    expect(built.code, built.stderr).toBe(0);
    const listed = await docker(['run', '--rm', image, 'sh', '-c', 'ls -A /data/; cat /data/* 2>&1; true']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toContain(HOST_FILE);
    expect(listed.stdout).not.toContain('HOST SECRET');
    expect(listed.stdout.trim()).toBe('from-image\nimage');
    expect(await readdir(canary)).toEqual([HOST_FILE]);
  });

  it("':U' looks the user up in the container's own /etc/passwd, never through a symlink to the host's", async () => {
    const image = `escape-passwd-${process.pid}`;
    images.add(image);
    const dir = await context({ Dockerfile: `FROM ${busybox}\nRUN rm -f /etc/passwd && ln -s /etc/host-passwd /etc/passwd && echo 'app:x:4321:4321::/:/bin/sh' > /etc/host-passwd\nUSER app\n` });
    const built = await docker(['build', '-t', image, dir], { env: legacy });
    expect(built.code, built.stderr).toBe(0);
    const vol = uniqueName('chown-vol');
    volumes.add(vol);
    // /etc/passwd -> /etc/host-passwd is resolved in the container: app is 4321 there.
    expect(await ok(['run', '--rm', '-v', `${vol}:/v:U`, image, 'sh', '-c', 'touch /v/f; stat -c %u:%g /v'])).toBe('4321:4321');
  });
});
