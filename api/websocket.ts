/**
 * GET /containers/{id}/attach/ws: the attach stream over RFC 6455. Output goes out unframed (never
 * multiplexed) as binary messages (text below API 1.28); the client's messages are the container's stdin.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { versionAtLeast } from '../translate/api-version.js';
import { invalidParameter } from '../translate/errors.js';
import { attachParams, commonHeaders, pumpOutput } from './hijack.js';
import type { Query } from './query.js';
import type { ApiServices } from './services.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export function wsFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.alloc(2) : len < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (len < 126) head[1] = len;
  else if (len < 65536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

/** Parses client frames (always masked) from a byte stream. */
export class WsReader {
  private buf = Buffer.alloc(0);

  push(data: Buffer): { opcode: number; payload: Buffer }[] {
    this.buf = Buffer.concat([this.buf, data]);
    const out: { opcode: number; payload: Buffer }[] = [];
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0] as number;
      const b1 = this.buf[1] as number;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      const maskOff = off;
      if (masked) off += 4;
      if (this.buf.length < off + len) break;
      const payload = Buffer.from(this.buf.subarray(off, off + len));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (this.buf[maskOff + (i % 4)] as number);
      out.push({ opcode: b0 & 0x0f, payload });
      this.buf = this.buf.subarray(off + len);
    }
    return out;
  }
}

export async function handleAttachWebsocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  ref: string,
  q: Query,
  version: string,
  services: ApiServices,
  abort: AbortController,
): Promise<void> {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw invalidParameter('not a websocket request');
  const params = attachParams(q);
  // dockerd's websocket attach streams whatever was not explicitly turned off.
  const out = await services.containers.attach(ref, { ...params, stream: true, stdout: q.stdout === undefined || params.stdout, stderr: q.stderr === undefined || params.stderr, stdin: q.stdin === undefined || params.stdin }, abort.signal);
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${commonHeaders()}\r\n`);
  const opcode = versionAtLeast(version, '1.28') ? 2 : 1;
  const reader = new WsReader();
  const onData = (b: Buffer): void => {
    for (const f of reader.push(b)) {
      if (f.opcode === 8) {
        out.stdin?.end();
        abort.abort();
        if (!socket.destroyed) socket.end(wsFrame(8, Buffer.alloc(0)));
        return;
      }
      if (f.opcode === 9) socket.write(wsFrame(10, f.payload));
      else if ((f.opcode === 1 || f.opcode === 2 || f.opcode === 0) && f.payload.length > 0) out.stdin?.write(f.payload);
    }
  };
  if (head.length > 0) onData(head);
  socket.on('data', onData);
  abort.signal.addEventListener('abort', () => out.stdin?.detach(), { once: true });
  // A message a chunk, both streams alike (dockerd's websocket attach does not multiplex).
  const messages = (async function* () {
    for await (const batch of out.chunks) for (const c of batch) if (c.data.length > 0) yield wsFrame(opcode, c.data);
    yield wsFrame(8, Buffer.alloc(0));
  })();
  await pumpOutput(socket, messages, abort);
}
