import { describe, expect, it } from 'vitest';
import { humanizeJsonLine, humanLogLine } from '../translate/log-line.js';

describe('humanLogLine', () => {
  it('gives dockerd-like text lines: level, time, message, key=value', () => {
    const line = humanLogLine({ level: 30, time: Date.UTC(2026, 11, 3, 8, 55, 1, 123), pid: 7, msg: 'Burrow is ready', storageDriver: 'overlay2', addresses: ['unix:///run/a.sock'] });
    expect(line).toBe('INFO[2026-12-03T08:55:01.123Z] Burrow is ready  storageDriver=overlay2 addresses="[\\"unix:///run/a.sock\\"]"\n');
    expect(humanLogLine({ level: 40, time: 0, msg: 'x', err: { message: 'no such file', stack: 'Error: …' } })).toBe('WARN[1970-01-01T00:00:00.000Z] x  err="no such file"\n');
    expect(humanLogLine({ level: 20, time: 0, msg: 'exec', cmd: 'crun start abc' })).toBe('DEBU[1970-01-01T00:00:00.000Z] exec  cmd="crun start abc"\n');
  });

  it('passes a line that is not pino JSON through unchanged', () => {
    expect(humanizeJsonLine('plain words')).toBe('plain words\n');
    expect(humanizeJsonLine('{"level":50,"time":0,"msg":"bad"}\n')).toBe('ERRO[1970-01-01T00:00:00.000Z] bad\n');
  });
});
