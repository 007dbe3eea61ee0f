import type { FastifyPluginAsync } from 'fastify';
import { validatedJsonBody } from '../validate.js';
import { networkConnectRequestSchema, networkCreateRequestSchema, networkDisconnectRequestSchema } from '../../openapi/networks.js';
import { queryString, type Query } from '../query.js';
import type { ApiServices } from '../services.js';
import { networkCreateJson, networkInspectJson, networkListJson, networkPruneJson } from '../../translate/network-json.js';
import { networkConnectParams, networkCreateSpec, networkRequestContainer } from '../../translate/network-request.js';

/** Thin: parse, call the network service, shape the status code and dockerd's JSON. */
export const networkRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  const networks = services.networks;
  const id = (request: { params: unknown }): string => (request.params as { id: string }).id;

  app.get('/networks', async (request) => networkListJson(await networks.list(queryString(request.query as Query, 'filters'))));

  app.get('/networks/:id', async (request) => networkInspectJson(await networks.inspect(id(request))));

  app.post('/networks/create', async (request, reply) => {
    const spec = networkCreateSpec(await validatedJsonBody(request, networkCreateRequestSchema));
    return reply.code(201).send(networkCreateJson(await networks.create(spec)));
  });

  app.post('/networks/prune', async (request) => networkPruneJson(await networks.prune(queryString(request.query as Query, 'filters'))));

  app.delete('/networks/:id', async (request, reply) => {
    await networks.remove(id(request));
    return reply.code(204).send();
  });

  app.post('/networks/:id/connect', async (request, reply) => {
    await networks.connect(id(request), networkConnectParams(await validatedJsonBody(request, networkConnectRequestSchema)));
    return reply.code(200).send();
  });

  app.post('/networks/:id/disconnect', async (request, reply) => {
    await networks.disconnect(id(request), networkRequestContainer(await validatedJsonBody(request, networkDisconnectRequestSchema)));
    return reply.code(200).send();
  });
};
