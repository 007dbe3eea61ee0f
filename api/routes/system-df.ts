import type { FastifyPluginAsync } from 'fastify';
import { invalidParameter } from '../../translate/errors.js';
import { diskUsageJson } from '../../translate/disk-usage-json.js';
import type { Query } from '../query.js';
import { DISK_USAGE_KINDS, type ApiServices, type DiskUsageKind } from '../services.js';

/**
 * GET /system/df in the shape API ≤ 1.51 clients read (LayersSize/Images/Containers/Volumes/BuildCache).
 * Sections not asked for with `type` are null, as dockerd leaves them.
 */
export const systemDfRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  app.get('/system/df', async (request) => {
    const raw = (request.query as Query).type;
    const asked = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    for (const t of asked) if (!(DISK_USAGE_KINDS as readonly string[]).includes(t)) throw invalidParameter(`unknown object type: ${t}`);
    const kinds = new Set<DiskUsageKind>(asked.length === 0 ? DISK_USAGE_KINDS : (asked as DiskUsageKind[]));
    return diskUsageJson(await services.system.diskUsage(kinds), new Date());
  });
};
