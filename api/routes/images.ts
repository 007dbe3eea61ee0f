import { requestAbort } from '../request-context.js';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { invalidParameter } from '../../translate/errors.js';
import { imageDeleteJson, imageHistoryJson, imageInspectJson, imageSummaryJson } from '../../translate/image-json.js';
import { queryBool, queryString, type Query } from '../query.js';
import type { ApiServices } from '../services.js';
import { requestBodyStream, streamJsonMessages } from '../json-stream.js';
import { imageTransferRoutes } from './image-transfer.js';
import { requestVersion } from '../request-version.js';

/** Image names contain "/", so one wildcard route per method serves /images/{name}/{action}. */
const ACTIONS = ['json', 'history', 'tag', 'push', 'get'] as const;
type Action = (typeof ACTIONS)[number];

function splitAction(rest: string): { name: string; action?: Action } {
  for (const action of ACTIONS) {
    const suffix = `/${action}`;
    if (rest.endsWith(suffix) && rest.length > suffix.length) return { name: rest.slice(0, -suffix.length), action };
  }
  return { name: rest };
}

const pageNotFound = (reply: FastifyReply): FastifyReply => reply.code(404).type('application/json').send({ message: 'page not found' });

export const imageRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  const images = services.images;
  await app.register(imageTransferRoutes, { services });

  app.post('/images/create', async (request, reply) => {
    const q = request.query as Query;
    const fromSrc = queryString(q, 'fromSrc');
    if (fromSrc !== undefined) {
      const changes = q.changes === undefined ? [] : Array.isArray(q.changes) ? q.changes : [q.changes];
      const repo = queryString(q, 'repo');
      const tag = queryString(q, 'tag');
      const message = queryString(q, 'message');
      const platform = queryString(q, 'platform');
      const params = {
        fromSrc,
        body: requestBodyStream(request),
        changes,
        ...(repo !== undefined ? { repo } : {}),
        ...(tag !== undefined ? { tag } : {}),
        ...(message !== undefined ? { message } : {}),
        ...(platform ? { platform } : {}),
      };
      // A URL's download stops when the client goes away (a response ended first is an import that finished).
      const abort = requestAbort(request, reply);
      await streamJsonMessages(request, reply, async (emit) => emit({ status: await images.importImage(params, emit, abort.signal) }));
      return;
    }
    const fromImage = queryString(q, 'fromImage');
    if (!fromImage) throw invalidParameter('invalid reference format');
    const tag = queryString(q, 'tag');
    const platform = queryString(q, 'platform');
    const auth = request.headers['x-registry-auth'];
    const params = {
      fromImage,
      ...(tag !== undefined ? { tag } : {}),
      ...(platform ? { platform } : {}),
      ...(typeof auth === 'string' ? { registryAuth: auth } : {}),
    };
    await streamJsonMessages(request, reply, (emit) => images.pull(params, emit));
  });

  app.get('/images/json', async (request) => {
    const q = request.query as Query;
    const filters = queryString(q, 'filters');
    const listed = await images.list({ all: queryBool(q, 'all'), digests: queryBool(q, 'digests'), ...(filters !== undefined ? { filters } : {}) });
    return listed.map(imageSummaryJson);
  });

  app.get('/images/*', async (request, reply) => {
    const { name, action } = splitAction((request.params as { '*': string })['*']);
    if (action === 'json') return imageInspectJson(await images.inspect(name), requestVersion(request));
    if (action === 'history') return (await images.history(name)).map(imageHistoryJson);
    if (action === 'get') {
      const archive = await images.save([name]);
      return reply.type('application/x-tar').send(Readable.from(archive));
    }
    return pageNotFound(reply);
  });

  app.post('/images/*', async (request, reply) => {
    const { name, action } = splitAction((request.params as { '*': string })['*']);
    const q = request.query as Query;
    if (action === 'tag') {
      await images.tag(name, queryString(q, 'repo') ?? '', queryString(q, 'tag'));
      return reply.code(201).send();
    }
    if (action === 'push') {
      const tag = queryString(q, 'tag');
      const auth = request.headers['x-registry-auth'];
      const params = { name, ...(tag !== undefined ? { tag } : {}), ...(typeof auth === 'string' ? { registryAuth: auth } : {}) };
      await streamJsonMessages(request, reply, (emit) => images.push(params, emit));
      return;
    }
    return pageNotFound(reply);
  });

  app.delete('/images/*', async (request) => {
    const name = (request.params as { '*': string })['*'];
    const q = request.query as Query;
    return (await images.remove(name, { force: queryBool(q, 'force'), noprune: queryBool(q, 'noprune') })).map(imageDeleteJson);
  });
};
