/**
 * The log reader's Docker stream bytes (8-byte frame headers, or raw bytes under a TTY) back into
 * stdout/stderr chunks, for the engine's own consumers of a container's output (the builder).
 * The reader writes frames because logs and attach, its hot path, send exactly those. Pure.
 */
export interface StreamChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

const HEADER = 8;

/** Stateful: a frame split across reads waits for its rest. */
export class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);

  push(bytes: Buffer): StreamChunk[] {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, bytes]) : bytes;
    const out: StreamChunk[] = [];
    while (buf.length >= HEADER) {
      const size = buf.readUInt32BE(4);
      if (buf.length < HEADER + size) break;
      // Stream 2 is stderr; 0 (stdin) and 1 are output to show as stdout, as the docker CLI does.
      out.push({ stream: buf[0] === 2 ? 'stderr' : 'stdout', data: buf.subarray(HEADER, HEADER + size) });
      buf = buf.subarray(HEADER + size);
    }
    this.pending = Buffer.from(buf);
    return out;
  }
}

export async function* outputChunks(bytes: AsyncIterable<Buffer>, tty: boolean): AsyncGenerator<StreamChunk> {
  const splitter = tty ? undefined : new FrameSplitter();
  for await (const b of bytes) {
    if (!splitter) yield { stream: 'stdout', data: b };
    else yield* splitter.push(b);
  }
}
