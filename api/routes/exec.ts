import type { FastifyPluginAsync } from 'fastify';
import { invalidParameter } from '../../translate/errors.js';
import { execInspectJson } from '../../translate/exec-process.js';
import { jsonBody } from '../body.js';
import { validatedJsonBody } from '../validate.js';
import { execCreateRequestSchema } from '../../openapi/exec.js';
import { legacyHijack, parseExecStartBody } from '../hijack.js';
import { queryInt, type Query } from '../query.js';
import type { ApiServices } from '../services.js';
import { abortOnClose } from '../json-stream.js';

type IdParams = { Params: { id: string } };

function size(q: Query): { h: number; w: number } {
  const h = queryInt(q, 'h');
  const w = queryInt(q, 'w');
  if (h === undefined || w === undefined || h < 0 || w < 0) throw invalidParameter('invalid resize parameters: h and w must be non-negative integers');
  return { h, w };
}

export const execRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  app.post<IdParams>('/containers/:id/exec', async (request, reply) => {
    const id = await services.exec.create(request.params.id, await validatedJsonBody(request, execCreateRequestSchema));
    return reply.code(201).send({ Id: id });
  });

  // Without `Upgrade: tcp` (Detach, or legacy clients): a plain 200, then the raw socket carries the output.
  app.post<IdParams>('/exec/:id/start', async (request, reply) => {
    const opts = parseExecStartBody((await jsonBody(request)) ?? {});
    const abort = abortOnClose(request);
    const out = await services.exec.start(request.params.id, opts, abort.signal);
    if (!out) return reply.code(200).send();
    await legacyHijack(request, reply, out, abort);
  });

  app.post<IdParams>('/exec/:id/resize', async (request, reply) => {
    const { h, w } = size(request.query as Query);
    await services.exec.resize(request.params.id, h, w);
    return reply.code(200).send();
  });

  app.get<IdParams>('/exec/:id/json', async (request) => execInspectJson(await services.exec.inspect(request.params.id)));

  app.post<IdParams>('/containers/:id/resize', async (request, reply) => {
    const { h, w } = size(request.query as Query);
    await services.containers.resize(request.params.id, h, w);
    return reply.code(200).send();
  });
};
