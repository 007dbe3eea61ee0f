import { describe, expect, it } from 'vitest';
import { familiarMatch, familiarName, familiarString, isLoopbackRegistry, parseNormalizedNamed, refString, withDefaultTag } from '../translate/image-ref.js';
import { decodeRegistryAuth } from '../translate/registry-auth.js';
import { parsePlatform, platformMatches } from '../translate/platform.js';
import { humanSize, progressBar } from '../translate/pull-progress.js';
import { parseChallenge } from '../rootless/registry/challenge.js';

const norm = (s: string): string => refString(withDefaultTag(parseNormalizedNamed(s)));

describe('reference normalisation', () => {
  it('expands familiar names to docker.io/library with :latest', () => {
    expect(norm('busybox')).toBe('docker.io/library/busybox:latest');
    expect(norm('user/app:1.0')).toBe('docker.io/user/app:1.0');
    expect(norm('index.docker.io/busybox')).toBe('docker.io/library/busybox:latest');
    expect(norm('localhost/x')).toBe('localhost/x:latest');
    expect(norm('127.0.0.1:5000/a/b:tag')).toBe('127.0.0.1:5000/a/b:tag');
    const d = 'sha256:' + 'a'.repeat(64);
    expect(norm(`host:5000/repo@${d}`)).toBe(`host:5000/repo@${d}`);
    expect(refString(parseNormalizedNamed(`busybox:1@${d}`))).toBe(`docker.io/library/busybox:1@${d}`);
  });

  it('shows familiar strings the way the CLI does', () => {
    expect(familiarString(withDefaultTag(parseNormalizedNamed('busybox')))).toBe('busybox:latest');
    expect(familiarName(parseNormalizedNamed('docker.io/user/app'))).toBe('user/app');
    expect(familiarString(parseNormalizedNamed('127.0.0.1:5000/x/y:tag'))).toBe('127.0.0.1:5000/x/y:tag');
  });

  it('refuses bad references with dockerd wording', () => {
    expect(() => parseNormalizedNamed('Busybox')).toThrow('invalid reference format: repository name (library/Busybox) must be lowercase');
    expect(() => parseNormalizedNamed('busy box')).toThrow('invalid reference format');
    expect(() => parseNormalizedNamed('busybox:')).toThrow('invalid reference format');
    expect(() => parseNormalizedNamed('a'.repeat(64).replace(/a/g, 'f'))).toThrow('cannot specify 64-byte hexadecimal strings');
    expect(() => parseNormalizedNamed('')).toThrow('invalid reference format');
  });

  it('matches reference filters against familiar names', () => {
    const r = withDefaultTag(parseNormalizedNamed('busybox'));
    expect(familiarMatch('busybox', r)).toBe(true);
    expect(familiarMatch('busy*:latest', r)).toBe(true);
    expect(familiarMatch('alpine', r)).toBe(false);
  });

  it('knows loopback registries', () => {
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackRegistry('localhost')).toBe(true);
    expect(isLoopbackRegistry('[::1]:5000')).toBe(true);
    expect(isLoopbackRegistry('docker.io')).toBe(false);
  });
});

describe('X-Registry-Auth', () => {
  const enc = (o: unknown, alphabet: 'base64' | 'base64url'): string => Buffer.from(JSON.stringify(o)).toString(alphabet);
  it('treats empty, {} and garbage as anonymous', () => {
    for (const h of [undefined, '', 'e30=', 'e30', 'empty', '!!!', enc([1], 'base64')]) expect(decodeRegistryAuth(h)).toBeUndefined();
  });
  it('accepts both alphabets, padded or not', () => {
    const creds = { username: 'u', password: 'p?>?>~~', serveraddress: 'r' };
    for (const h of [enc(creds, 'base64'), enc(creds, 'base64url'), enc(creds, 'base64').replace(/=+$/, '')]) {
      expect(decodeRegistryAuth(h)).toMatchObject({ username: 'u', password: 'p?>?>~~' });
    }
    expect(decodeRegistryAuth(enc({ identitytoken: 't' }, 'base64url'))).toEqual({ identityToken: 't' });
    expect(decodeRegistryAuth(enc({ registrytoken: 'b' }, 'base64url'))).toEqual({ registryToken: 'b' });
  });
});

describe('platforms, progress and challenges', () => {
  it('parses and matches platforms', () => {
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'arm64' })).toBe(false);
  });
  it('formats sizes and bars like go-units and jsonmessage', () => {
    expect(humanSize(512)).toBe('512B');
    expect(humanSize(1048576)).toBe('1.049MB');
    expect(progressBar(1_200_000, 2_300_000)).toBe(`[${'='.repeat(26)}>${' '.repeat(24)}]    1.2MB/2.3MB`);
  });
  it('parses bearer challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:x:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:x:pull' },
    });
  });
});
