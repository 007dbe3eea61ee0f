import type { FastifyPluginAsync } from 'fastify';
import { versionAtLeast } from '../../translate/api-version.js';
import { eventLines } from '../../translate/events.js';
import { queryString, type Query } from '../query.js';
import { requestVersion } from '../request-version.js';
import type { ApiServices } from '../services.js';
import { sendLineStream } from '../json-stream.js';
import { requestAbort } from '../request-context.js';

export const eventRoutes: FastifyPluginAsync<{ services: ApiServices }> = async (app, { services }) => {
  app.get('/events', async (request, reply) => {
    const q = request.query as Query;
    const abort = requestAbort(request, reply);
    const since = queryString(q, 'since');
    const until = queryString(q, 'until');
    const filters = queryString(q, 'filters');
    const events = services.events.stream({ ...(since ? { since } : {}), ...(until ? { until } : {}), ...(filters ? { filters } : {}) }, abort.signal);
    // API < 1.52 clients key on the top-level status/id/from that dockerd dropped in 1.52.
    await sendLineStream(reply, eventLines(events, !versionAtLeast(requestVersion(request), '1.52')), abort);
  });
};
