/**
 * dockerd's request context, for Node: a long call (a build, a pull or import, logs -f, events, stats,
 * wait) is cancelled when its client goes away. Go's server cancels the context when the connection
 * closes and also when the client's EOF arrives once the request body has been read (its background
 * read); the server keeps half-open sockets (server.ts) so a short call's reply still reaches a client
 * that half-closed, and this gives the long calls Go's cancellation back.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export function requestAbort(request: FastifyRequest, reply: FastifyReply): AbortController {
  const abort = new AbortController();
  const socket = request.raw.socket;
  const cancel = (): void => abort.abort();
  // The client is gone: the call stops, and its connection closes once the handler has had its turn
  // (a handler waiting on the aborted work may never end its response by itself).
  const gone = (): void => {
    cancel();
    setImmediate(() => {
      if (!reply.raw.writableFinished) reply.raw.destroy();
    });
  };
  const onEof = (): void => {
    if (request.raw.complete) gone();
    else request.raw.once('end', gone);
  };
  const onClose = (): void => {
    if (!reply.raw.writableFinished) cancel();
  };
  socket.once('close', onClose);
  if (socket.readableEnded) onEof();
  else socket.once('end', onEof);
  // A kept-alive connection serves other requests next: this one's listeners go with its response.
  reply.raw.once('close', () => {
    onClose();
    socket.off('close', onClose);
    socket.off('end', onEof);
  });
  return abort;
}
