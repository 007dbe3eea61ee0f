/**
 * The container tools: HEAD/GET/PUT /containers/{id}/archive, GET /containers/{id}/export,
 * GET /containers/{id}/changes and POST /commit.
 */
import type { FastifyPluginAsync } from 'fastify';
import { invalidParameter } from '../../translate/errors.js';
import type { ContainerToolsService } from '../services.js';
import { validatedJsonBody } from '../validate.js';
import { containerConfigSchema } from '../../openapi/containers.js';
import { requestBodyStream } from '../json-stream.js';
import { queryBool, queryString, type Query } from '../query.js';
import { containerChangesJson } from '../../translate/container-changes-json.js';

type IdParams = { Params: { id: string } };

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

function pathParam(q: Query): string {
  const path = queryString(q, 'path');
  if (!path) throw invalidParameter('Path cannot be empty');
  // No file name can hold a NUL: refused here, before it reaches a syscall wrapper that throws.
  if (path.includes('\0')) throw invalidParameter(`invalid path ${JSON.stringify(path)}: a path cannot contain a NUL byte`);
  return path;
}

/** `changes` may repeat, as the CLI sends one per --change. */
function changesParam(q: Query): string[] {
  const raw = q.changes;
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]).filter((c): c is string => typeof c === 'string');
}

export const containerToolRoutes: FastifyPluginAsync<{ tools: ContainerToolsService }> = async (app, { tools }) => {
  // HEAD is declared before GET so fastify does not derive one from the GET route.
  app.head<IdParams>('/containers/:id/archive', async (request, reply) => {
    const stat = await tools.statPath(request.params.id, pathParam(request.query as Query));
    return reply.header(STAT_HEADER, stat).code(200).send();
  });

  app.get<IdParams>('/containers/:id/archive', async (request, reply) => {
    const { stat, content } = await tools.getArchive(request.params.id, pathParam(request.query as Query));
    return reply.header(STAT_HEADER, stat).type('application/x-tar').send(content);
  });

  app.put<IdParams>('/containers/:id/archive', async (request, reply) => {
    const q = request.query as Query;
    const body = requestBodyStream(request);
    let path: string;
    try {
      path = pathParam(q);
    } catch (err) {
      body.resume();
      throw err;
    }
    await tools.putArchive(request.params.id, path, body, {
      noOverwriteDirNonDir: queryBool(q, 'noOverwriteDirNonDir'),
      copyUIDGID: queryBool(q, 'copyUIDGID'),
    });
    return reply.code(200).send();
  });

  app.get<IdParams>('/containers/:id/export', async (request, reply) => {
    const content = await tools.exportRootfs(request.params.id);
    return reply.type('application/octet-stream').send(content);
  });

  // dockerd encodes an empty change list as null (a nil slice); docker-py's diff() hands that on.
  app.get<IdParams>('/containers/:id/changes', async (request, reply) => {
    return reply.type('application/json').send(containerChangesJson(await tools.changes(request.params.id)));
  });

  app.post('/commit', async (request, reply) => {
    const q = request.query as Query;
    const config = await validatedJsonBody(request, containerConfigSchema);
    const container = queryString(q, 'container') ?? '';
    const opt = (name: string): Record<string, string> => {
      const v = queryString(q, name);
      return v !== undefined && v !== '' ? { [name]: v } : {};
    };
    const id = await tools.commit({
      container,
      ...opt('repo'),
      ...opt('tag'),
      ...opt('comment'),
      ...opt('author'),
      pause: queryBool(q, 'pause', true),
      changes: changesParam(q),
      ...(config !== undefined && config !== null ? { config } : {}),
    });
    return reply.code(201).send({ Id: id });
  });
};
