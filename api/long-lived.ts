/**
 * Connections that outlive their request: hijacked attach and exec sessions, and the streams that
 * only end with a container or a client (events, logs -f, stats, wait). Node's server.close() waits
 * for every open socket: a live client of such a stream, or an attach whose client died while its
 * container was quiet (there the client's EOF only means "stdin closed", so the death shows at the
 * next write), kept a SIGTERM from ever finishing — one `docker compose up` killed at the wrong
 * moment was enough. dockerd's shutdown does not wait for them either (Go's Server.Shutdown ignores
 * hijacked connections); the containers keep running and clients attach again to the next daemon.
 */
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

const byServer = new WeakMap<Server, Set<Duplex>>();

/** Remembers `socket` until it closes, so closeLongLived(server) can end it. */
export function trackLongLived(server: Server, socket: Duplex): void {
  let set = byServer.get(server);
  if (!set) {
    set = new Set();
    byServer.set(server, set);
  }
  if (socket.destroyed || set.has(socket)) return;
  const sockets = set;
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
}

/** Ends every long-lived connection of `server` (at shutdown: ordinary requests still finish). */
export function closeLongLived(server: Server): number {
  const set = byServer.get(server);
  if (!set) return 0;
  const n = set.size;
  for (const s of set) s.destroy();
  set.clear();
  return n;
}
