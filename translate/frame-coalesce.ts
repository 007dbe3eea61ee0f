/**
 * Merges neighbouring multiplexed frames of one stream into one frame. dockerd sends a log line a
 * frame, and clients that hand frames on as they come (docker-py's `logs(stream=True)`,
 * dockerode's raw stream) would see the merge; the docker CLI's stdcopy only copies the payload
 * bytes to stdout/stderr, so its output is the same, while it pays a write(2) per frame: for
 * 2-byte lines that per-frame cost was the whole of `docker logs`. Pure.
 */

/** Whether the client is the docker CLI (stdcopy, bytes not frames): dockerd's client sends this user agent. */
export function clientCopiesBytes(userAgent: string | undefined): boolean {
  return userAgent !== undefined && /^Docker-Client\//.test(userAgent);
}

/** Stateful across chunks: a frame cut by a chunk boundary waits for the rest. */
export class FrameCoalescer {
  private carry: Buffer | undefined;

  push(chunk: Buffer): Buffer {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    const out = Buffer.allocUnsafe(buf.length);
    let len = 0;
    let header = -1;
    let stream = -1;
    let at = 0;
    while (at + 8 <= buf.length) {
      const size = ((buf[at + 4] << 24) >>> 0) + (buf[at + 5] << 16) + (buf[at + 6] << 8) + buf[at + 7];
      if (at + 8 + size > buf.length) break;
      const s = buf[at];
      if (s !== stream || header < 0) {
        if (header >= 0) out.writeUInt32BE(len - header - 8, header + 4);
        header = len;
        stream = s;
        buf.copy(out, len, at, at + 8);
        len += 8;
      }
      if (size < 16) for (let i = at + 8, e = at + 8 + size; i < e; i++) out[len++] = buf[i];
      else {
        buf.copy(out, len, at + 8, at + 8 + size);
        len += size;
      }
      at += 8 + size;
    }
    if (header >= 0) out.writeUInt32BE(len - header - 8, header + 4);
    if (at < buf.length) this.carry = Buffer.from(buf.subarray(at));
    return out.subarray(0, len);
  }

  /** What is left at the end (a cut frame, passed on as it came). */
  end(): Buffer | undefined {
    const rest = this.carry;
    this.carry = undefined;
    return rest;
  }
}

/** The chunks with neighbouring frames of one stream merged within each chunk. */
export async function* coalesceFrames(chunks: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  const c = new FrameCoalescer();
  for await (const chunk of chunks) {
    const out = c.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (out.length > 0) yield out;
  }
  const rest = c.end();
  if (rest) yield rest;
}
