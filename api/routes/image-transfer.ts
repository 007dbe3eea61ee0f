import type { FastifyPluginAsync } from 'fastify';
import { Readable } from 'node:stream';
import { queryBool, queryInt, queryString, type Query } from '../query.js';
import type { ApiServices } from '../services.js';
import { checkBody } from '../validate.js';
import { jsonBody } from '../body.js';
import { invalidParameter } from '../../translate/errors.js';
import { authConfigSchema } from '../../openapi/auth.js';
import { requestBodyStream, streamJsonMessages } from '../json-stream.js';
import { imagePruneJson, imageSearchJson } from '../../translate/image-json.js';
import { distributionJson, loginJson } from '../../translate/registry-json.js';
import { loginCredentials } from '../../translate/registry-auth.js';

/** Routes with fixed paths beside /images/{name}/…: login, save of many, load, search, prune, distribution. */
export const imageTransferRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  const images = services.images;

  app.post('/auth', async (request) => {
    // dockerd decodes the body with a json.Decoder: no body at all is its EOF, refused as a bad
    // auth config; `null` decodes to an empty one (and so a login without credentials).
    const body = await jsonBody(request);
    if (body === undefined) throw invalidParameter('invalid X-Registry-Auth header: EOF');
    return loginJson(await images.login(loginCredentials(checkBody(authConfigSchema, body))));
  });

  app.get('/images/get', async (request, reply) => {
    const q = request.query as Query;
    const names = (q.names === undefined ? [] : Array.isArray(q.names) ? q.names : [q.names]).flatMap((n) => n.split(',')).filter((n) => n !== '');
    const archive = await images.save(names);
    return reply.type('application/x-tar').send(Readable.from(archive));
  });

  app.post('/images/load', async (request, reply) => {
    // dockerd's default is quiet; the answer is a JSON stream either way, its errors included
    // (postImagesLoad writes any LoadImage error into the 200 stream).
    const quiet = queryBool(request.query as Query, 'quiet', true);
    await streamJsonMessages(
      request,
      reply,
      async (emit) => {
        await images.load(requestBodyStream(request), quiet, emit);
      },
      { errorsInStream: true },
    );
  });

  app.get('/images/search', async (request) => {
    const q = request.query as Query;
    const limit = queryInt(q, 'limit');
    const filters = queryString(q, 'filters');
    const found = await images.search({ term: queryString(q, 'term') ?? '', ...(limit !== undefined ? { limit } : {}), ...(filters !== undefined ? { filters } : {}) });
    return found.map(imageSearchJson);
  });

  app.post('/images/prune', async (request) => imagePruneJson(await images.prune(queryString(request.query as Query, 'filters'))));

  app.get('/distribution/*', async (request, reply) => {
    const rest = (request.params as { '*': string })['*'];
    if (!rest.endsWith('/json') || rest.length <= '/json'.length) return reply.code(404).send({ message: 'page not found' });
    const auth = request.headers['x-registry-auth'];
    return distributionJson(await images.distribution(rest.slice(0, -'/json'.length), typeof auth === 'string' ? auth : undefined));
  });
};
