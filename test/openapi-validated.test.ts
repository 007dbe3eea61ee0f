/**
 * The request-body types are the schemas' (openapi/validated.ts): the type assertions below are
 * checked by `tsc` (a schema change that the types did not follow fails the typecheck), and the
 * unit tests check that what api/validate.ts hands on is what those types say. Pure: no daemon.
 */
import { describe, expect, it } from 'vitest';
import { checkBody } from '../api/validate.js';
import {
  containerCreateRequestSchema,
  type ContainerConfigBody,
  type ContainerCreateBody,
  type HostConfigBody,
  type MountBody,
  type NetworkingConfigBody,
} from '../openapi/containers.js';
import { bool, int, listOf, mapOf, str, strList, strMap, strSlice, struct } from '../openapi/types.js';
import type { Validated } from '../openapi/validated.js';
import { containerSpec } from '../translate/container-spec.js';
import { buildRlimits } from '../translate/oci-limits.js';
import { parseMountSpec } from '../translate/mount-spec.js';

/** `Equal<A, B>` is true only for identical types; assertType<false> fails the typecheck. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

// ---- compile-time: the mapper over each building block ----
assertType<Equal<Validated<typeof str>, string>>();
assertType<Equal<Validated<typeof int>, number>>();
assertType<Equal<Validated<typeof bool>, boolean>>();
// A null scalar inside a list or map becomes Go's zero value: no null in the element type.
assertType<Equal<Validated<typeof strList>, string[]>>();
assertType<Equal<Validated<typeof strMap>, Record<string, string>>>();
assertType<Equal<Validated<typeof strSlice>, string | string[]>>();
// Struct fields: every one optional, none null (validate.ts drops null fields).
const sample = struct({ A: int, B: strList, C: struct({ D: str }) });
assertType<Equal<Validated<typeof sample>, { A?: number; B?: string[]; C?: { D?: string } }>>();
// A null struct in a list becomes {}; in a map it stays null, as do lists in lists.
assertType<Equal<Validated<ReturnType<typeof listOf<typeof sample>>>, Validated<typeof sample>[]>>();
assertType<Equal<Validated<ReturnType<typeof mapOf<typeof sample>>>, Record<string, Validated<typeof sample> | null>>>();
assertType<Equal<Validated<ReturnType<typeof listOf<typeof strList>>>, (string[] | null)[]>>();

// ---- compile-time: the container bodies follow openapi/containers.ts ----
assertType<Equal<ContainerCreateBody['Cmd'], string | string[] | undefined>>();
assertType<Equal<ContainerCreateBody['Env'], string[] | undefined>>();
assertType<Equal<ContainerCreateBody['Labels'], Record<string, string> | undefined>>();
assertType<Equal<ContainerCreateBody['ExposedPorts'], Record<string, Record<string, unknown> | null> | undefined>>();
assertType<Equal<ContainerCreateBody['HostConfig'], HostConfigBody | undefined>>();
assertType<Equal<ContainerConfigBody['Healthcheck'], { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number; StartInterval?: number } | undefined>>();
assertType<Equal<HostConfigBody['CapAdd'], string | string[] | undefined>>();
assertType<Equal<HostConfigBody['Ulimits'], { Name?: string; Soft?: number; Hard?: number }[] | undefined>>();
assertType<Equal<HostConfigBody['PortBindings'], Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined>>();
assertType<Equal<HostConfigBody['ConsoleSize'], number[] | undefined>>();
assertType<Equal<NonNullable<MountBody['TmpfsOptions']>['Options'], (string[] | null)[] | undefined>>();
// An endpoint is a struct in a map: it may stay null.
type Endpoint = NonNullable<NetworkingConfigBody['EndpointsConfig']>[string];
assertType<Equal<null extends Endpoint ? true : false, true>>();
assertType<Equal<NonNullable<Endpoint>['Aliases'], string[] | undefined>>();
// @ts-expect-error -- a field the schema does not have is not in the type
assertType<Equal<HostConfigBody['NotAField'], undefined>>();

describe('what validate.ts hands on matches the derived types', () => {
  it('nulls are dropped or zeroed as the types say', () => {
    const raw = {
      Image: 'busybox',
      Cmd: 'true',
      Env: [null, 'A=1'],
      Labels: { a: null },
      ExposedPorts: { '80/tcp': null },
      Healthcheck: null,
      HostConfig: { Ulimits: [null], Mounts: [null], PortBindings: { '80/tcp': null }, CapAdd: 'NET_RAW', Memory: null },
      NetworkingConfig: { EndpointsConfig: { bridge: null } },
    };
    const body = checkBody(containerCreateRequestSchema, raw);
    const expected: ContainerCreateBody = {
      Image: 'busybox',
      Cmd: 'true',
      Env: ['', 'A=1'],
      Labels: { a: '' },
      ExposedPorts: { '80/tcp': null },
      HostConfig: { Ulimits: [{}], Mounts: [{}], PortBindings: { '80/tcp': null }, CapAdd: 'NET_RAW' },
      NetworkingConfig: { EndpointsConfig: { bridge: null } },
    };
    expect(body).toEqual(expected);
  });

  it('the spec splits the body once: Image required, strslices of HostConfig as lists', () => {
    expect(() => containerSpec(undefined)).toThrow('config.Image is required');
    expect(() => containerSpec({ Cmd: ['true'] })).toThrow('config.Image is required');
    const spec = containerSpec({ Image: 'x', Cmd: 'true', HostConfig: { CapAdd: 'NET_RAW', CapDrop: ['ALL'], Memory: 1 } });
    expect(spec).toEqual({ config: { Image: 'x', Cmd: 'true' }, hostConfig: { CapAdd: ['NET_RAW'], CapDrop: ['ALL'], Memory: 1 }, networkingConfig: null });
  });

  it('entries the schema lets through empty are 400s downstream, never TypeErrors', () => {
    expect(() => buildRlimits([{}], { nofile: 1024 })).toThrow('invalid ulimit type: ');
    expect(() => parseMountSpec({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { Options: [null] } })).toThrow('unsupported tmpfs option []');
  });
});
