import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { invalidParameter } from '../translate/errors.js';

/**
 * dockerd accepts a missing body and an empty JSON body alike, and refuses JSON sent under another
 * content type. Other content types (tar, octet-stream) reach routes as the unread request stream.
 */
export function installBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 * 1024 }, (_req, text, done) => {
    const body = String(text);
    if (body.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body) as unknown);
    } catch (err) {
      done(invalidParameter(`invalid JSON: ${(err as Error).message}`), undefined);
    }
  });
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
}

function isStream(value: unknown): value is Readable {
  return !!value && typeof value === 'object' && typeof (value as Readable).pipe === 'function';
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** The JSON body of a request, with dockerd's content-type rule; undefined when there is none. */
export async function jsonBody(request: FastifyRequest): Promise<unknown> {
  const body: unknown = request.body;
  if (!isStream(body)) return body;
  const raw = await drain(body);
  if (raw.length === 0) return undefined;
  const ct = request.headers['content-type'];
  if (ct) throw invalidParameter(`unsupported Content-Type header (${ct}): must be 'application/json'`);
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw invalidParameter(`invalid JSON: ${(err as Error).message}`);
  }
}
