/** GET /containers/{id}/stats and /top, POST /containers/{id}/pause, /unpause and /update. */
import type { FastifyPluginAsync } from 'fastify';
import { invalidParameter } from '../../translate/errors.js';
import { statsLines } from '../../translate/container-stats.js';
import { validatedJsonBody } from '../validate.js';
import { containerUpdateRequestSchema } from '../../openapi/containers.js';
import { queryBool, queryString, type Query } from '../query.js';
import type { ContainerResourceService } from '../services.js';
import { sendLineStream } from '../json-stream.js';
import { requestAbort } from '../request-context.js';

type IdParams = { Params: { id: string } };

export const containerResourceRoutes: FastifyPluginAsync<{ resources: ContainerResourceService }> = async (app, { resources }) => {
  app.get<IdParams>('/containers/:id/stats', async (request, reply) => {
    const q = request.query as Query;
    const stream = queryBool(q, 'stream', true);
    const oneShot = queryBool(q, 'one-shot');
    if (stream && oneShot) throw invalidParameter('cannot have stream=true and one-shot=true');
    const abort = requestAbort(request, reply);
    // Looked up before the headers go, so a missing container is a plain 404; the first sample may be a second away.
    const readings = resources.stats(request.params.id, { stream, oneShot }, abort.signal);
    await sendLineStream(reply, statsLines(readings), abort);
  });

  app.get<IdParams>('/containers/:id/top', async (request) => {
    const { titles, processes } = await resources.top(request.params.id, queryString(request.query as Query, 'ps_args'));
    return { Titles: titles, Processes: processes };
  });

  app.post<IdParams>('/containers/:id/pause', async (request, reply) => {
    await resources.pause(request.params.id);
    return reply.code(204).send();
  });

  app.post<IdParams>('/containers/:id/unpause', async (request, reply) => {
    await resources.unpause(request.params.id);
    return reply.code(204).send();
  });

  app.post<IdParams>('/containers/:id/update', async (request) => ({ Warnings: await resources.update(request.params.id, await validatedJsonBody(request, containerUpdateRequestSchema)) }));
};
