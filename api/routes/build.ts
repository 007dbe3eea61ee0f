import { requestAbort } from '../request-context.js';
import type { FastifyPluginAsync } from 'fastify';
import { internal, invalidParameter, notImplemented } from '../../translate/errors.js';
import { requestBodyStream, streamJsonMessages } from '../json-stream.js';
import { queryBool, queryString, type Query } from '../query.js';
import type { ApiServices } from '../services.js';
import type { BuildParams, RunHostConfig } from '../services.js';
import { buildPruneJson } from '../../translate/build-cache-json.js';

/** A JSON object query parameter (buildargs, labels); clients send "{}", "null" or nothing alike. */
function jsonMap<V>(q: Query, name: string, valid: (v: unknown) => v is V): Record<string, V> {
  const raw = queryString(q, name);
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'null') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw invalidParameter(`invalid ${name}: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidParameter(`invalid ${name}: must be a JSON object`);
  const out: Record<string, V> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (!valid(v)) throw invalidParameter(`invalid ${name}: the value of ${k} must be a string`);
    out[k] = v;
  }
  return out;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** `cachefrom`: a JSON list of image references, as dockerd's newImageBuildOptions decodes it. */
function cacheFrom(q: Query): string[] {
  const raw = queryString(q, 'cachefrom');
  if (raw === undefined || raw === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw invalidParameter(`invalid cachefrom: ${(err as Error).message}`);
  }
  if (parsed === null) return [];
  if (!Array.isArray(parsed) || !parsed.every(isString)) throw invalidParameter('json: cannot unmarshal into Go value of type []string');
  return parsed;
}

/** Every value of a repeated parameter (extrahosts), as Go's r.Form[name]. */
function queryList(q: Query, name: string): string[] {
  const v = q[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** dockerd's Int64ValueOrZero: a value that is not a 64-bit integer counts as 0. */
function int64OrZero(q: Query, name: string): number {
  const v = queryString(q, name)?.trim();
  if (!v || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : 0;
}

function ulimits(q: Query): RunHostConfig['Ulimits'] {
  const raw = queryString(q, 'ulimits');
  if (raw === undefined || raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw invalidParameter(`error reading ulimit settings: ${(err as Error).message}`);
  }
  if (parsed === null) return undefined;
  const valid = (u: unknown): u is { Name: string; Soft?: number; Hard?: number } => {
    const o = u as { Name?: unknown; Soft?: unknown; Hard?: unknown } | null;
    return !!o && typeof o === 'object' && typeof o.Name === 'string' && Number.isInteger(o.Soft ?? 0) && Number.isInteger(o.Hard ?? 0);
  };
  if (!Array.isArray(parsed) || !parsed.every(valid)) throw invalidParameter('error reading ulimit settings: json: cannot unmarshal into Go value of type []*units.Ulimit');
  return parsed.map((u) => ({ Name: u.Name, Soft: u.Soft ?? 0, Hard: u.Hard ?? 0 }));
}

/** The RUN containers' HostConfig from the query, as dockerd's newImageBuildOptions and hostConfigFromOptions build it. */
function runHostConfig(q: Query): RunHostConfig {
  const shm = queryString(q, 'shmsize');
  let shmSize = 0;
  if (shm !== undefined && shm !== '') {
    if (!/^[+-]?\d+$/.test(shm) || !Number.isSafeInteger(Number(shm))) throw internal(`strconv.ParseInt: parsing ${JSON.stringify(shm)}: invalid syntax`);
    shmSize = Number(shm);
  }
  const isolation = queryString(q, 'isolation');
  if (isolation && isolation.toLowerCase() !== 'default') throw invalidParameter(`Unsupported isolation: ${JSON.stringify(isolation)}`);
  if (q.securityopt !== undefined) throw invalidParameter('The daemon on this platform does not support setting security options on build');
  const hc: RunHostConfig = { NetworkMode: queryString(q, 'networkmode') ?? '' };
  const extraHosts = queryList(q, 'extrahosts').filter((h) => h !== '');
  if (extraHosts.length > 0) hc.ExtraHosts = extraHosts;
  const ints = { Memory: 'memory', MemorySwap: 'memswap', CpuShares: 'cpushares', CpuPeriod: 'cpuperiod', CpuQuota: 'cpuquota' } as const;
  for (const [field, name] of Object.entries(ints) as [keyof typeof ints, string][]) {
    const n = int64OrZero(q, name);
    if (n !== 0) hc[field] = n;
  }
  const strings = { CpusetCpus: 'cpusetcpus', CpusetMems: 'cpusetmems', CgroupParent: 'cgroupparent' } as const;
  for (const [field, name] of Object.entries(strings) as [keyof typeof strings, string][]) {
    const v = queryString(q, name);
    if (v) hc[field] = v;
  }
  if (shmSize !== 0) hc.ShmSize = shmSize;
  const limits = ulimits(q);
  if (limits && limits.length > 0) hc.Ulimits = limits;
  return hc;
}

/** The classic builder's POST /build, and /build/prune. Unknown or BuildKit-only parameters are ignored leniently. */
export const buildRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  app.post('/build', async (request, reply) => {
    const build = services.build;
    if (!build) throw notImplemented('building images is not supported by this engine');
    const q = request.query as Query;
    if (queryString(q, 'version') === '2') throw notImplemented('BuildKit is not supported; use the classic builder (DOCKER_BUILDKIT=0)');
    if (queryBool(q, 'squash')) throw invalidParameter('squash is only supported with experimental mode');
    const remote = queryString(q, 'remote');
    const tags = q.t === undefined ? [] : Array.isArray(q.t) ? q.t : [q.t];
    const target = queryString(q, 'target');
    const platform = queryString(q, 'platform');
    const registryConfig = request.headers['x-registry-config'];
    const hostConfig = runHostConfig(q);
    // The client going away (docker build's Ctrl-C, an aborted request) cancels the build, as the
    // request context does in dockerd. A response that was ended first is a build that finished.
    const abort = requestAbort(request, reply);
    const params: BuildParams = {
      body: requestBodyStream(request),
      ...(remote ? { remote } : {}),
      dockerfile: queryString(q, 'dockerfile') ?? 'Dockerfile',
      tags,
      quiet: queryBool(q, 'q'),
      nocache: queryBool(q, 'nocache'),
      pull: queryBool(q, 'pull'),
      rm: queryBool(q, 'rm', true),
      forcerm: queryBool(q, 'forcerm'),
      buildArgs: jsonMap(q, 'buildargs', isStringOrNull),
      labels: jsonMap(q, 'labels', isString),
      cacheFrom: cacheFrom(q),
      ...(target ? { target } : {}),
      ...(platform ? { platform } : {}),
      ...(typeof registryConfig === 'string' ? { registryConfig } : {}),
      runHostConfig: hostConfig,
      signal: abort.signal,
    };
    await streamJsonMessages(request, reply, (emit) => build.build(params, emit));
  });

  app.post('/build/prune', async (request) => {
    const build = services.build;
    if (!build) throw notImplemented('building images is not supported by this engine');
    return buildPruneJson(await build.prune({ all: queryBool(request.query as Query, 'all') }));
  });

  // The CLI calls this on Ctrl-C (BuildKit builds); a classic build stops when its client disconnects,
  // so there is nothing to look up by id.
  app.post('/build/cancel', async (_request, reply) => reply.code(200).send());
};
