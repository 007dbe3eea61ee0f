/**
 * The reaper image testcontainers starts when Ryuk is on (its default): the static binary that
 * scripts/build-ryuk.sh builds from test/fixtures/ryuk, packaged like the other test images and
 * pushed to the test registry under the repository and tags testcontainers asks for, so a client
 * pointed at the registry (TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX, or RYUK_CONTAINER_IMAGE) pulls it
 * as it would pull testcontainers/ryuk from Docker Hub.
 */
import { readFile } from 'node:fs/promises';
import { AMD64, DEFAULT_PATH_ENV, GROUP, PASSWD, assembleImage, buildLayer, pushImage, type RegistryTarget } from './images.js';
import type { TarEntry } from './tar.js';

/** Where scripts/build-ryuk.sh installs the binary (run.sh runs it as root before the suite). */
export const RYUK_BINARY = process.env.BURROW_RYUK_BINARY ?? '/usr/local/lib/burrow-tools/ryuk';

export const RYUK_REPOSITORY = 'testcontainers/ryuk';
/**
 * The default reaper tags of the clients the tests drive: testcontainers-node 10.28 asks for
 * 0.11.0, testcontainers-python 4.x for 0.8.1. A client upgrade that changes its tag fails the
 * pull of the new one, which is the signal to add it here.
 */
export const RYUK_TAGS = { node: '0.11.0', python: '0.8.1' } as const;

const root = { uid: 0, gid: 0, uname: 'root', gname: 'root' } as const;
const dir = (name: string, mode = 0o755): TarEntry => ({ type: 'dir', name, mode, ...root });

async function ryukBinary(): Promise<Buffer> {
  try {
    return await readFile(RYUK_BINARY);
  } catch (err) {
    throw new Error(`no Ryuk reaper binary at ${RYUK_BINARY} (${(err as Error).message}): run \`sudo scripts/build-ryuk.sh\` (npm test does)`);
  }
}

/**
 * Push testcontainers/ryuk:<each default tag> to `registry`; returns the references
 * ("127.0.0.1:PORT/testcontainers/ryuk:0.11.0", ...).
 */
export async function pushRyukImage(registry: RegistryTarget & { host: string }): Promise<Record<keyof typeof RYUK_TAGS, string>> {
  const layer = buildLayer(
    [
      dir('bin/'),
      { type: 'file', name: 'bin/ryuk', content: await ryukBinary(), mode: 0o755, ...root },
      dir('dev/'),
      dir('etc/'),
      { type: 'file', name: 'etc/group', content: GROUP, mode: 0o644, ...root },
      { type: 'file', name: 'etc/passwd', content: PASSWD, mode: 0o644, ...root },
      dir('proc/'),
      dir('sys/'),
      dir('tmp/', 0o1777),
      dir('var/'),
      dir('var/run/'),
    ],
    { comment: 'burrow-test: the Ryuk reaper (scripts/build-ryuk.sh)' },
  );
  const image = assembleImage({
    format: 'docker',
    platform: AMD64,
    layers: [layer],
    // The label is how reapers tell a reaper from what they reap, as on the real image.
    config: {
      Env: [DEFAULT_PATH_ENV],
      Cmd: ['/bin/ryuk'],
      ExposedPorts: { '8080/tcp': {} },
      Labels: { 'org.testcontainers.ryuk': 'true' },
    },
  });
  for (const tag of Object.values(RYUK_TAGS)) await pushImage(registry, RYUK_REPOSITORY, tag, image);
  const ref = (tag: string): string => `${registry.host}/${RYUK_REPOSITORY}:${tag}`;
  return { node: ref(RYUK_TAGS.node), python: ref(RYUK_TAGS.python) };
}
