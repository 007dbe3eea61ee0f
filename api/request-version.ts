import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { splitVersionPrefix } from '../translate/api-version.js';
import { MAX_API_VERSION } from '../rootless/version.js';

/** The API version each raw request asked for, recorded while its URL is rewritten. */
const versions = new WeakMap<IncomingMessage, string>();

/** fastify rewriteUrl hook: strips /vX.Y so one route table serves every version. */
export function rewriteVersionedUrl(req: IncomingMessage): string {
  const { version, path } = splitVersionPrefix(req.url ?? '/', MAX_API_VERSION);
  versions.set(req, version);
  return path;
}

export function requestVersion(req: FastifyRequest | IncomingMessage): string {
  const raw = 'raw' in req ? req.raw : req;
  return versions.get(raw) ?? MAX_API_VERSION;
}
