/** GET /containers/{id}/stats and /top, POST /containers/{id}/pause, /unpause and /update. */
import type { FastifyPluginAsync } from 'fastify';
import { invalidParameter } from '../../translate/errors.js';
import { validatedJsonBody } from '../validate.js';
import { containerUpdateRequestSchema } from '../../openapi/containers.js';
import { queryBool, queryString, type Query } from '../query.js';
import type { ContainerResourceService } from '../services.js';

type IdParams = { Params: { id: string } };

export const containerResourceRoutes: FastifyPluginAsync<{ resources: ContainerResourceService }> = async (app, { resources }) => {
  app.get<IdParams>('/containers/:id/stats', async (request, reply) => {
    const q = request.query as Query;
    const stream = queryBool(q, 'stream', true);
    const oneShot = queryBool(q, 'one-shot');
    if (stream && oneShot) throw invalidParameter('cannot have stream=true and one-shot=true');
    const abort = new AbortController();
    request.raw.socket.on('close', () => abort.abort());
    const lines = resources.stats(request.params.id, { stream, oneShot }, abort.signal);
    // Headers go out before the first sample (a second away for stream=false): clients time out otherwise.
    reply.hijack();
    reply.raw.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), 'content-type': 'application/json' });
    reply.raw.flushHeaders();
    try {
      for await (const line of lines) {
        if (reply.raw.destroyed) break;
        reply.raw.write(line);
      }
    } finally {
      abort.abort();
      if (!reply.raw.destroyed) reply.raw.end();
    }
  });

  app.get<IdParams>('/containers/:id/top', async (request) => resources.top(request.params.id, queryString(request.query as Query, 'ps_args')));

  app.post<IdParams>('/containers/:id/pause', async (request, reply) => {
    await resources.pause(request.params.id);
    return reply.code(204).send();
  });

  app.post<IdParams>('/containers/:id/unpause', async (request, reply) => {
    await resources.unpause(request.params.id);
    return reply.code(204).send();
  });

  app.post<IdParams>('/containers/:id/update', async (request) => resources.update(request.params.id, await validatedJsonBody(request, containerUpdateRequestSchema)));
};
