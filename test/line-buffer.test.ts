import { describe, expect, it } from 'vitest';
import { LineBuffer } from '../rootless/containers/line-buffer.js';

/** Reads `data` through a LineBuffer as the log reader does; the complete lines handed out, joined. */
function readAll(data: Buffer, maxRead: number, sizes: number[] = []): string {
  const lines = new LineBuffer(maxRead);
  let out = '';
  for (let pos = 0; pos < data.length; ) {
    const { at, length } = lines.room();
    sizes.push(lines.buf.length);
    const n = Math.min(length, data.length - pos);
    data.copy(lines.buf, at, pos, pos + n);
    pos += n;
    const end = lines.feed(n, length);
    out += lines.buf.toString('latin1', 0, end);
  }
  return out;
}

describe('the log reader\'s line buffer', () => {
  it('hands out every complete line once, across reads, lines longer than a read and a last line without a newline', () => {
    const text = ['short', 'x'.repeat(300_000), '', 'y'.repeat(70_000), ...Array.from({ length: 5000 }, (_, i) => `line ${i}`)].join('\n') + '\ntail';
    const sizes: number[] = [];
    expect(readAll(Buffer.from(text, 'latin1'), 1 << 20, sizes)).toBe(text.slice(0, text.lastIndexOf('\n') + 1));
    expect(Math.max(...sizes)).toBeLessThan(2 << 20);
  });

  it('grows while reads fill it, up to the largest read, and shrinks back when they do not', () => {
    const lines = new LineBuffer(1 << 20);
    const first = lines.room().length;
    let length = first;
    for (let i = 0; i < 10; i++) {
      lines.buf.fill(0x0a, 0, length);
      lines.feed(length, length);
      length = lines.room().length;
    }
    expect(length).toBe(1 << 20);
    lines.feed(0, length);
    expect(lines.room().length).toBe(first);
    expect(lines.buf.length).toBeLessThan(4 * first);
  });
});
