import type { FastifyPluginAsync } from 'fastify';
import type { ApiServices } from '../services.js';

export const systemRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  app.get('/_ping', async (_request, reply) => {
    reply
      .header('Builder-Version', '1')
      .header('Swarm', 'inactive')
      .header('Cache-Control', 'no-cache, no-store, must-revalidate')
      .header('Pragma', 'no-cache')
      .type('text/plain; charset=utf-8');
    return 'OK';
  });

  app.get('/version', async () => services.system.version());
  app.get('/info', async () => services.system.info());
};
