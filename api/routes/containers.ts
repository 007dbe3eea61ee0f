import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { invalidParameter } from '../../translate/errors.js';
import { validatedJsonBody } from '../validate.js';
import { containerCreateRequestSchema } from '../../openapi/containers.js';
import { attachParams, pumpOutput, streamContentType } from '../hijack.js';
import { queryBool, queryInt, queryString, type Query } from '../query.js';
import { requestVersion } from '../request-version.js';
import type { ApiServices, OutputStream, WaitCondition } from '../services.js';

type IdParams = { Params: { id: string } };

/** Aborts when the client closes the connection, so followers and waiters stop. */
function clientGone(request: FastifyRequest): AbortController {
  const abort = new AbortController();
  request.raw.socket.on('close', () => abort.abort());
  return abort;
}

/** Status line and headers go out at once (clients time out otherwise); the body follows as it comes. */
function startStream(reply: FastifyReply, contentType: string): void {
  reply.hijack();
  const headers = { ...reply.getHeaders(), 'content-type': contentType };
  reply.raw.writeHead(200, headers as Record<string, string>);
  reply.raw.flushHeaders();
}

async function streamOutput(reply: FastifyReply, out: OutputStream): Promise<void> {
  try {
    for await (const chunk of out.chunks) {
      if (reply.raw.destroyed) break;
      if (!reply.raw.write(chunk)) await new Promise<void>((r) => reply.raw.once('drain', r).once('close', r));
    }
  } finally {
    if (!reply.raw.destroyed) reply.raw.end();
  }
}

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
    const created = await containers.create({ ...(name ? { name } : {}), body: await validatedJsonBody(request, containerCreateRequestSchema) });
    return reply.code(201).send(created);
  });

  app.get('/containers/json', async (request) => {
    const q = request.query as Query;
    const limit = queryInt(q, 'limit');
    const filters = queryString(q, 'filters');
    return containers.list({ all: queryBool(q, 'all'), ...(limit !== undefined ? { limit } : {}), ...(filters ? { filters } : {}) });
  });

  app.post('/containers/prune', async (request) => {
    const filters = queryString(request.query as Query, 'filters');
    return containers.prune(filters);
  });

  app.get<IdParams>('/containers/:id/json', async (request) => containers.inspect(request.params.id));

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
    await containers.remove(request.params.id, { force: queryBool(q, 'force'), volumes: queryBool(q, 'v') });
    return reply.code(204).send();
  });

  app.post<IdParams>('/containers/:id/wait', async (request, reply) => {
    const raw = queryString(request.query as Query, 'condition') || 'not-running';
    if (!['not-running', 'next-exit', 'removed'].includes(raw)) throw invalidParameter(`invalid condition: "${raw}"`);
    const abort = clientGone(request);
    const { result } = await containers.wait(request.params.id, raw as WaitCondition, abort.signal);
    startStream(reply, 'application/json');
    const outcome = await Promise.race([result, new Promise<undefined>((r) => abort.signal.addEventListener('abort', () => r(undefined), { once: true }))]);
    if (outcome && !reply.raw.destroyed) reply.raw.end(JSON.stringify(outcome) + '\n');
  });

  app.get<IdParams>('/containers/:id/logs', async (request, reply) => {
    const q = request.query as Query;
    const abort = clientGone(request);
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
        ...(tail !== undefined ? { tail } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
      },
      abort.signal,
    );
    startStream(reply, streamContentType(out.tty, requestVersion(request)));
    await streamOutput(reply, out);
  });

  // Attach without `Upgrade: tcp` (legacy clients): dockerd still hijacks and answers 200 on the raw socket.
  app.post<IdParams>('/containers/:id/attach', async (request, reply) => {
    const abort = new AbortController();
    const socket = request.raw.socket;
    socket.on('close', () => abort.abort());
    const out = await containers.attach(request.params.id, attachParams(request.query as Query), abort.signal);
    reply.hijack();
    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: ${streamContentType(out.tty, requestVersion(request))}\r\nApi-Version: ${String(reply.getHeader('api-version') ?? '')}\r\n\r\n`);
    await pumpOutput(socket, out, abort);
  });
};
