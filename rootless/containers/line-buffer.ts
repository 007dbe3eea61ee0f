/**
 * One buffer for the reads of a log reader: each read lands after the unfinished line the last one
 * left, and the complete lines are handed out in place. A fresh buffer a read (and a copy to join
 * the unfinished line) made `docker logs` of a big log mostly garbage collection: V8 counts every
 * megabyte of buffers, and tens of them ran a full collection. The buffer starts small and doubles
 * while reads fill it (up to `maxRead` a read), and goes back to small when they do not: an attach
 * or a follow of a quiet container holds little. The lines handed out are valid until the next
 * room(): log-chunks.ts copies the texts it keeps.
 */
const NL = 0x0a;
const MIN_READ = 64 * 1024;

export class LineBuffer {
  buf: Buffer;
  /** Bytes held: after feed(), [0, held) is what was read; after room(), the unfinished line. */
  private held = 0;
  /** End of the complete lines handed out by the last feed(). */
  private handed = 0;
  /** What the next read may take. */
  private readSize = MIN_READ;

  constructor(private readonly maxRead: number) {
    this.buf = Buffer.allocUnsafe(MIN_READ);
  }

  /** Where the next read goes in `buf` and how much it may take (read `buf` after calling this: it may be new). */
  room(): { at: number; length: number } {
    const rest = this.held - this.handed;
    if (this.handed > 0 && rest > 0) this.buf.copy(this.buf, 0, this.handed, this.held);
    this.held = rest;
    this.handed = 0;
    const need = rest + this.readSize;
    // Grows for a faster reader or a line longer than a read, with room for the unfinished lines to
    // come (not a new buffer each time one is longer); shrinks back once neither holds.
    if (this.buf.length < need || this.buf.length > 4 * need) {
      const next = Buffer.allocUnsafe(need + (this.readSize >> 2));
      this.buf.copy(next, 0, 0, rest);
      this.buf = next;
    }
    return { at: rest, length: this.readSize };
  }

  /** After `n` bytes were read at room() (`offered` its length): the end of the complete lines, which start at 0 (0 if none yet). */
  feed(n: number, offered: number): number {
    this.held += n;
    if (n >= offered) this.readSize = Math.min(this.maxRead, this.readSize * 2);
    else if (n < offered / 4) this.readSize = MIN_READ;
    const cut = this.held > 0 ? this.buf.lastIndexOf(NL, this.held - 1) : -1;
    this.handed = cut + 1;
    return this.handed;
  }
}
