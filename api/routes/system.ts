import type { FastifyPluginAsync } from 'fastify';
import { systemInfo, systemVersion } from '../../translate/system-info.js';
import type { ApiServices } from '../services.js';
import { builderVersionOf, pingHeaders } from '../ping-fast-path.js';

export const systemRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  // The forms api/ping-fast-path.ts leaves to the router (a query string, …): the same headers.
  app.get('/_ping', async (_request, reply) => {
    reply.headers(pingHeaders(builderVersionOf(services)));
    return 'OK';
  });

  app.get('/version', async () => systemVersion(services.system.version()));
  app.get('/info', async () => {
    const { facts, counts, at } = await services.system.info();
    return systemInfo(facts, counts, at);
  });
};
