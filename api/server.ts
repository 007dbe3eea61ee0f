import { createServer } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { builderVersionOf, pingFastPath } from './ping-fast-path.js';
import { answerHalfClosedClients } from './half-close.js';
import { checkApiVersion } from '../translate/api-version.js';
import { BURROW_VERSION, MAX_API_VERSION, MIN_API_VERSION } from '../rootless/version.js';
import { installBodyParsers } from './body.js';
import { installErrorHandling } from './error-handler.js';
import { requestVersion, rewriteVersionedUrl } from './request-version.js';
import type { ApiServices } from './services.js';
import { systemRoutes } from './routes/system.js';
import { swarmRoutes } from './routes/swarm.js';
import { pluginRoutes } from './routes/plugins.js';
import { imageRoutes } from './routes/images.js';
import { containerRoutes } from './routes/containers.js';
import { volumeRoutes } from './routes/volumes.js';
import { networkRoutes } from './routes/networks.js';
import { systemDfRoutes } from './routes/system-df.js';
import { installHijack } from './hijack.js';
import { closeLongLived } from './long-lived.js';
import { execRoutes } from './routes/exec.js';
import { eventRoutes } from './routes/events.js';
import { buildRoutes } from './routes/build.js';
import { containerResourceRoutes } from './routes/container-resources.js';
import { containerToolRoutes } from './routes/container-tools.js';

export interface ServerOptions {
  logger: FastifyBaseLogger;
  services: ApiServices;
  /** How long an idle keep-alive connection stays open; docker-java pools reuse them for minutes. */
  keepAliveTimeoutMs: number;
  /** Told of every request (the daemon collects its garbage once requests pause). */
  onActivity?: () => void;
}

export const DEFAULT_KEEPALIVE_MS = 15 * 60 * 1000;

function noRouteSchemas(): never {
  throw new Error('fastify route schemas are not used here: check bodies with api/validate.ts');
}

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const serverHeader = `Burrow/${BURROW_VERSION} (linux)`;
  const debug = opts.logger.level === 'debug' || opts.logger.level === 'trace';
  const services = opts.services;
  const ping = pingFastPath({
    maxApiVersion: MAX_API_VERSION,
    minApiVersion: MIN_API_VERSION,
    server: serverHeader,
    builderVersion: () => builderVersionOf(services),
    ...(opts.onActivity ? { onActivity: opts.onActivity } : {}),
    ...(debug ? { logRequest: (method: string, url: string, statusCode: number) => opts.logger.debug({ method, url, statusCode }, 'request') } : {}),
  });
  const app = Fastify({
    // Our own node:http server so /_ping is answered before fastify's routing (ping-fast-path.ts);
    // fastify sets these timeouts only on servers it creates, so they are set here.
    serverFactory: (handler) => {
      const server = createServer((req, res) => {
        if (!ping(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = opts.keepAliveTimeoutMs;
      server.requestTimeout = 0;
      server.setTimeout(0);
      return server;
    },
    loggerInstance: opts.logger,
    // Per-request lines go out at debug level from the onResponse hook below, not at info.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: false,
    rewriteUrl: rewriteVersionedUrl,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1024 },
    // No route declares a fastify schema (bodies are checked by api/validate.ts), so fastify's
    // default compilers, a second ajv and fast-json-stringify with their own fast-uri copies, need
    // not load: these factories stand in and refuse, should a schema ever appear on a route.
    schemaController: { compilersFactory: { buildValidator: noRouteSchemas, buildSerializer: noRouteSchemas } },
  });
  // Node's server headersTimeout must exceed the keep-alive window or idle sockets are reaped early.
  app.server.headersTimeout = Math.max(app.server.headersTimeout, 60_000);
  answerHalfClosedClients(app.server);

  installBodyParsers(app);
  installErrorHandling(app);

  // Callback-style hooks: on the hot path (/_ping) a promise per hook is measurable.
  const onActivity = opts.onActivity;
  app.addHook('onRequest', (request, reply, done) => {
    onActivity?.();
    reply.header('Api-Version', MAX_API_VERSION);
    reply.header('Docker-Experimental', 'false');
    reply.header('Ostype', 'linux');
    reply.header('Server', serverHeader);
    done(checkApiVersion(requestVersion(request), MIN_API_VERSION, MAX_API_VERSION));
  });

  if (debug) {
    app.addHook('onResponse', (request, reply, done) => {
      request.log.debug({ method: request.method, url: request.raw.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
      done();
    });
  }

  await app.register(systemRoutes, { services: opts.services });
  await app.register(swarmRoutes);
  await app.register(pluginRoutes);
  await app.register(imageRoutes, { services: opts.services });
  await app.register(containerRoutes, { services: opts.services });
  await app.register(volumeRoutes, { services: opts.services });
  await app.register(networkRoutes, { services: opts.services });
  await app.register(systemDfRoutes, { services: opts.services });
  await app.register(execRoutes, { services: opts.services });
  await app.register(eventRoutes, { services: opts.services });
  await app.register(buildRoutes, { services: opts.services });
  if (opts.services.resources) await app.register(containerResourceRoutes, { resources: opts.services.resources });
  if (opts.services.containerTools) await app.register(containerToolRoutes, { tools: opts.services.containerTools });
  installHijack(app.server, opts.services, opts.logger);
  // close() ends attach/exec sessions and endless streams first; requests in flight still finish.
  app.addHook('preClose', (done) => {
    const n = closeLongLived(app.server);
    if (n > 0) opts.logger.debug({ connections: n }, 'closed streaming and hijacked connections');
    done();
  });
  return app;
}
