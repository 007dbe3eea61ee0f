/**
 * Detach keys as the Docker API takes them ("ctrl-p,ctrl-q", "a,ctrl-x") and the scanner that
 * watches a client's stdin for them (moby's term.EscapeProxy): bytes that could start the
 * sequence are held back until they either complete it (detach) or stop matching (passed on).
 */
import { invalidParameter } from './errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_SPECIAL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

export function parseDetachKeys(spec: string): Buffer {
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    const bad = (): never => {
      throw invalidParameter(`Invalid detach keys (${spec}) provided`);
    };
    if (k.length === 1) {
      out.push(k.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/i.exec(k);
    if (!m?.[1]) return bad();
    const c = m[1].toLowerCase();
    if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
    else if (c in CTRL_SPECIAL) out.push(CTRL_SPECIAL[c] as number);
    else bad();
  }
  if (out.length === 0) throw invalidParameter(`Invalid detach keys (${spec}) provided`);
  return Buffer.from(out);
}

export class DetachScanner {
  private held = 0;

  constructor(private readonly keys: Buffer) {}

  /** Returns the bytes to pass on, and whether the sequence completed (bytes after it are dropped). */
  push(data: Buffer): { pass: Buffer; detached: boolean } {
    if (this.keys.length === 0) return { pass: data, detached: false };
    const out: number[] = [];
    for (const byte of data) {
      if (byte === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) return { pass: Buffer.from(out), detached: true };
        continue;
      }
      // A broken prefix goes through as typed; the current byte may start a new attempt.
      for (let i = 0; i < this.held; i++) out.push(this.keys[i] as number);
      this.held = 0;
      if (byte === this.keys[0]) this.held = 1;
      else out.push(byte);
    }
    return { pass: Buffer.from(out), detached: false };
  }
}
