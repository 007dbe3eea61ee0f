import type { FastifyPluginAsync, HTTPMethods } from 'fastify';
import { unavailable, SWARM_INACTIVE_MESSAGE } from '../../translate/errors.js';

/** Every swarm-mode route, answered as a dockerd that is not part of a swarm answers them. */
const swarmRouteTable: [HTTPMethods, string][] = [
  ['GET', '/swarm'],
  ['POST', '/swarm/init'],
  ['POST', '/swarm/join'],
  ['POST', '/swarm/leave'],
  ['POST', '/swarm/update'],
  ['GET', '/swarm/unlockkey'],
  ['POST', '/swarm/unlock'],
  ['GET', '/nodes'],
  ['GET', '/nodes/:id'],
  ['DELETE', '/nodes/:id'],
  ['POST', '/nodes/:id/update'],
  ['GET', '/services'],
  ['POST', '/services/create'],
  ['GET', '/services/:id'],
  ['DELETE', '/services/:id'],
  ['POST', '/services/:id/update'],
  ['GET', '/services/:id/logs'],
  ['GET', '/tasks'],
  ['GET', '/tasks/:id'],
  ['GET', '/tasks/:id/logs'],
  ['GET', '/secrets'],
  ['POST', '/secrets/create'],
  ['GET', '/secrets/:id'],
  ['DELETE', '/secrets/:id'],
  ['POST', '/secrets/:id/update'],
  ['GET', '/configs'],
  ['POST', '/configs/create'],
  ['GET', '/configs/:id'],
  ['DELETE', '/configs/:id'],
  ['POST', '/configs/:id/update'],
];

export const swarmRoutes: FastifyPluginAsync = async (app) => {
  for (const [method, url] of swarmRouteTable) {
    app.route({
      method,
      url,
      handler: async () => {
        throw unavailable(SWARM_INACTIVE_MESSAGE);
      },
    });
  }
};
