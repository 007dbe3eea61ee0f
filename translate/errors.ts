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

/**
 * dockerd's wording for the container errors, in one place (daemon/errors.go, start.go, delete.go,
 * exec.go, pause.go, unpause.go, update.go, commit.go, attach.go, rename.go, create.go). `ref` is the
 * reference the client gave, `id` the full container ID, as dockerd formats each message.
 */
export const containerErrors = {
  noSuchContainer: (ref: string): EngineError => notFound(`No such container: ${ref}`),
  notRunning: (id: string): EngineError => conflict(`Container ${id} is not running`),
  /** exec's check (getActiveContainer) and joining a container's namespace. */
  execNotRunning: (id: string): EngineError => conflict(`container ${id} is not running`),
  restarting: (id: string): EngineError => conflict(`Container ${id} is restarting, wait until the container is running`),
  alreadyPaused: (id: string): EngineError => conflict(`Container ${id} is already paused`),
  notPaused: (id: string): EngineError => conflict(`Container ${id} is not paused`),
  execPaused: (id: string): EngineError => conflict(`Container ${id} is paused, unpause the container before exec`),
  attachPaused: (ref: string): EngineError => conflict(`container ${ref} is paused, unpause the container before attach`),
  alreadyStarted: (): EngineError => new EngineError('not-modified', 'container already started'),
  alreadyStopped: (): EngineError => new EngineError('not-modified', 'container already stopped'),
  startPaused: (): EngineError => conflict('cannot start a paused container, try unpause instead'),
  startRemoving: (): EngineError => conflict('container is marked for removal and cannot be started'),
  removalInProgress: (ref: string): EngineError => conflict(`removal of container ${ref} is already in progress`),
  /** `state` is dockerd's State.StateString(): running or restarting. */
  removeRunning: (ref: string, state: string): EngineError =>
    conflict(`cannot remove container "${ref}": container is ${state}: stop the container before removing or force remove`),
  removePaused: (ref: string): EngineError => conflict(`cannot remove container "${ref}": container is paused and must be unpaused first`),
  updateRemoving: (id: string): EngineError => conflict(`Cannot update container ${id}: container is marked for removal and cannot be "update"`),
  commitRemoving: (id: string): EngineError => conflict(`You cannot commit container ${id} which is being removed`),
  commitDead: (id: string): EngineError => conflict(`You cannot commit container ${id} which is Dead`),
  nameInUse: (name: string, id: string): EngineError =>
    conflict(`Conflict. The container name "${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`),
  renameEmpty: (): EngineError => invalidParameter('Neither old nor new names may be empty'),
  renameSame: (): EngineError => invalidParameter('Renaming a container with the same name as its current name'),
  joinNotRunning: (id: string): EngineError => conflict(`cannot join network of a non running container: ${id}`),
} as const;
