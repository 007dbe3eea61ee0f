import type { FastifyError, FastifyInstance } from 'fastify';
import { EngineError, errorBody } from '../translate/errors.js';

/** Status and message for anything thrown in a route: dockerd's shape, never a stack trace. */
export function toDockerError(err: unknown): { statusCode: number; message: string } {
  if (err instanceof EngineError) return { statusCode: err.statusCode, message: err.message };
  const fe = err as Partial<FastifyError> & { validation?: unknown };
  if (fe && typeof fe === 'object') {
    if (fe.validation) return { statusCode: 400, message: (fe.message ?? 'invalid request').replace(/^body\//, '') };
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { statusCode: 400, message: 'unsupported Content-Type header' };
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { statusCode: 400, message: 'request body is too large' };
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return { statusCode: fe.statusCode === 415 ? 400 : fe.statusCode, message: fe.message ?? 'bad request' };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return { statusCode: 500, message };
}

/**
 * Exactly this, without the "; charset=utf-8" fastify adds to JSON payloads (hence the
 * bodies sent as bytes): the docker CLI decodes an error body only when the Content-Type is
 * literally application/json, and otherwise prints the raw JSON.
 */
const ERROR_CONTENT_TYPE = 'application/json';

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const { statusCode, message } = toDockerError(err);
    if (statusCode >= 500) request.log.error({ err }, 'request failed');
    else request.log.debug({ statusCode, message }, 'request refused');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    if (statusCode === 304) return reply.code(304).send();
    return reply.code(statusCode).header('content-type', ERROR_CONTENT_TYPE).send(Buffer.from(JSON.stringify(errorBody(message))));
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).header('content-type', ERROR_CONTENT_TYPE).send(Buffer.from(JSON.stringify(errorBody('page not found')))));
}
