import type { Duplex } from 'node:stream';

/**
 * BuildKit as the HTTP layer sees it: /_ping's Builder-Version, and the two upgraded endpoints.
 * Beside the engine (rootless/buildkit/service.ts); api/services.ts re-exports it.
 */
export interface BuildkitService {
  /** Whether a buildkitd can be run here: /_ping then advertises Builder-Version 2. */
  readonly available: boolean;
  /**
   * Takes one upgraded connection for /grpc or /session. `accept` is called with buildkitd up and
   * the connection about to be bridged (the route writes its 101 then); an error thrown before
   * `accept` is an HTTP error for the client. Resolves when the connection ends.
   */
  serve(kind: 'grpc' | 'session', socket: Duplex, head: Buffer, rawHeaders: readonly string[], accept: () => void): Promise<void>;
}
