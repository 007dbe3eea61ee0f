import type { FastifyPluginAsync } from 'fastify';
import { invalidParameter, notImplemented } from '../../translate/errors.js';
import { requestBodyStream, streamJsonMessages } from '../json-stream.js';
import { queryBool, queryString, type Query } from '../query.js';
import type { ApiServices } from '../services.js';
import type { BuildParams } from '../build-services.js';

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

/** The classic builder's POST /build, and /build/prune. Unknown or BuildKit-only parameters are ignored leniently, as podman learnt (cachefrom=[]). */
export const buildRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  app.post('/build', async (request, reply) => {
    const build = services.build;
    if (!build) throw notImplemented('building images is not supported by this engine');
    const q = request.query as Query;
    if (queryString(q, 'version') === '2') throw notImplemented('BuildKit is not supported; use the classic builder (DOCKER_BUILDKIT=0)');
    if (queryBool(q, 'squash')) throw invalidParameter('squash is only supported with experimental mode');
    const remote = queryString(q, 'remote');
    if (remote) throw notImplemented('remote build contexts (remote=) are not supported: send the context as the request body');
    const tags = q.t === undefined ? [] : Array.isArray(q.t) ? q.t : [q.t];
    const target = queryString(q, 'target');
    const platform = queryString(q, 'platform');
    const registryConfig = request.headers['x-registry-config'];
    const params: BuildParams = {
      body: requestBodyStream(request),
      dockerfile: queryString(q, 'dockerfile') ?? 'Dockerfile',
      tags,
      quiet: queryBool(q, 'q'),
      nocache: queryBool(q, 'nocache'),
      pull: queryBool(q, 'pull'),
      rm: queryBool(q, 'rm', true),
      forcerm: queryBool(q, 'forcerm'),
      buildArgs: jsonMap(q, 'buildargs', isStringOrNull),
      labels: jsonMap(q, 'labels', isString),
      ...(target ? { target } : {}),
      ...(platform ? { platform } : {}),
      ...(typeof registryConfig === 'string' ? { registryConfig } : {}),
    };
    await streamJsonMessages(request, reply, (emit) => build.build(params, emit));
  });

  app.post('/build/prune', async (request) => {
    const build = services.build;
    if (!build) throw notImplemented('building images is not supported by this engine');
    return build.prune({ all: queryBool(request.query as Query, 'all') });
  });

  // The CLI calls this on Ctrl-C; builds are not tracked by id, so there is nothing to look up.
  app.post('/build/cancel', async (_request, reply) => reply.code(200).send());
};
