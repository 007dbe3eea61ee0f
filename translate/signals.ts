/** Signal names and numbers as the Docker API accepts them ("KILL", "SIGKILL", "9"). */
import { constants } from 'node:os';
import { invalidParameter } from './errors.js';

const SIGNALS = constants.signals as Record<string, number>;

export function parseSignal(value: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    if (n > 0 && n <= 64) return n;
    throw invalidParameter(`Invalid signal: ${value}`);
  }
  const upper = v.toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const rt = /^SIGRTMIN(\+(\d+))?$/.exec(name);
  if (rt) return 34 + Number(rt[2] ?? 0);
  const n = SIGNALS[name];
  if (n === undefined) throw invalidParameter(`Invalid signal: ${value}`);
  return n;
}
