/**
 * Multiplexed log frames, merged or a line each. dockerd sends a log line a frame; the docker CLI's
 * stdcopy only copies payload bytes to stdout/stderr, so merged frames give it the same output
 * while it pays a write(2) per frame (for 2-byte lines that was the whole cost of `docker logs`).
 * The log reader therefore merges (log-encoder.ts, a partial line last in its frame), and
 * splitFrames gives other clients, which may hand frames on as they come (docker-py's
 * `logs(stream=True)`, dockerode's raw stream), dockerd's frame a line back. Pure.
 */

/** Whether the client is the docker CLI (stdcopy, bytes not frames): dockerd's client sends this user agent. */
export function clientCopiesBytes(userAgent: string | undefined): boolean {
  return userAgent !== undefined && /^Docker-Client\//.test(userAgent);
}

/** Cuts frames after each newline of their payload: a merged log frame becomes a frame a line. Stateful across chunks. */
export class FrameSplitter {
  private carry: Buffer | undefined;

  push(chunk: Buffer): Buffer {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    const parts: Buffer[] = [];
    let at = 0;
    while (at + 8 <= buf.length) {
      const size = buf.readUInt32BE(at + 4);
      if (at + 8 + size > buf.length) break;
      const stream = buf[at];
      const end = at + 8 + size;
      let from = at + 8;
      if (size === 0) parts.push(buf.subarray(at, end));
      while (from < end) {
        const nl = buf.indexOf(0x0a, from);
        const to = nl < 0 || nl >= end ? end : nl + 1;
        const header = Buffer.alloc(8);
        header[0] = stream;
        header.writeUInt32BE(to - from, 4);
        parts.push(header, buf.subarray(from, to));
        from = to;
      }
      at = end;
    }
    if (at < buf.length) this.carry = Buffer.from(buf.subarray(at));
    return Buffer.concat(parts);
  }

  end(): Buffer | undefined {
    const rest = this.carry;
    this.carry = undefined;
    return rest;
  }
}

/** The chunks with every frame cut into a frame a line. */
export async function* splitFrames(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  const c = new FrameSplitter();
  for await (const chunk of chunks) {
    const out = c.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (out.length > 0) yield out;
  }
  const rest = c.end();
  if (rest) yield rest;
}
