/**
 * Burrow's own calls to buildkitd (disk usage, prune): one gRPC call over a fresh HTTP/2
 * connection to its socket, every response message collected (unary and server-streaming alike).
 */
import { connect as netConnect } from 'node:net';
import { connect as h2Connect } from 'node:http2';
import { grpcFrame, splitGrpcFrames } from '../../translate/buildkit-wire.js';

export function grpcCall(socket: string, path: string, request: Buffer, timeoutMs = 60_000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const client = h2Connect('http://buildkitd', { createConnection: () => netConnect(socket) });
    const fail = (err: Error): void => {
      client.destroy();
      reject(err);
    };
    client.on('error', fail);
    const stream = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    stream.setTimeout(timeoutMs, () => fail(new Error(`buildkitd: ${path} timed out`)));
    let status = '0';
    let message = '';
    const takeStatus = (h: Record<string, unknown>): void => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
      if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
    };
    stream.on('response', takeStatus);
    stream.on('trailers', takeStatus);
    const parts: Buffer[] = [];
    stream.on('data', (b: Buffer) => parts.push(b));
    stream.on('error', fail);
    stream.on('end', () => {
      client.close();
      if (status !== '0') return reject(new Error(`buildkitd: ${message || `${path} failed with gRPC status ${status}`}`));
      resolve(splitGrpcFrames(Buffer.concat(parts)).messages.map((m) => m.data));
    });
    stream.end(grpcFrame(request));
  });
}
