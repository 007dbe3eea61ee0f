/**
 * Request bodies are checked like dockerd's encoding/json does (wrong types → 400 naming the field,
 * unknown fields and nulls accepted), content types like dockerd's CheckForJSON, and replies
 * match the response schemas in openapi/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { dockerCli, rawRequest, type RawResponse } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { assertMatchesSchema } from './harness/schemas.js';
import { containerCreateResponseSchema, containerInspectSchema, containerSummarySchema } from '../openapi/containers.js';
import { execCreateResponseSchema, execInspectSchema } from '../openapi/exec.js';
import { imageInspectSchema, imageSummarySchema } from '../openapi/images.js';
import { networkSchema } from '../openapi/networks.js';
import { volumeSchema } from '../openapi/volumes.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;

let counter = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> {
  return rawRequest(bed.socket, 'POST', path, typeof body === 'string' ? body : JSON.stringify(body), headers);
}
async function getJson(path: string): Promise<unknown> {
  const r = await rawRequest(bed.socket, 'GET', path);
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as unknown;
}
const message = (r: RawResponse): string => (JSON.parse(r.body) as { message: string }).message;

function expectRefused(r: RawResponse, text: string): void {
  expect(r.status, r.body).toBe(400);
  expect(r.headers['content-type']).toBe('application/json');
  expect(message(r)).toBe(text);
}

async function created(r: RawResponse): Promise<string> {
  expect(r.status, r.body).toBe(201);
  const reply = JSON.parse(r.body) as { Id: string };
  return reply.Id;
}

/** What docker CLI 28 sends for `docker create busybox` (captured from the client), image swapped in. */
function cliCreateBody(image: string): Record<string, unknown> {
  return {
    Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false, OpenStdin: false, StdinOnce: false,
    Env: null, Cmd: null, Image: image, Volumes: {}, WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: {},
    HostConfig: {
      Binds: null, ContainerIDFile: '', LogConfig: { Type: '', Config: {} }, NetworkMode: 'default', PortBindings: {}, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: false, VolumeDriver: '', VolumesFrom: null, ConsoleSize: [0, 0], CapAdd: null, CapDrop: null, CgroupnsMode: '', Dns: [], DnsOptions: [], DnsSearch: [],
      ExtraHosts: null, GroupAdd: null, IpcMode: '', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false, ReadonlyRootfs: false,
      SecurityOpt: null, UTSMode: '', UsernsMode: '', ShmSize: 0, Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0,
      BlkioWeightDevice: [], BlkioDeviceReadBps: [], BlkioDeviceWriteBps: [], BlkioDeviceReadIOps: [], BlkioDeviceWriteIOps: [], CpuPeriod: 0, CpuQuota: 0,
      CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0, CpusetCpus: '', CpusetMems: '', Devices: [], DeviceCgroupRules: null, DeviceRequests: null, MemoryReservation: 0,
      MemorySwap: 0, MemorySwappiness: -1, OomKillDisable: false, PidsLimit: 0, Ulimits: [], CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0,
      MaskedPaths: null, ReadonlyPaths: null,
    },
    NetworkingConfig: {
      EndpointsConfig: {
        default: {
          IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, GwPriority: 0, NetworkID: '', EndpointID: '', Gateway: '', IPAddress: '',
          IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
        },
      },
    },
  };
}

let box: string;

beforeAll(async () => {
  expect((await docker(['pull', busybox])).code).toBe(0);
  box = unique('rv-box');
  const r = await docker(['run', '-d', '--name', box, busybox, 'sleep', '999']);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await docker(['rm', '-f', box]);
});

describe('wrong JSON types are 400 naming the field', () => {
  it('containers/create', async () => {
    expectRefused(await post('/containers/create', { Image: busybox, Hostname: 1 }), 'invalid JSON: Hostname must be string');
    expectRefused(await post('/containers/create', { Image: busybox, HostConfig: { Memory: 'x' } }), 'invalid JSON: HostConfig.Memory must be integer');
    expectRefused(await post('/containers/create', { Image: busybox, Cmd: ['echo', 1] }), 'invalid JSON: Cmd[1] must be string');
    expectRefused(await post('/containers/create', { Image: busybox, Labels: { 'com.example': true } }), 'invalid JSON: Labels["com.example"] must be string');
    expectRefused(
      await post('/containers/create', { Image: busybox, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 8080 }] } } }),
      'invalid JSON: HostConfig.PortBindings["80/tcp"][0].HostPort must be string',
    );
    expectRefused(await post('/containers/create', { Image: busybox, HostConfig: { BlkioWeight: -1 } }), 'invalid JSON: HostConfig.BlkioWeight must be >= 0');
    expectRefused(await post('/containers/create', [busybox]), 'invalid JSON: request body must be object');
  });

  it('exec create and start', async () => {
    expectRefused(await post(`/containers/${box}/exec`, { Cmd: 5 }), 'invalid JSON: Cmd must be array');
    expectRefused(await post(`/containers/${box}/exec`, { Cmd: ['true'], Tty: 'yes' }), 'invalid JSON: Tty must be boolean');
    expectRefused(await post('/exec/nonexistent/start', { Detach: 'yes' }), 'invalid JSON: Detach must be boolean');
  });

  it('networks, volumes, update, auth', async () => {
    expectRefused(await post('/networks/create', { Name: unique('rv-net'), Internal: 'yes' }), 'invalid JSON: Internal must be boolean');
    expectRefused(await post('/networks/create', { Name: unique('rv-net'), IPAM: { Config: [{ Subnet: 10 }] } }), 'invalid JSON: IPAM.Config[0].Subnet must be string');
    expectRefused(await post('/networks/bridge/connect', { Container: 5 }), 'invalid JSON: Container must be string');
    expectRefused(await post('/volumes/create', { Name: 5 }), 'invalid JSON: Name must be string');
    expectRefused(await post('/volumes/create', { Name: unique('rv-vol'), Labels: { a: 1 } }), 'invalid JSON: Labels.a must be string');
    expectRefused(await post(`/containers/${box}/update`, { Memory: '32m' }), 'invalid JSON: Memory must be integer');
    expectRefused(await post('/auth', { username: 1 }), 'invalid JSON: username must be string');
  });
});

describe('lenient like dockerd: unknown fields and nulls', () => {
  it('unknown fields are ignored', async () => {
    const name = unique('rv-unknown');
    const id = await created(await post(`/containers/create?name=${name}`, { Image: busybox, Cmd: ['true'], NotAField: { x: [1] }, HostConfig: { Bogus: 1 } }));
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await post(`/containers/${box}/exec`, { Cmd: ['true'], Whatever: 7 })).status).toBe(201);
    const net = unique('rv-net');
    await created(await post('/networks/create', { Name: net, Extra: true }));
    expect((await rawRequest(bed.socket, 'DELETE', `/networks/${net}`)).status).toBe(204);
    expect((await post('/volumes/create', { Name: unique('rv-vol'), Extra: [] })).status).toBe(201);
    expect((await rawRequest(bed.socket, 'DELETE', `/containers/${name}`)).status).toBe(204);
  });

  it('the docker CLI create body (nulls included) is accepted', async () => {
    const name = unique('rv-cli');
    await created(await post(`/containers/create?name=${name}`, cliCreateBody(busybox)));
    const info = (await getJson(`/containers/${name}/json`)) as { Config: { Cmd: unknown; Entrypoint: unknown } };
    assertMatchesSchema(containerInspectSchema, info);
    // The image's Cmd fills in for the null one.
    expect(info.Config.Cmd).toEqual(['sh']);
    expect((await rawRequest(bed.socket, 'DELETE', `/containers/${name}`)).status).toBe(204);
  });

  it('null for every field Go accepts it for is "not set"', async () => {
    const name = unique('rv-nulls');
    const body = {
      Hostname: null, Domainname: null, User: null, AttachStdin: null, AttachStdout: null, AttachStderr: null, ExposedPorts: null, Tty: null, OpenStdin: null,
      StdinOnce: null, Env: null, Cmd: null, Healthcheck: null, ArgsEscaped: null, Image: busybox, Volumes: null, WorkingDir: null, Entrypoint: null,
      NetworkDisabled: null, MacAddress: null, OnBuild: null, Labels: { 'rv.label': null }, StopSignal: null, StopTimeout: null, Shell: null,
      HostConfig: {
        Binds: null, NetworkMode: null, PortBindings: null, RestartPolicy: null, AutoRemove: null, Memory: null, MemorySwappiness: null, PidsLimit: null,
        OomKillDisable: null, Init: null, CapAdd: null, Mounts: null, Tmpfs: null, Ulimits: null, LogConfig: null, ConsoleSize: null, Dns: null, ExtraHosts: null,
      },
      NetworkingConfig: null,
    };
    const id = await created(await post(`/containers/create?name=${name}`, body));
    const info = (await getJson(`/containers/${name}/json`)) as {
      Config: { Hostname: string; Labels: Record<string, string>; Env: string[] };
      HostConfig: { RestartPolicy: { Name: string } };
    };
    expect(info.Config.Hostname).toBe(id.slice(0, 12));
    expect(info.Config.Labels).toEqual({ 'rv.label': '' });
    expect(info.HostConfig.RestartPolicy.Name).toBe('no');
    assertMatchesSchema(containerInspectSchema, info);
    expect((await rawRequest(bed.socket, 'DELETE', `/containers/${name}`)).status).toBe(204);

    expect((await post(`/containers/${box}/exec`, { Cmd: ['true'], Env: null, User: null, WorkingDir: null, ConsoleSize: null, DetachKeys: null })).status).toBe(201);
    const net = unique('rv-net');
    await created(await post('/networks/create', { Name: net, Driver: null, IPAM: null, Options: null, Labels: null, ConfigFrom: null, EnableIPv6: null }));
    expect((await rawRequest(bed.socket, 'DELETE', `/networks/${net}`)).status).toBe(204);
    expect((await post('/volumes/create', { Name: unique('rv-vol'), Driver: null, DriverOpts: null, Labels: null })).status).toBe(201);
    expect((await post(`/containers/${box}/update`, { Memory: null, MemorySwappiness: null, OomKillDisable: null, PidsLimit: null, RestartPolicy: null })).status).toBe(200);
  });

  it('Cmd and Entrypoint may be a single string', async () => {
    const name = unique('rv-strcmd');
    await created(await post(`/containers/create?name=${name}`, { Image: busybox, Entrypoint: 'echo', Cmd: 'hi' }));
    const info = (await getJson(`/containers/${name}/json`)) as { Path: string; Args: string[] };
    expect([info.Path, ...info.Args]).toEqual(['echo', 'hi']);
    expect((await rawRequest(bed.socket, 'DELETE', `/containers/${name}`)).status).toBe(204);
  });

  it('HostConfig.CapAdd/CapDrop and Shell may be a single string too (Go strslices), kept as lists', async () => {
    const name = unique('rv-strcaps');
    await created(await post(`/containers/create?name=${name}`, { Image: busybox, Cmd: ['true'], Shell: '/bin/sh', HostConfig: { CapAdd: 'NET_ADMIN', CapDrop: 'MKNOD' } }));
    const info = (await getJson(`/containers/${name}/json`)) as { Config: { Shell?: string[] }; HostConfig: { CapAdd: string[]; CapDrop: string[] } };
    expect(info.HostConfig.CapAdd).toEqual(['NET_ADMIN']);
    expect(info.HostConfig.CapDrop).toEqual(['MKNOD']);
    expect(info.Config.Shell).toEqual(['/bin/sh']);
    expect((await rawRequest(bed.socket, 'DELETE', `/containers/${name}`)).status).toBe(204);
  });

  it('empty list entries (null or {}) are 400s, never a 500', async () => {
    const refused = await post(`/containers/create?name=${unique('rv-emptyul')}`, { Image: busybox, Cmd: ['true'], HostConfig: { Ulimits: [null] } });
    expect(refused.status, refused.body).toBe(400);
    const tmpfs = { Type: 'tmpfs', Target: '/t', TmpfsOptions: { Options: [null] } };
    const mount = await post(`/containers/create?name=${unique('rv-emptyopt')}`, { Image: busybox, Cmd: ['true'], HostConfig: { Mounts: [tmpfs] } });
    expect(mount.status, mount.body).toBe(400);
  });

  it('dockerode sends nulls through its own API', async () => {
    const client = new Docker({ socketPath: bed.socket });
    const c = await client.createContainer({ Image: busybox, Cmd: ['true'], Env: null as unknown as string[], HostConfig: { Binds: null as unknown as string[] } });
    await c.remove();
  });
});

describe('content types and bodies', () => {
  it('JSON under another content type is refused with dockerd text', async () => {
    expectRefused(
      await post('/containers/create', { Image: busybox }, { 'Content-Type': 'text/plain' }),
      "unsupported Content-Type header (text/plain): must be 'application/json'",
    );
    expectRefused(
      await post('/volumes/create', { Name: unique('rv-vol') }, { 'Content-Type': 'application/x-www-form-urlencoded' }),
      "unsupported Content-Type header (application/x-www-form-urlencoded): must be 'application/json'",
    );
  });

  it('a charset parameter is fine, and so is no body at all', async () => {
    expect((await post('/volumes/create', { Name: unique('rv-vol') }, { 'Content-Type': 'application/json; charset=utf-8' })).status).toBe(201);
    const none = await rawRequest(bed.socket, 'POST', '/volumes/create');
    expect(none.status, none.body).toBe(201);
    expect((JSON.parse(none.body) as { Name: string }).Name).toMatch(/^[0-9a-f]{64}$/);
  });

  it('start with a body is refused; an empty object is not', async () => {
    const name = unique('rv-start');
    await created(await post(`/containers/create?name=${name}`, { Image: busybox, Cmd: ['true'] }));
    expectRefused(
      await post(`/containers/${name}/start`, { HostConfig: { Privileged: true } }),
      'starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24',
    );
    expect((await post(`/containers/${name}/start`, {})).status).toBe(204);
    expect((await rawRequest(bed.socket, 'DELETE', `/containers/${name}?force=1`)).status).toBe(204);
  });
});

describe('replies match the response schemas', () => {
  it('container create, inspect, list', async () => {
    const name = unique('rv-run');
    const r = await post(`/containers/create?name=${name}`, { Image: busybox, Cmd: ['sleep', '30'], Labels: { 'rv.schema': '1' } });
    expect(r.status, r.body).toBe(201);
    assertMatchesSchema(containerCreateResponseSchema, JSON.parse(r.body));
    assertMatchesSchema(containerInspectSchema, await getJson(`/containers/${name}/json`));
    expect((await post(`/containers/${name}/start`, undefined)).status).toBe(204);
    const running = (await getJson(`/containers/${name}/json`)) as { State: { Status: string } };
    expect(running.State.Status).toBe('running');
    assertMatchesSchema(containerInspectSchema, running);
    const list = (await getJson(`/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: ['rv.schema=1'] }))}`)) as unknown[];
    expect(list).toHaveLength(1);
    for (const c of list) assertMatchesSchema(containerSummarySchema, c);
    expect((await rawRequest(bed.socket, 'DELETE', `/containers/${name}?force=1`)).status).toBe(204);
  });

  it('exec create and inspect', async () => {
    const r = await post(`/containers/${box}/exec`, { Cmd: ['sh', '-c', 'exit 3'], AttachStdout: true });
    expect(r.status, r.body).toBe(201);
    const reply = JSON.parse(r.body) as { Id: string };
    assertMatchesSchema(execCreateResponseSchema, reply);
    assertMatchesSchema(execInspectSchema, await getJson(`/exec/${reply.Id}/json`));
    expect((await post(`/exec/${reply.Id}/start`, { Detach: true, Tty: false })).status).toBe(200);
    let inspected: { Running: boolean; ExitCode: number | null } = { Running: true, ExitCode: null };
    for (let i = 0; i < 50 && inspected.Running; i++) {
      inspected = (await getJson(`/exec/${reply.Id}/json`)) as typeof inspected;
      if (inspected.Running) await new Promise((res) => setTimeout(res, 100));
    }
    assertMatchesSchema(execInspectSchema, inspected);
    expect(inspected.ExitCode).toBe(3);
  });

  it('networks, volumes, images', async () => {
    const net = unique('rv-net');
    await created(await post('/networks/create', { Name: net, Labels: { a: 'b' } }));
    assertMatchesSchema(networkSchema, await getJson(`/networks/${net}`));
    for (const n of (await getJson('/networks')) as unknown[]) assertMatchesSchema(networkSchema, n);
    expect((await rawRequest(bed.socket, 'DELETE', `/networks/${net}`)).status).toBe(204);

    const vol = unique('rv-vol');
    const v = await post('/volumes/create', { Name: vol });
    expect(v.status).toBe(201);
    assertMatchesSchema(volumeSchema, JSON.parse(v.body));
    assertMatchesSchema(volumeSchema, await getJson(`/volumes/${vol}`));

    const images = (await getJson('/images/json')) as unknown[];
    expect(images.length).toBeGreaterThan(0);
    for (const i of images) assertMatchesSchema(imageSummarySchema, i);
    assertMatchesSchema(imageInspectSchema, await getJson(`/images/${busybox}/json`));
  });
});
