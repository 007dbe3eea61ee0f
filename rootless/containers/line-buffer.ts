/**
 * One buffer for all the reads of a log reader: each read lands after the unfinished line the last
 * one left, and the complete lines are handed out in place. A fresh buffer a read (and a copy to
 * join the unfinished line) made `docker logs` of a big log mostly garbage collection: V8 counts
 * every megabyte of buffers, and tens of them ran a full collection. The lines handed out are valid
 * until the next read: log-chunks.ts copies the texts it keeps.
 */
const NL = 0x0a;

export class LineBuffer {
  buf: Buffer;
  /** Bytes held: after feed(), [0, held) is what was read; after room(), the unfinished line. */
  private held = 0;
  /** End of the complete lines handed out by the last feed(). */
  private handed = 0;

  constructor(private readonly readSize: number) {
    this.buf = Buffer.allocUnsafe(readSize);
  }

  /** Where the next read of up to readSize bytes goes in `buf` (read `buf` after calling this: it may be new). */
  room(): number {
    const rest = this.held - this.handed;
    if (this.handed > 0 && rest > 0) this.buf.copy(this.buf, 0, this.handed, this.held);
    this.held = rest;
    this.handed = 0;
    const need = rest + this.readSize;
    // Grows for a line longer than a read; shrinks back once such a line is done.
    if (this.buf.length < need || (this.buf.length > 2 * need && this.buf.length > 2 * this.readSize)) {
      const next = Buffer.allocUnsafe(need);
      this.buf.copy(next, 0, 0, rest);
      this.buf = next;
    }
    return rest;
  }

  /** After `n` bytes were read at room(): the end of the complete lines, which start at 0 (0 if none yet). */
  feed(n: number): number {
    this.held += n;
    const cut = this.held > 0 ? this.buf.lastIndexOf(NL, this.held - 1) : -1;
    this.handed = cut + 1;
    return this.handed;
  }
}
