/**
 * Error kinds the engine raises, each mapped to the status code dockerd's
 * httpstatus.FromError gives it. Services throw these; the API layer only shapes them.
 */
export type ErrorKind =
  | 'invalid-parameter'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'not-modified'
  | 'not-implemented'
  | 'unavailable'
  | 'internal';

const statusByKind: Record<ErrorKind, number> = {
  'invalid-parameter': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'not-modified': 304,
  'not-implemented': 501,
  unavailable: 503,
  internal: 500,
};

export class EngineError extends Error {
  readonly statusCode: number;
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
    this.statusCode = statusByKind[kind];
  }
}

export const invalidParameter = (message: string): EngineError => new EngineError('invalid-parameter', message);
export const notFound = (message: string): EngineError => new EngineError('not-found', message);
export const conflict = (message: string): EngineError => new EngineError('conflict', message);
export const forbidden = (message: string): EngineError => new EngineError('forbidden', message);
export const notImplemented = (message: string): EngineError => new EngineError('not-implemented', message);
export const unavailable = (message: string): EngineError => new EngineError('unavailable', message);
export const internal = (message: string): EngineError => new EngineError('internal', message);

export const SWARM_INACTIVE_MESSAGE =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

/** The body of every non-2xx reply. */
export interface DockerErrorBody {
  message: string;
}

export function errorBody(message: string): DockerErrorBody {
  return { message };
}
