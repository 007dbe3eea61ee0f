import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { errorMessage, type JsonMessage } from '../translate/pull-progress.js';
import { trackLongLived } from './long-lived.js';

/**
 * Streams JSON messages the way dockerd does: nothing is sent until the first message, so errors that
 * happen earlier are ordinary HTTP errors; after it, errors travel inside the 200 stream.
 */
export async function streamJsonMessages(
  request: FastifyRequest,
  reply: FastifyReply,
  work: (emit: (m: JsonMessage) => void) => Promise<void>,
  /** Every failure goes in a 200 stream, even before the first message (dockerd's image load). */
  opts: { errorsInStream?: boolean } = {},
): Promise<void> {
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
    if (!started && !opts.errorsInStream) throw err;
    request.log.debug({ err }, 'stream failed');
    emit(errorMessage(err instanceof Error ? err.message : String(err)));
  }
  if (started) reply.raw.end();
}

/**
 * Aborted when the client's connection closes, so producers stop working for nobody. For hijacked
 * streams (exec's legacy start), where the client's EOF means "no more input", not "gone"; other
 * calls take request-context.ts.
 */
export function abortOnClose(request: FastifyRequest): AbortController {
  const abort = new AbortController();
  request.raw.socket.on('close', () => abort.abort());
  return abort;
}

/** Status line and headers go out at once (clients time out otherwise); the body follows as it comes. */
export function startStream(reply: FastifyReply, contentType: string): void {
  reply.hijack();
  trackLongLived(reply.server.server, reply.request.raw.socket);
  reply.raw.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), 'content-type': contentType });
  reply.raw.flushHeaders();
}

/** Writes chunks as they come, respecting backpressure, and ends the response when they end. */
export async function pipeChunks(reply: FastifyReply, chunks: AsyncIterable<Buffer | string>): Promise<void> {
  try {
    for await (const chunk of chunks) {
      if (reply.raw.destroyed) break;
      if (!reply.raw.write(chunk)) await new Promise<void>((r) => reply.raw.once('drain', r).once('close', r));
    }
  } finally {
    if (!reply.raw.destroyed) reply.raw.end();
  }
}

/** Ready-made JSON lines (events, stats) after headers flushed at once; the producer is stopped at the end. */
export async function sendLineStream(reply: FastifyReply, lines: AsyncIterable<string>, abort: AbortController): Promise<void> {
  startStream(reply, 'application/json');
  try {
    await pipeChunks(reply, lines);
  } finally {
    abort.abort();
  }
}

/** The request body as a stream: body.ts hands non-JSON bodies over unread; without a content type fastify leaves the raw stream. */
export function requestBodyStream(request: FastifyRequest): Readable {
  const body: unknown = request.body;
  if (body && typeof body === 'object' && typeof (body as Readable).pipe === 'function') return body as Readable;
  return request.raw;
}
