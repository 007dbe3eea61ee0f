import type { FastifyPluginAsync } from 'fastify';
import { invalidParameter } from '../../translate/errors.js';
import type { Query } from '../query.js';
import type { ApiServices } from '../services.js';

const TYPES = ['container', 'image', 'volume', 'build-cache'] as const;

/**
 * GET /system/df in the shape API ≤ 1.51 clients read (LayersSize/Images/Containers/Volumes/BuildCache).
 * Sections not asked for with `type` are null, as dockerd leaves them. Images, containers and build
 * cache are empty until their services report usage.
 */
export const systemDfRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  app.get('/system/df', async (request) => {
    const raw = (request.query as Query).type;
    const asked = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    for (const t of asked) if (!(TYPES as readonly string[]).includes(t)) throw invalidParameter(`unknown object type: ${t}`);
    const wants = (t: (typeof TYPES)[number]): boolean => asked.length === 0 || asked.includes(t);
    return {
      LayersSize: 0,
      Images: wants('image') ? [] : null,
      Containers: wants('container') ? [] : null,
      Volumes: wants('volume') ? await services.volumes.diskUsage() : null,
      BuildCache: wants('build-cache') ? [] : null,
    };
  });
};
