/**
 * Classic-builder details where a client can tell Burrow from dockerd: image inspect's fields per
 * API version (Config.OnBuild and the rest), ONBUILD recorded and triggered, refused triggers,
 * RUN's stderr in the stream, --cache-from, and -f with a Dockerfile outside the context.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import { dockerCli, dockerPy } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { buildContexts } from './harness/build-context.js';
import { writeTar } from './harness/tar.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const legacy = { DOCKER_BUILDKIT: '0' };
const { context, beside, cleanup } = buildContexts('burrow-build-parity');

/** The raw JSON the daemon sent (the CLI prints it unchanged when no --format is given). */
async function rawInspect(name: string, env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> {
  const r = await docker(['image', 'inspect', name], { env });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Record<string, unknown>[])[0];
}

async function build(dir: string, ...flags: string[]) {
  const r = await docker(['build', ...flags, dir], { env: legacy });
  return { ...r, out: r.stdout + r.stderr };
}

beforeAll(async () => {
  const r = await docker(['pull', busybox]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await cleanup();
});

describe('image inspect fields per API version', () => {
  it('API 1.50 sends Config.OnBuild null (and the other fields without omitempty); older versions send the whole legacy config', async () => {
    const current = await rawInspect(busybox);
    const config = current.Config as Record<string, unknown>;
    expect(config.OnBuild).toBeNull();
    for (const [k, v] of Object.entries({ Entrypoint: null, Labels: null, Volumes: null, User: '', WorkingDir: '' })) {
      expect(config[k], k).toEqual(v);
    }
    // Fields outside the OCI image config are gone on 1.50, as are the deprecated top-level ones.
    expect(config).not.toHaveProperty('Hostname');
    expect(config).not.toHaveProperty('Image');
    expect(current).not.toHaveProperty('VirtualSize');
    expect(current).not.toHaveProperty('ContainerConfig');
    expect(Object.keys(current)).toEqual(expect.arrayContaining(['Id', 'RepoTags', 'RepoDigests', 'Parent', 'Comment', 'Created', 'DockerVersion', 'Author', 'Config', 'Architecture', 'Os', 'Size', 'GraphDriver', 'RootFS', 'Metadata']));

    const old = await rawInspect(busybox, { DOCKER_API_VERSION: '1.43' });
    const oldConfig = old.Config as Record<string, unknown>;
    for (const [k, v] of Object.entries({ Hostname: '', Domainname: '', AttachStdin: false, Tty: false, Image: '', OnBuild: null, Labels: null })) {
      expect(oldConfig[k], k).toEqual(v);
    }
    expect(old.VirtualSize).toBe(old.Size);
    expect(old.Container).toBe('');
    expect((old.ContainerConfig as Record<string, unknown>).OnBuild).toBeNull();

    // docker-py reads the same answer.
    const py = await dockerPy(bed.dockerHost, `import docker, json\nprint(json.dumps(docker.from_env().images.get(${JSON.stringify(busybox)}).attrs['Config']['OnBuild']))\n`);
    expect(py.stderr).toBe('');
    expect(py.stdout.trim()).toBe('null');
  });
});

describe('Container and ContainerConfig of built images (API < 1.45)', () => {
  it("each step records what it ran as dockerd's classic builder does: a RUN its command (build args first) and container, other steps a #(nop) comment; Image is the parent", async () => {
    const dir = await context({ Dockerfile: `FROM ${busybox}\nARG A=1\nRUN echo $A > /a\nENV X=y\n` });
    const r = await build(dir, '-t', 'parity-container-config');
    expect(r.code, r.out).toBe(0);
    const old = { DOCKER_API_VERSION: '1.44' };
    const env = await rawInspect('parity-container-config', old);
    const envConfig = env.ContainerConfig as Record<string, unknown>;
    expect(env.Container).toBe('');
    expect(envConfig.Cmd).toEqual(['/bin/sh', '-c', '#(nop) ', 'ENV X=y']);
    expect(envConfig.Env).toEqual(expect.arrayContaining(['X=y']));
    const runId = env.Parent as string;
    expect(envConfig.Image).toBe(runId);
    const run = await rawInspect(runId, old);
    const runConfig = run.ContainerConfig as Record<string, unknown>;
    expect(runConfig.Cmd).toEqual(['|1', 'A=1', '/bin/sh', '-c', 'echo $A > /a']);
    expect(run.Container).toMatch(/^[0-9a-f]{64}$/);
    expect(runConfig.Image).toBe(run.Parent);
    expect(runConfig.Entrypoint).toBeNull();
  });
});

describe('ONBUILD', () => {
  it('records triggers in Config.OnBuild and runs them at the start of the child build, as dockerd prints it', async () => {
    const parent = await context({ Dockerfile: `FROM ${busybox}\nONBUILD RUN echo first > /first\nONBUILD COPY marker.txt /marker.txt\n` });
    const made = await build(parent, '-t', 'parity-onbuild-parent');
    expect(made.code, made.out).toBe(0);
    expect((await rawInspect('parity-onbuild-parent')).Config).toMatchObject({ OnBuild: ['RUN echo first > /first', 'COPY marker.txt /marker.txt'] });

    const child = await context({ Dockerfile: 'FROM parity-onbuild-parent\nRUN cat /first /marker.txt\n', 'marker.txt': 'from the child context\n' });
    const r = await build(child, '-t', 'parity-onbuild-child');
    expect(r.code, r.out).toBe(0);
    // The triggers belong to FROM: announced, run, then one image ID for the whole step.
    const fromStep = r.stdout.slice(r.stdout.indexOf('Step 1/2 :'), r.stdout.indexOf('Step 2/2 :'));
    expect(fromStep).toMatch(/^Step 1\/2 : FROM parity-onbuild-parent\n# Executing 2 build triggers\n ---> Running in [0-9a-f]{12}\nRemoving intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\n$/);
    expect(r.stdout).toContain('from the child context');
    const config = (await rawInspect('parity-onbuild-child')).Config as Record<string, unknown>;
    expect(config.OnBuild).toBeNull();
    expect((await docker(['run', '--rm', 'parity-onbuild-child', 'cat', '/first'])).stdout).toBe('first\n');
  });

  it('refuses ONBUILD ONBUILD, FROM and MAINTAINER when the Dockerfile is parsed, with dockerd messages', async () => {
    const cases: [string, string][] = [
      ['ONBUILD ONBUILD RUN true', "dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
      ['ONBUILD FROM scratch', "dockerfile parse error on line 2: FROM isn't allowed as an ONBUILD trigger"],
      ['onbuild maintainer someone', "dockerfile parse error on line 2: MAINTAINER isn't allowed as an ONBUILD trigger"],
    ];
    for (const [line, message] of cases) {
      const dir = await context({ Dockerfile: `FROM ${busybox}\n${line}\nRUN echo never\n` });
      const r = await build(dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Error response from daemon: ${message}`);
      expect(r.stdout).not.toContain('Step 1/');
    }
  });
});

describe('Dockerfile errors', () => {
  it('parse errors are refused before any step, in the words of the buildkit parser dockerd uses', async () => {
    const cases: [string, string][] = [
      ['FORM busybox', 'dockerfile parse error on line 2: unknown instruction: FORM (did you mean FROM?)'],
      ['frobnicate x', 'dockerfile parse error on line 2: unknown instruction: frobnicate'],
      ['COPY --chwon=1:1 a /a', 'dockerfile parse error on line 2: unknown flag: --chwon (did you mean chown?)'],
      ['ENV --x=1 A=b', 'dockerfile parse error on line 2: unknown flag: --x'],
      ['COPY --from a /a', 'dockerfile parse error on line 2: missing a value on flag: --from'],
      ['COPY --link=maybe a /a', 'dockerfile parse error on line 2: expecting boolean value for flag --link, not: maybe'],
      [`FROM ${busybox} AS 1st`, 'dockerfile parse error on line 2: invalid name for build stage: "1st", name can\'t start with a number or contain symbols'],
    ];
    for (const [line, message] of cases) {
      const dir = await context({ Dockerfile: `FROM ${busybox}\n${line}\nRUN echo never\n`, a: 'a\n' });
      const r = await build(dir);
      expect(r.code, r.out).toBe(1);
      expect(r.stderr).toContain(`Error response from daemon: ${message}\n`);
      expect(r.stdout).not.toContain('Step 1/');
    }
    const noStage = await build(await context({ Dockerfile: 'RUN true\n' }));
    expect(noStage.stderr).toContain('Error response from daemon: no build stage in current context\n');
    const comments = await build(await context({ Dockerfile: '# nothing here\n' }));
    expect(comments.stderr).toContain('Error response from daemon: file with no instructions\n');
  });

  it('flags only BuildKit implements parse, then the step refuses them as the classic builder does', async () => {
    for (const line of ['RUN --mount=type=cache,target=/c true', 'COPY --chmod=755 a /a']) {
      const flag = /--(\w+)/.exec(line)?.[1] ?? '';
      const r = await build(await context({ Dockerfile: `FROM ${busybox}\n${line}\n`, a: 'a\n' }));
      expect(r.code, r.out).toBe(1);
      expect(r.stdout).toContain(`Step 2/2 : ${line}`);
      expect(r.out).toContain(`the --${flag} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`);
    }
  });

  it('a stage name used twice fails when the second stage is reached, and COPY --link is accepted', async () => {
    const r = await build(await context({ Dockerfile: `FROM ${busybox} AS one\nCOPY --link a /a\nFROM ${busybox} AS one\n`, a: 'a\n' }));
    expect(r.code, r.out).toBe(1);
    expect(r.stdout).toContain('Step 2/3 : COPY --link a /a');
    expect(r.out).toContain('one stage name already used');
  });
});

describe('build output', () => {
  it("a RUN step's stderr comes in the build stream, wrapped in red as dockerd's classic builder sends it", async () => {
    const dir = await context({ Dockerfile: `FROM ${busybox}\nRUN echo to-stdout; echo to-stderr >&2\n` });
    const r = await build(dir, '--no-cache');
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toContain('to-stdout\n');
    expect(r.stdout).toContain('\x1b[91mto-stderr\n\x1b[0m');
  });
});

describe('--cache-from', () => {
  it('a local image with a matching history stands in for the steps, as dockerd does; unknown sources are skipped', async () => {
    const files = { 'app.txt': 'app\n' };
    const dockerfile = (cmd: string): string => `FROM ${busybox}\nENV MODE=cached\nRUN echo built > /built\nCOPY app.txt /app.txt\nCMD ${cmd}\n`;
    const dir = await context({ ...files, Dockerfile: dockerfile('["cat", "/app.txt"]') });
    const first = await build(dir, '-t', 'parity-cache:v1');
    expect(first.code, first.out).toBe(0);
    const id = (await rawInspect('parity-cache:v1')).Id as string;
    // As if pulled: the image comes back through save/load without the chain of step images.
    const archive = beside(dir, '-saved.tar');
    expect((await docker(['save', '-o', archive, 'parity-cache:v1'])).code).toBe(0);
    expect((await docker(['rmi', 'parity-cache:v1'])).code).toBe(0);
    expect((await docker(['load', '-i', archive])).code).toBe(0);

    const plain = await build(dir, '-t', 'parity-cache:plain');
    expect(plain.code, plain.out).toBe(0);
    expect(plain.stdout).toContain('Running in');

    const reused = await build(dir, '--cache-from', 'parity-cache:v1', '--cache-from', 'parity-missing:none', '-t', 'parity-cache:v2');
    expect(reused.code, reused.out).toBe(0);
    expect(reused.stdout.match(/ ---> Using cache\n/g)).toHaveLength(4);
    expect(reused.stdout).not.toContain('Running in');
    expect((await rawInspect('parity-cache:v2')).Id).toBe(id);

    // A changed last step: the earlier ones still come from the source, the last one runs.
    const changed = await context({ ...files, Dockerfile: dockerfile('["cat", "/built"]') });
    const partial = await build(changed, '--cache-from', 'parity-cache:v1', '-t', 'parity-cache:v3');
    expect(partial.code, partial.out).toBe(0);
    expect(partial.stdout.match(/ ---> Using cache\n/g)).toHaveLength(3);
    expect((await docker(['run', '--rm', 'parity-cache:v3'])).stdout).toBe('built\n');
    expect((await rawInspect('parity-cache:v3')).RootFS).toEqual((await rawInspect('parity-cache:v1')).RootFS);
  });
});

describe('docker build -f with a Dockerfile outside the context', () => {
  it('the CLI ships it as .dockerfile.<random> and lists it in .dockerignore: the build finds it and neither file lands in the image', async () => {
    const dir = await context({ 'data.txt': 'data\n', 'skip.txt': 'skip\n', '.dockerignore': '*\n!data.txt' });
    const outside = await context({ 'Build.file': `FROM ${busybox}\nCOPY . /ctx/\nRUN ls -A /ctx\n` });
    const r = await build(dir, '-f', join(outside, 'Build.file'), '--no-cache', '-t', 'parity-outside');
    expect(r.code, r.out).toBe(0);
    expect((await docker(['run', '--rm', 'parity-outside', 'ls', '-A', '/ctx'])).stdout).toBe('data.txt\n');

    // The Dockerfile from stdin takes the same path through the CLI.
    const stdin = await docker(['build', '-f', '-', '--no-cache', '-t', 'parity-stdin-df', dir], { env: legacy, input: `FROM ${busybox}\nCOPY . /ctx/\n` });
    expect(stdin.code, stdin.stderr).toBe(0);
    expect((await docker(['run', '--rm', 'parity-stdin-df', 'ls', '-A', '/ctx'])).stdout).toBe('data.txt\n');

    // docker-py ships it likewise (with its own .dockerignore) but sends `dockerfile` twice: the
    // name, then the text; dockerd reads the first.
    const bare = await context({ 'data.txt': 'data\n' });
    const py = await dockerPy(bed.dockerHost, `import docker\nc = docker.from_env()\nimg, _ = c.images.build(path=${JSON.stringify(bare)}, dockerfile=${JSON.stringify(join(outside, 'Build.file'))}, tag='parity-outside-py', nocache=True)\nprint(c.containers.run('parity-outside-py', ['ls', '-A', '/ctx'], remove=True).decode(), end='')\n`);
    expect(py.stderr).toBe('');
    expect(py.stdout).toBe('data.txt\n');
  });
});

describe('.dockerignore on the daemon side', () => {
  it('as dockerd: only the Dockerfile and .dockerignore go when it names them; files a client sends anyway stay', async () => {
    const client = new Docker({ socketPath: bed.socket });
    const tar = writeTar([
      { type: 'file', name: 'Dockerfile', content: `FROM ${busybox}\nCOPY . /ctx/\n` },
      { type: 'file', name: '.dockerignore', content: 'secret.txt\nDockerfile\n.dockerignore\n' },
      { type: 'file', name: 'secret.txt', content: 'sent anyway\n' },
    ]);
    const stream = await client.buildImage(Readable.from([tar]), { t: 'parity-ignore', nocache: true });
    const output = await new Promise<{ error?: string }[]>((resolve, reject) => client.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))));
    expect(output.find((m) => m.error)?.error).toBeUndefined();
    expect((await docker(['run', '--rm', 'parity-ignore', 'ls', '-A', '/ctx'])).stdout).toBe('secret.txt\n');
  });
});
