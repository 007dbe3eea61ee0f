/**
 * POST /grpc: after the h2c upgrade the client speaks gRPC (BuildKit's control API and the
 * gateway's LLBBridge) on the raw socket. Every call is forwarded to buildkitd stream for stream,
 * headers, messages, trailers and cancellation included, except Control.Solve when it asks for
 * dockerd's `moby` exporter: that one is rewritten to buildkitd's `image` exporter (without the
 * inline-only attestations, which dockerd's moby exporter never makes) and, once the build
 * succeeded, the image is landed in Burrow's store (land-image.ts) before the client hears back.
 */
import { connect as netConnect } from 'node:net';
import {
  connect as h2Connect,
  constants,
  createServer,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import {
  encodeSolveResponse,
  grpcFrame,
  solveExporterResponse,
  solveExporters,
  splitGrpcFrames,
  withExporters,
  withoutInlineOnlyAttestations,
  type Exporter,
} from '../../translate/buildkit-wire.js';
import { UnnamedExports, exportNames } from './land-image.js';

const unnamedExports = new UnnamedExports();

const SOLVE = '/moby.buildkit.v1.Control/Solve';
/** Headers that belong to one HTTP/2 hop. */
const HOP = new Set([':scheme', ':authority', 'connection', 'keep-alive', 'upgrade', 'host', 'http2-settings', 'transfer-encoding']);

export interface ControlHooks {
  /** Lands the image a rewritten Solve exported; names are normalised references (maybe none). */
  land(exporterResponse: ReadonlyMap<string, string>, names: string[]): Promise<string | undefined>;
  logger: Logger;
}

function forward(headers: IncomingHttpHeaders, keepStatus: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP.has(k)) continue;
    if (k.startsWith(':') && !(keepStatus ? k === ':status' : k === ':method' || k === ':path')) continue;
    out[k] = v;
  }
  return out;
}

/**
 * The `moby` exporters of a Solve, swapped for buildkitd's `image` exporter (kept in its store so
 * the blobs stay until Burrow has read them). Undefined when the Solve exports nothing to moby.
 */
export function rewriteMobyExport(exporters: readonly Exporter[], unnamed: () => string): { exporters: Exporter[]; names: string[]; placeholder?: string } | undefined {
  const moby = exporters.find((e) => e.type === 'moby');
  if (!moby) return undefined;
  const names = exportNames(moby.attrs.get('name'));
  let placeholder: string | undefined;
  const rewritten = exporters.map((e) => {
    if (e.type !== 'moby') return e;
    const attrs = new Map(e.attrs);
    if (!(attrs.get('name') ?? '').trim()) attrs.set('name', (placeholder ??= unnamed()));
    attrs.set('store', 'true');
    attrs.set('unpack', 'false');
    return { type: 'image', attrs };
  });
  return { exporters: rewritten, names, ...(placeholder !== undefined ? { placeholder } : {}) };
}

/**
 * What dockerd's moby exporter answers for a store that names images by config digest (Burrow's):
 * containerimage.digest is the image ID, which buildx writes to --iidfile and prints. buildkitd's
 * image exporter put the manifest (or index, with attestations) digest there.
 */
export function asMobyResponse(resp: ReadonlyMap<string, string>, imageId: string | undefined): Map<string, string> {
  const out = new Map(resp);
  const id = imageId ?? resp.get('containerimage.config.digest');
  if (id) {
    out.set('containerimage.digest', id);
    out.set('containerimage.config.digest', id);
  }
  out.delete('containerimage.descriptor');
  return out;
}

function grpcError(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.closed || stream.destroyed) return;
  const headers = { 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) };
  if (stream.headersSent) {
    stream.once('wantTrailers', () => stream.sendTrailers(headers));
    stream.end();
  } else stream.respond({ ':status': 200, ...headers }, { endStream: true });
}

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (b: Buffer) => parts.push(b));
    stream.once('end', () => resolve(Buffer.concat(parts)));
    stream.once('error', reject);
  });
}

function proxyStream(down: ServerHttp2Stream, headers: IncomingHttpHeaders, upstream: ClientHttp2Session, hooks: ControlHooks): void {
  const isSolve = headers[':path'] === SOLVE;
  const up = upstream.request(forward(headers, false), { endStream: false });
  let trailers: OutgoingHttpHeaders = { 'grpc-status': '0' };
  // The client went away (Ctrl-C): buildkitd hears it as a cancelled call and stops the build.
  down.on('close', () => {
    if (!up.closed) up.close(constants.NGHTTP2_CANCEL);
  });
  down.on('error', () => undefined);
  up.on('error', (err) => {
    hooks.logger.debug({ err, path: headers[':path'] }, 'buildkitd call failed');
    grpcError(down, 14, `buildkitd: ${err.message}`);
  });
  up.on('trailers', (t) => {
    trailers = forward(t, false);
  });

  let plan: { exporters: Exporter[]; names: string[]; placeholder?: string } | undefined;
  // The call is over (landed, failed or cancelled): its placeholder name may serve the next build.
  up.once('close', () => {
    if (plan?.placeholder !== undefined) unnamedExports.release(plan.placeholder);
  });
  if (!isSolve) down.pipe(up);
  else {
    void collect(down).then((body) => {
      const { messages, rest } = splitGrpcFrames(body);
      const only = messages[0];
      if (messages.length === 1 && rest.length === 0 && only && !only.compressed) {
        plan = rewriteMobyExport(solveExporters(only.data), () => unnamedExports.take());
        if (plan) return void up.end(grpcFrame(withExporters(withoutInlineOnlyAttestations(only.data), plan.exporters)));
      }
      up.end(body);
    }, () => up.close(constants.NGHTTP2_CANCEL));
  }

  up.on('response', (h) => {
    const out = forward(h, true);
    if ('grpc-status' in h) {
      // Trailers-only: an error (or an empty answer) carried entirely in the headers.
      if (!down.closed) down.respond(out, { endStream: true });
      return;
    }
    if (!isSolve || !plan) {
      down.respond(out, { waitForTrailers: true });
      down.once('wantTrailers', () => down.sendTrailers(trailers));
      up.pipe(down);
      return;
    }
    const landing = plan;
    void collect(up).then(async (body) => {
      let answer = body;
      if (trailers['grpc-status'] === '0') {
        const { messages } = splitGrpcFrames(body);
        const resp = messages[0] ? solveExporterResponse(messages[0].data) : new Map<string, string>();
        const imageId = await hooks.land(resp, landing.names);
        answer = grpcFrame(encodeSolveResponse(asMobyResponse(resp, imageId)));
      }
      if (down.closed) return;
      down.respond(out, { waitForTrailers: true });
      down.once('wantTrailers', () => down.sendTrailers(trailers));
      down.end(answer);
    }).catch((err: unknown) => {
      hooks.logger.warn({ err }, 'landing the BuildKit image failed');
      grpcError(down, 2, `failed to load the built image into Burrow: ${err instanceof Error ? err.message : String(err)}`);
    });
  });
}

/** Serves one upgraded /grpc connection until the client or buildkitd closes it. */
export function serveControl(socket: Duplex, head: Buffer, buildkitdSocket: string, hooks: ControlHooks): Promise<void> {
  return new Promise((resolve) => {
    const upstream = h2Connect('http://buildkitd', { createConnection: () => netConnect(buildkitdSocket) });
    const server = createServer();
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      upstream.destroy();
      server.close();
      if (!socket.destroyed) socket.destroy();
      resolve();
    };
    upstream.on('error', (err) => hooks.logger.debug({ err }, 'buildkitd connection failed'));
    upstream.on('close', finish);
    server.on('session', (session) => {
      session.on('close', finish);
      session.on('error', () => undefined);
    });
    server.on('stream', (stream, headers) => proxyStream(stream, headers, upstream, hooks));
    socket.on('close', finish);
    // Upgraded sockets are half-open: the client's EOF alone does not close them, and a client that
    // exits says nothing more. gRPC clients never half-close a connection they still use.
    socket.on('end', finish);
    if (head.length > 0) socket.unshift(head);
    server.emit('connection', socket);
  });
}
