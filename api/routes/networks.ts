import type { FastifyPluginAsync } from 'fastify';
import { validatedJsonBody } from '../validate.js';
import { networkConnectRequestSchema, networkCreateRequestSchema, networkDisconnectRequestSchema } from '../../openapi/networks.js';
import { queryString, type Query } from '../query.js';
import type { ApiServices } from '../services.js';

/** Thin: parse, call the network service, shape the status code. */
export const networkRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  const networks = services.networks;
  const id = (request: { params: unknown }): string => (request.params as { id: string }).id;

  app.get('/networks', async (request) => networks.list(queryString(request.query as Query, 'filters')));

  app.get('/networks/:id', async (request) => networks.inspect(id(request)));

  app.post('/networks/create', async (request, reply) => reply.code(201).send(await networks.create(await validatedJsonBody(request, networkCreateRequestSchema))));

  app.post('/networks/prune', async (request) => networks.prune(queryString(request.query as Query, 'filters')));

  app.delete('/networks/:id', async (request, reply) => {
    await networks.remove(id(request));
    return reply.code(204).send();
  });

  app.post('/networks/:id/connect', async (request, reply) => {
    await networks.connect(id(request), await validatedJsonBody(request, networkConnectRequestSchema));
    return reply.code(200).send();
  });

  app.post('/networks/:id/disconnect', async (request, reply) => {
    await networks.disconnect(id(request), await validatedJsonBody(request, networkDisconnectRequestSchema));
    return reply.code(200).send();
  });
};
