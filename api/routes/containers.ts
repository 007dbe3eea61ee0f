import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { invalidParameter, notFound } from '../../translate/errors.js';
import { validatedJsonBody } from '../validate.js';
import { containerCreateRequestSchema } from '../../openapi/containers.js';
import { attachParams, legacyHijack, streamContentType } from '../hijack.js';
import { queryBool, queryInt, queryString, type Query } from '../query.js';
import { requestVersion } from '../request-version.js';
import { healthcheckForVersion } from '../../translate/health.js';
import { containerSpec } from '../../translate/container-spec.js';
import { containerInspectJson, containerListJson, containerPruneJson } from '../../translate/container-json.js';
import type { ApiServices, WaitCondition } from '../services.js';
import { pipeChunks, startStream } from '../json-stream.js';
import { requestAbort } from '../request-context.js';
import { clientCopiesBytes, encodeStream } from '../../translate/stream-frames.js';
import { detailsPrefix } from '../../translate/log-attrs.js';

type IdParams = { Params: { id: string } };

/**
 * dockerd's rule, by declared length: an empty JSON object is 2 bytes and "null" 4 (clients send
 * those), anything over 7 is a start-time HostConfig; chunked means an unknown length.
 */
function refuseStartBody(request: FastifyRequest): void {
  const length = Number(request.headers['content-length'] ?? 0);
  if (length > 7 || request.headers['transfer-encoding'] !== undefined) {
    throw invalidParameter('starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24');
  }
}

function stopOptions(q: Query): { timeout?: number; signal?: string } {
  const t = queryInt(q, 't');
  const signal = queryString(q, 'signal');
  return { ...(t !== undefined ? { timeout: t } : {}), ...(signal ? { signal } : {}) };
}

export const containerRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  const containers = services.containers;

  app.post('/containers/create', async (request, reply) => {
    const name = queryString(request.query as Query, 'name');
    // Validated once against the schema, typed by it, then split into the engine's spec.
    const body = healthcheckForVersion(await validatedJsonBody(request, containerCreateRequestSchema), requestVersion(request));
    const { id, warnings } = await containers.create({ ...(name ? { name } : {}), spec: containerSpec(body) });
    return reply.code(201).send({ Id: id, Warnings: warnings });
  });

  app.get('/containers/json', async (request) => {
    const q = request.query as Query;
    const limit = queryInt(q, 'limit');
    const filters = queryString(q, 'filters');
    const listed = await containers.list({ all: queryBool(q, 'all'), size: queryBool(q, 'size'), ...(limit !== undefined ? { limit } : {}), ...(filters ? { filters } : {}) });
    const now = new Date();
    return listed.map((c) => containerListJson(c, now));
  });

  app.post('/containers/prune', async (request) => {
    const filters = queryString(request.query as Query, 'filters');
    return containerPruneJson(await containers.prune(filters));
  });

  app.get<IdParams>('/containers/:id/json', async (request) => containerInspectJson(await containers.inspect(request.params.id, { size: queryBool(request.query as Query, 'size') })));

  app.post<IdParams>('/containers/:id/start', async (request, reply) => {
    refuseStartBody(request);
    await containers.start(request.params.id);
    return reply.code(204).send();
  });

  app.post<IdParams>('/containers/:id/stop', async (request, reply) => {
    await containers.stop(request.params.id, stopOptions(request.query as Query));
    return reply.code(204).send();
  });

  app.post<IdParams>('/containers/:id/restart', async (request, reply) => {
    await containers.restart(request.params.id, stopOptions(request.query as Query));
    return reply.code(204).send();
  });

  app.post<IdParams>('/containers/:id/kill', async (request, reply) => {
    const signal = queryString(request.query as Query, 'signal');
    await containers.kill(request.params.id, signal || undefined);
    return reply.code(204).send();
  });

  app.post<IdParams>('/containers/:id/rename', async (request, reply) => {
    await containers.rename(request.params.id, queryString(request.query as Query, 'name') ?? '');
    return reply.code(204).send();
  });

  app.delete<IdParams>('/containers/:id', async (request, reply) => {
    const q = request.query as Query;
    if (queryBool(q, 'link')) await containers.removeLink(request.params.id);
    else await containers.remove(request.params.id, { force: queryBool(q, 'force'), volumes: queryBool(q, 'v') });
    return reply.code(204).send();
  });

  // A legacy link's name, /parent/alias (docker rm --link), has a slash of its own.
  app.delete<{ Params: { parent: string; alias: string } }>('/containers/:parent/:alias', async (request, reply) => {
    // The name as sent (the CLI sends "/parent/alias", a double slash the router folds away) for dockerd's messages.
    const sent = /^(?:\/v[\d.]+)?\/containers\/(.+)$/.exec((request.raw.url ?? '').split('?')[0] ?? '')?.[1];
    const ref = sent ? decodeURIComponent(sent) : `${request.params.parent}/${request.params.alias}`;
    if (!queryBool(request.query as Query, 'link')) throw notFound(`No such container: ${ref}`);
    await containers.removeLink(ref);
    return reply.code(204).send();
  });

  app.post<IdParams>('/containers/:id/wait', async (request, reply) => {
    const raw = queryString(request.query as Query, 'condition') || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(raw)) throw invalidParameter(`invalid condition: "${raw}"`);
    const abort = requestAbort(request, reply);
    const { result } = await containers.wait(request.params.id, raw as WaitCondition, abort.signal);
    startStream(reply, 'application/json');
    const outcome = await Promise.race([result, new Promise<undefined>((r) => abort.signal.addEventListener('abort', () => r(undefined), { once: true }))]);
    if (outcome && !reply.raw.destroyed) reply.raw.end(JSON.stringify(outcome) + '\n');
  });

  app.get<IdParams>('/containers/:id/logs', async (request, reply) => {
    const q = request.query as Query;
    const abort = requestAbort(request, reply);
    const tail = queryString(q, 'tail');
    const since = queryString(q, 'since');
    const until = queryString(q, 'until');
    const out = await containers.logs(
      request.params.id,
      {
        stdout: queryBool(q, 'stdout'),
        stderr: queryBool(q, 'stderr'),
        follow: queryBool(q, 'follow'),
        timestamps: queryBool(q, 'timestamps'),
        details: queryBool(q, 'details'),
        ...(tail !== undefined ? { tail } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
      },
      abort.signal,
    );
    startStream(reply, streamContentType(out.tty, requestVersion(request)));
    // dockerd sends a frame a line, which only the docker CLI (bytes, not frames) cannot tell from a frame a run of lines.
    const cut = clientCopiesBytes(request.headers['user-agent']) ? 'run' : 'line';
    const details = out.attrs ? detailsPrefix(out.attrs) : undefined;
    await pipeChunks(reply, encodeStream(out.chunks, { tty: out.tty, timestamps: queryBool(q, 'timestamps'), cut, ...(details !== undefined ? { details } : {}) }));
  });

  // Attach without `Upgrade: tcp` (legacy clients): dockerd still hijacks and answers 200 on the raw socket.
  app.post<IdParams>('/containers/:id/attach', async (request, reply) => {
    const abort = requestAbort(request, reply);
    const out = await containers.attach(request.params.id, attachParams(request.query as Query), abort.signal);
    await legacyHijack(request, reply, out, abort);
  });
};
