/**
 * A client may half-close its side once its request is sent (`nc -N`, a socket end()ed after the
 * write); dockerd still answers it. Node's default closes the socket at the client's EOF, so the
 * action runs but no reply is written. Half-open (Node's own, untyped `httpAllowHalfOpen`), the reply
 * goes out — but then nothing closes a connection whose client has gone once its last reply is done,
 * and a kept-alive socket would stay open until the keep-alive timeout (and hold up a shutdown). So
 * the connection is ended here when the client's EOF has come and no request on it is in flight.
 * Upgraded (hijacked) sockets are left alone: there the EOF means "stdin closed" (api/hijack.ts).
 * Long calls still see the EOF as their client leaving (request-context.ts).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export function answerHalfClosedClients(server: Server): void {
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  const inFlight = new WeakMap<Socket, number>();
  const upgraded = new WeakSet<Socket>();
  const endIfDone = (socket: Socket): void => {
    if (upgraded.has(socket) || (inFlight.get(socket) ?? 0) > 0) return;
    if (socket.readableEnded && !socket.destroyed && !socket.writableEnded) socket.end();
  };
  server.on('upgrade', (req) => upgraded.add(req.socket));
  server.on('connection', (socket: Socket) => socket.on('end', () => endIfDone(socket)));
  server.on('request', (req, res) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    res.once('close', () => {
      inFlight.set(socket, (inFlight.get(socket) ?? 1) - 1);
      endIfDone(socket);
    });
  });
}
