import type { FastifyPluginAsync } from 'fastify';
import { versionAtLeast } from '../../translate/api-version.js';
import { queryString, type Query } from '../query.js';
import { requestVersion } from '../request-version.js';
import type { ApiServices } from '../services.js';

export const eventRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  app.get('/events', async (request, reply) => {
    const q = request.query as Query;
    const abort = new AbortController();
    request.raw.socket.on('close', () => abort.abort());
    const since = queryString(q, 'since');
    const until = queryString(q, 'until');
    const filters = queryString(q, 'filters');
    const lines = services.events.stream(
      {
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(filters ? { filters } : {}),
        legacyFields: !versionAtLeast(requestVersion(request), '1.52'),
      },
      abort.signal,
    );
    // Headers go out at once: clients wait for them before they consider the stream open.
    reply.hijack();
    reply.raw.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), 'content-type': 'application/json' });
    reply.raw.flushHeaders();
    try {
      for await (const line of lines) {
        if (reply.raw.destroyed) break;
        if (!reply.raw.write(line)) await new Promise<void>((r) => reply.raw.once('drain', r).once('close', r));
      }
    } finally {
      abort.abort();
      if (!reply.raw.destroyed) reply.raw.end();
    }
  });
};
