/**
 * POST /session: the client's session (an HTTP/2 connection on which the client serves files,
 * secrets, auth) reaches dockerd as a raw upgraded socket. buildkitd takes sessions only as its
 * Control.Session gRPC stream, each BytesMessage carrying the tunnelled bytes (buildkit's
 * grpchijack) and the X-Docker-Expose-Session-* headers as metadata. This bridges one to the other.
 */
import { connect as netConnect } from 'node:net';
import { connect as h2Connect, constants } from 'node:http2';
import type { Duplex } from 'node:stream';
import { decodeBytesMessage, encodeBytesMessage, grpcFrame, splitGrpcFrames } from '../../translate/buildkit-wire.js';

/** The session headers the client sent (all values of each), lower-cased as HTTP/2 wants them. */
export function sessionMetadata(rawHeaders: readonly string[]): Record<string, string[]> {
  const meta: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (!name.startsWith('x-docker-expose-session-')) continue;
    (meta[name] ??= []).push(rawHeaders[i + 1] as string);
  }
  return meta;
}

/** Runs until either side closes; resolves then. */
export function bridgeSession(socket: Duplex, head: Buffer, buildkitdSocket: string, meta: Record<string, string[]>): Promise<void> {
  return new Promise((resolve) => {
    const client = h2Connect('http://buildkitd', { createConnection: () => netConnect(buildkitdSocket) });
    const stream = client.request({
      ':method': 'POST',
      ':path': '/moby.buildkit.v1.Control/Session',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...meta,
    });
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      client.close();
      if (!socket.destroyed) socket.end();
      resolve();
    };
    client.on('error', finish);
    stream.on('error', finish);
    stream.on('close', finish);
    socket.on('close', finish);
    socket.on('error', finish);

    // Backpressure both ways: the side that cannot keep up pauses the other until it drains.
    stream.on('drain', () => socket.resume());
    socket.on('drain', () => stream.resume());
    const toBuildkitd = (b: Buffer): void => {
      if (b.length === 0 || done) return;
      if (!stream.write(grpcFrame(encodeBytesMessage(b)))) socket.pause();
    };
    toBuildkitd(head);
    socket.on('data', toBuildkitd);
    socket.on('end', () => {
      if (!done) stream.end();
    });

    let pending: Buffer = Buffer.alloc(0);
    stream.on('data', (chunk: Buffer) => {
      const { messages, rest } = splitGrpcFrames(pending.length ? Buffer.concat([pending, chunk]) : chunk);
      pending = rest;
      for (const m of messages) if (!socket.write(decodeBytesMessage(m.data))) stream.pause();
    });
    stream.on('end', finish);
    socket.resume();
  });
}
