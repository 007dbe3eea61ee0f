import type { FastifyPluginAsync } from 'fastify';
import { invalidParameter } from '../../translate/errors.js';
import { versionAtLeast } from '../../translate/api-version.js';
import { validatedJsonBody } from '../validate.js';
import { volumeCreateRequestSchema } from '../../openapi/volumes.js';
import { queryBool, queryString, type Query } from '../query.js';
import { requestVersion } from '../request-version.js';
import { volumeJson, volumeListJson, volumePruneJson } from '../../translate/volume-json.js';
import type { ApiServices, VolumeCreateRequest } from '../services.js';

function createRequest(body: unknown): VolumeCreateRequest {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw invalidParameter('invalid volume create request: body is not an object');
  const b = body as Record<string, unknown>;
  if (b.Name !== undefined && b.Name !== null && typeof b.Name !== 'string') throw invalidParameter('invalid volume create request: Name is not a string');
  if (b.Driver !== undefined && b.Driver !== null && typeof b.Driver !== 'string') throw invalidParameter('invalid volume create request: Driver is not a string');
  // Maps are checked value by value in the service.
  return {
    ...(typeof b.Name === 'string' ? { name: b.Name } : {}),
    ...(typeof b.Driver === 'string' ? { driver: b.Driver } : {}),
    ...(b.DriverOpts != null ? { driverOpts: b.DriverOpts } : {}),
    ...(b.Labels != null ? { labels: b.Labels } : {}),
  };
}

export const volumeRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  const volumes = services.volumes;

  app.post('/volumes/create', async (request, reply) => {
    const volume = await volumes.create(createRequest(await validatedJsonBody(request, volumeCreateRequestSchema)));
    return reply.code(201).send(volumeJson(volume));
  });

  app.get('/volumes', async (request) => volumeListJson(await volumes.list(queryString(request.query as Query, 'filters'))));

  app.post('/volumes/prune', async (request) => {
    const allByDefault = !versionAtLeast(requestVersion(request), '1.42');
    return volumePruneJson(await volumes.prune(queryString(request.query as Query, 'filters'), { allByDefault }));
  });

  app.get<{ Params: { name: string } }>('/volumes/:name', async (request) => volumeJson(await volumes.inspect(request.params.name)));

  app.delete<{ Params: { name: string } }>('/volumes/:name', async (request, reply) => {
    await volumes.remove(request.params.name, { force: queryBool(request.query as Query, 'force') });
    return reply.code(204).send();
  });
};
