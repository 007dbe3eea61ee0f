import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { invalidParameter, notImplemented } from '../../translate/errors.js';
import { errorMessage, type JsonMessage } from '../../translate/pull-progress.js';
import { queryBool, queryString, type Query } from '../query.js';
import type { ApiServices } from '../services.js';

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

/**
 * Streams JSON messages the way dockerd does: nothing is sent until the first message, so errors that
 * happen earlier are ordinary HTTP errors; after it, errors travel inside the 200 stream.
 */
async function streamJsonMessages(request: FastifyRequest, reply: FastifyReply, work: (emit: (m: JsonMessage) => void) => Promise<void>): Promise<void> {
  let started = false;
  const emit = (m: JsonMessage): void => {
    if (!started) {
      started = true;
      reply.hijack();
      const headers = { ...reply.getHeaders(), 'content-type': 'application/json' };
      reply.raw.writeHead(200, headers as Record<string, string>);
    }
    if (!reply.raw.destroyed) reply.raw.write(JSON.stringify(m) + '\r\n');
  };
  try {
    await work(emit);
  } catch (err) {
    if (!started) throw err;
    request.log.debug({ err }, 'stream failed');
    emit(errorMessage(err instanceof Error ? err.message : String(err)));
  }
  if (started) reply.raw.end();
}

export const imageRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  const images = services.images;

  app.post('/images/create', async (request, reply) => {
    const q = request.query as Query;
    if (queryString(q, 'fromSrc') !== undefined) throw notImplemented('importing images is not implemented yet');
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
    return images.list({ all: queryBool(q, 'all'), digests: queryBool(q, 'digests'), ...(filters !== undefined ? { filters } : {}) });
  });

  app.get('/images/*', async (request, reply) => {
    const { name, action } = splitAction((request.params as { '*': string })['*']);
    if (action === 'json') return images.inspect(name);
    if (action === 'history') return images.history(name);
    if (action === 'get') throw notImplemented('image export is not implemented yet');
    return pageNotFound(reply);
  });

  app.post('/images/*', async (request, reply) => {
    const { name, action } = splitAction((request.params as { '*': string })['*']);
    const q = request.query as Query;
    if (action === 'tag') {
      await images.tag(name, queryString(q, 'repo') ?? '', queryString(q, 'tag'));
      return reply.code(201).send();
    }
    if (action === 'push') throw notImplemented('image push is not implemented yet');
    return pageNotFound(reply);
  });

  app.delete('/images/*', async (request) => {
    const name = (request.params as { '*': string })['*'];
    const q = request.query as Query;
    return images.remove(name, { force: queryBool(q, 'force'), noprune: queryBool(q, 'noprune') });
  });
};
