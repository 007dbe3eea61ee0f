import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../translate/dockerfile/parser.js';
import { processWord, processWords } from '../translate/dockerfile/shell-lex.js';
import { planStages, stepCount } from '../translate/dockerfile/stages.js';
import { metadataStep, type StageState } from '../translate/dockerfile/config-steps.js';
import { healthcheck, parseDuration } from '../translate/dockerfile/arguments.js';
import { isIgnored, parseDockerignore } from '../translate/dockerignore.js';
import { buildCacheKey } from '../translate/build-cache-key.js';
import { stepContainerConfig } from '../translate/step-container-config.js';
import { decodeRegistryConfig } from '../translate/build-registry-config.js';
import { escapes, parseListing } from '../rootless/build/context.js';

const env = (vars: Record<string, string>) => (name: string) => vars[name];

function state(config: Record<string, unknown> = {}): StageState {
  return { config, escape: '\\', args: new Map(), buildArgs: {}, metaArgs: new Map(), cmdSet: false };
}

describe('Dockerfile parser', () => {
  it('joins continuations, drops comments inside them, keeps JSON and flags', () => {
    const p = parseDockerfile('FROM busybox AS base\n# comment\nRUN echo a \\\n  # inside\n  && echo b\nCOPY --chown=1:2 --from=base ["a b", "/c/"]\n');
    expect(p.instructions.map((i) => i.cmd)).toEqual(['FROM', 'RUN', 'COPY']);
    expect(p.instructions[1].rest).toBe('echo a   && echo b');
    expect(p.instructions[1].line).toBe(3);
    expect(p.instructions[2].flags).toEqual({ chown: '1:2', from: 'base' });
    expect(p.instructions[2].json).toEqual(['a b', '/c/']);
  });

  it('honours the escape directive and warns about syntax', () => {
    const p = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM scratch\nRUN dir c:\\ `\n  x\n');
    expect(p.escape).toBe('`');
    expect(p.warnings[0]).toContain('syntax');
    expect(p.instructions[1].rest).toBe('dir c:\\   x');
  });

  it('stops reading directives after the first other line', () => {
    const p = parseDockerfile('FROM scratch\n# escape=`\nRUN a \\\n b\n');
    expect(p.escape).toBe('\\');
    expect(p.instructions[1].rest).toBe('a  b');
  });

  it('refuses heredocs, unknown instructions and empty files clearly', () => {
    expect(() => parseDockerfile('FROM busybox\nRUN <<EOF\necho\nEOF\n')).toThrow(/heredocs/);
    expect(() => parseDockerfile('FROM busybox\nFOO bar\n')).toThrow(/unknown instruction: FOO/);
    expect(() => parseDockerfile('# just a comment\n')).toThrow(/^file with no instructions$/);
    expect(() => parseDockerfile('', 'app.Dockerfile')).toThrow(/^the Dockerfile \(app.Dockerfile\) cannot be empty$/);
  });

  it("checks flags at parse time with buildkit's words and suggestions", () => {
    expect(() => parseDockerfile('FROM busybox\nRUN --mount=type=cache,target=/x true\n')).not.toThrow();
    expect(() => parseDockerfile('FROM busybox\nRUN --mout=type=cache true\n')).toThrow('dockerfile parse error on line 2: unknown flag: --mout (did you mean mount?)');
    expect(() => parseDockerfile('FROM --platfrom=linux/amd64 busybox\n')).toThrow('dockerfile parse error on line 1: unknown flag: --platfrom (did you mean platform?)');
    expect(() => parseDockerfile('FROM busybox\nHEALTHCHECK --interval CMD true\n')).toThrow('missing a value on flag: --interval');
    expect(() => parseDockerfile('FROM busybox\nCOPY --link=false a /a\n')).not.toThrow();
    expect(() => parseDockerfile('FROM busybox\nrun1 x\n')).toThrow('unknown instruction: run1 (did you mean run?)');
    expect(() => parseDockerfile('FROM busybox\nExpos 80\n')).toThrow(/unknown instruction: Expos \(did you mean expose\?\)$/);
  });

  it('splits stages, keeps ARGs before FROM, applies target', () => {
    const p = parseDockerfile('ARG V=1\nFROM busybox:${V} AS one\nRUN a\nFROM one AS two\nRUN b\nFROM scratch\n');
    const plan = planStages(p.instructions, p.escape);
    expect(plan.metaArgs).toHaveLength(1);
    expect(plan.stages.map((s) => s.name)).toEqual(['one', 'two', undefined]);
    expect(stepCount(plan)).toBe(6);
    const two = planStages(p.instructions, p.escape, 'two');
    expect(two.stages).toHaveLength(2);
    expect(() => planStages(p.instructions, p.escape, 'nope')).toThrow(/failed to reach build target nope/);
    expect(() => planStages(parseDockerfile('RUN x\n').instructions, '\\')).toThrow(/^no build stage in current context$/);
    expect(planStages(parseDockerfile('ARG A=1\n').instructions, '\\').stages).toEqual([]);
  });
});

describe('variable substitution', () => {
  const look = env({ A: 'a', E: '', SP: 'x y' });
  it('expands $VAR, ${VAR}, defaults and alternatives', () => {
    expect(processWord('$A-${A}', look)).toBe('a-a');
    expect(processWord('${NOPE:-d} ${E:-d} ${E-d} ${A:+alt} ${NOPE:+alt}', look)).toBe('d d  alt ');
    expect(processWord('$NOPE', look)).toBe('');
    expect(() => processWord('${NOPE:?must be set}', look)).toThrow(/must be set/);
  });
  it('handles quotes and escapes', () => {
    expect(processWord(`'$A' "$A" \\$A "\\$A"`, look)).toBe('$A a $A $A');
    expect(processWord('"a b"', look)).toBe('a b');
    expect(processWords('one "two three" $SP', look)).toEqual(['one', 'two three', 'x', 'y']);
  });
});

describe('metadata instructions', () => {
  const inst = (line: string) => parseDockerfile(`FROM scratch\n${line}\n`).instructions[1];
  it('ENV substitutes with the environment before the line, and ARG values', () => {
    const s = state({ Env: ['PATH=/bin'] });
    metadataStep(inst('ARG X=fromarg'), s);
    const r = metadataStep(inst('ENV A=1 B="${A} two" C=$X PATH=$PATH:/x'), s);
    expect(r.config.Env).toEqual(['PATH=/bin:/x', 'A=1', 'B= two', 'C=fromarg']);
    expect(metadataStep(inst('ENV legacy form value'), s).config.Env).toContain('legacy=form value');
  });
  it('ARG takes buildargs over defaults', () => {
    const s = state();
    s.buildArgs = { V: 'given' };
    metadataStep(inst('ARG V=default W=w'), s);
    expect(s.args.get('V')).toBe('given');
    expect(s.args.get('W')).toBe('w');
  });
  it('WORKDIR resolves relative to the previous one; CMD/ENTRYPOINT use SHELL', () => {
    const s = state();
    s.config = metadataStep(inst('WORKDIR /app'), s).config;
    s.config = metadataStep(inst('WORKDIR sub'), s).config;
    expect(s.config.WorkingDir).toBe('/app/sub');
    s.config = metadataStep(inst('SHELL ["/bin/bash", "-c"]'), s).config;
    expect(metadataStep(inst('CMD echo hi'), s).config.Cmd).toEqual(['/bin/bash', '-c', 'echo hi']);
    expect(metadataStep(inst('ENTRYPOINT ["x"]'), s).config.Entrypoint).toEqual(['x']);
  });
  it('EXPOSE, VOLUME, LABEL, USER, STOPSIGNAL, ONBUILD', () => {
    const s = state();
    expect(metadataStep(inst('EXPOSE 80 53/udp'), s).config.ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {} });
    expect(metadataStep(inst('VOLUME /data /logs'), s).config.Volumes).toEqual({ '/data': {}, '/logs': {} });
    expect(metadataStep(inst('LABEL a=b "c d"="e f"'), s).config.Labels).toEqual({ a: 'b', 'c d': 'e f' });
    expect(metadataStep(inst('USER 1000:1000'), s).config.User).toBe('1000:1000');
    expect(metadataStep(inst('STOPSIGNAL SIGKILL'), s).config.StopSignal).toBe('SIGKILL');
    expect(metadataStep(inst('ONBUILD RUN echo hi'), s).config.OnBuild).toEqual(['RUN echo hi']);
    expect(() => metadataStep(inst('ONBUILD FROM x'), s)).toThrow(/isn't allowed/);
  });
  it('HEALTHCHECK with flags, and NONE', () => {
    const hc = healthcheck(inst('HEALTHCHECK --interval=5s --timeout=1m30s --retries=3 CMD wget -q localhost'));
    expect(hc).toEqual({ Test: ['CMD-SHELL', 'wget -q localhost'], Interval: 5e9, Timeout: 90e9, Retries: 3 });
    expect(healthcheck(inst('HEALTHCHECK CMD ["true"]')).Test).toEqual(['CMD', 'true']);
    expect(healthcheck(inst('HEALTHCHECK NONE')).Test).toEqual(['NONE']);
    expect(parseDuration('250ms')).toBe(250e6);
  });
});

describe('.dockerignore', () => {
  it('matches like moby patternmatcher, with ** and exceptions', () => {
    const p = parseDockerignore('# c\n*.log\n!keep.log\nsecret/\n**/tmp\ndocs/*.md\n/abs\n');
    expect(isIgnored('a.log', p)).toBe(true);
    expect(isIgnored('keep.log', p)).toBe(false);
    expect(isIgnored('sub/a.log', p)).toBe(false);
    expect(isIgnored('secret/x/y', p)).toBe(true);
    expect(isIgnored('a/b/tmp/file', p)).toBe(true);
    expect(isIgnored('tmp', p)).toBe(true);
    expect(isIgnored('docs/a.md', p)).toBe(true);
    expect(isIgnored('docs/x/a.md', p)).toBe(false);
    expect(isIgnored('abs', p)).toBe(true);
    expect(isIgnored('Dockerfile', p)).toBe(false);
  });
  it('last match wins; [] classes and ? work', () => {
    const p = parseDockerignore('data\n!data/keep\nf?le[0-9]\n');
    expect(isIgnored('data/x', p)).toBe(true);
    expect(isIgnored('data/keep', p)).toBe(false);
    expect(isIgnored('file7', p)).toBe(true);
    expect(isIgnored('file77', p)).toBe(false);
  });
});

describe('build helpers', () => {
  it('cache keys depend on parent, history text and config, not key order', () => {
    const a = buildCacheKey({ parent: 'sha256:1', createdBy: 'x', config: { A: 1, B: 2 } });
    expect(buildCacheKey({ parent: 'sha256:1', createdBy: 'x', config: { B: 2, A: 1 } })).toBe(a);
    expect(buildCacheKey({ parent: 'sha256:2', createdBy: 'x', config: { A: 1, B: 2 } })).not.toBe(a);
    expect(buildCacheKey({ parent: 'sha256:1', createdBy: 'y', config: { A: 1, B: 2 } })).not.toBe(a);
  });
  it('X-Registry-Config: entries decoded per registry, bad ones skipped', () => {
    const header = Buffer.from(JSON.stringify({ 'https://index.docker.io/v1/': { username: 'u', password: 'p' }, '127.0.0.1:5000': 'garbage', 'r.example': { username: 'x', password: 'y' } })).toString('base64');
    const m = decodeRegistryConfig(header);
    expect(m.get('docker.io')?.username).toBe('u');
    expect(m.get('r.example')?.password).toBe('y');
    expect(m.has('127.0.0.1:5000')).toBe(false);
    expect(decodeRegistryConfig('%%%').size).toBe(0);
    expect(decodeRegistryConfig('e30=').size).toBe(0);
  });
  it('reads tar listings and spots escaping members', () => {
    const m = parseListing('-rw-r--r-- 0/0          5 2023-11-14 22:13 "a b"\ndrwxr-xr-x 0/0 0 2023-11-14 22:13 "d/"\nlrwxrwxrwx 0/0 0 2023-11-14 22:13 "l" -> "../x"\ncrw-r--r-- 0/0 1,3 2023-11-14 22:13 "dev"\n');
    expect(m.map((x) => [x.type, x.name, x.size])).toEqual([['-', 'a b', 5], ['d', 'd/', 0], ['l', 'l', 0], ['c', 'dev', 0]]);
    expect(escapes('../x')).toBe(true);
    expect(escapes('a/../../b')).toBe(true);
    expect(escapes('/abs')).toBe(true);
    expect(escapes('a/..b')).toBe(false);
  });
});

describe('step container_config', () => {
  it('a #(nop) comment command for config steps, the run command and container for RUN, the parent as Image', () => {
    const cfg = { Env: ['A=b'] };
    expect(stepContainerConfig(cfg, 'sha256:p', '/bin/sh -c #(nop)  ENV A=b')).toEqual({ container_config: { Env: ['A=b'], Image: 'sha256:p', Cmd: ['/bin/sh', '-c', '#(nop) ', 'ENV A=b'] } });
    expect(stepContainerConfig(cfg, undefined, '/bin/sh -c #(nop) COPY file:ab in /x ').container_config.Cmd).toEqual(['/bin/sh', '-c', '#(nop) ', 'COPY file:ab in /x ']);
    const run = stepContainerConfig(cfg, 'sha256:p', '|1 A=1 /bin/sh -c x', { cmd: ['|1', 'A=1', '/bin/sh', '-c', 'x'], container: 'c1' });
    expect(run).toEqual({ container_config: { Env: ['A=b'], Image: 'sha256:p', Cmd: ['|1', 'A=1', '/bin/sh', '-c', 'x'], Entrypoint: null }, container: 'c1' });
  });
});
