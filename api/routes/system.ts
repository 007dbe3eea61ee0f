import type { FastifyPluginAsync } from 'fastify';
import { systemInfo, systemVersion } from '../../translate/system-info.js';
import type { ApiServices } from '../services.js';

export const systemRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  app.get('/_ping', async (_request, reply) => {
    reply
      // 2 makes the CLI's buildx use /grpc and /session; 1 keeps clients on the classic POST /build.
      .header('Builder-Version', services.buildkit?.available ? '2' : '1')
      .header('Swarm', 'inactive')
      .header('Cache-Control', 'no-cache, no-store, must-revalidate')
      .header('Pragma', 'no-cache')
      .type('text/plain; charset=utf-8');
    return 'OK';
  });

  app.get('/version', async () => systemVersion(services.system.version()));
  app.get('/info', async () => {
    const { facts, counts, at } = await services.system.info();
    return systemInfo(facts, counts, at);
  });
};
