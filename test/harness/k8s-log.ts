/** Synthetic conmon k8s-file logs for the unit tests of the log encoder and the tail scan. */

/** A deterministic pseudo-random log: both streams, partial lines, empty texts, odd, broken and crash-glued lines, UTF-8 (valid or not). */
export function randomLog(seed: number, lines: number): Buffer {
  let s = seed >>> 0;
  // mulberry32: every kind of line turns up.
  const rnd = (n: number): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const texts = ['', 'y', 'hello world', 'x'.repeat(99), 'tab\there', 'two  spaces', 'ünïcödé ✓', ' leading', 'trailing ', 'P', 'F x'];
  const parts: Buffer[] = [];
  for (let i = 0; i < lines; i++) {
    const ts = `2026-11-27T19:13:${String(10 + (i % 50)).padStart(2, '0')}.${String(i).padStart(9, '0')}${i % 7 === 0 ? '+01:00' : '+00:00'}`;
    const stream = rnd(3) === 0 ? 'stderr' : 'stdout';
    const flag = rnd(5) === 0 ? 'P' : 'F';
    const kind = rnd(40);
    if (kind === 0) parts.push(Buffer.from('garbage without fields\n'));
    else if (kind === 1) parts.push(Buffer.from(`${ts} stdout\n`));
    else if (kind === 2) parts.push(Buffer.from(`${ts} ${stream} ${flag}\n`));
    else if (kind === 3) parts.push(Buffer.from(`${ts} stdoutx F x\n`));
    else if (kind === 4) parts.push(Buffer.from('\n'));
    else if (kind === 5) parts.push(Buffer.concat([Buffer.from(`${ts} ${stream} F bad `), Buffer.from([0xc3, 0x28, 0xff, 0xe2, 0x82]), Buffer.from('\n')]));
    else if (kind === 6) parts.push(Buffer.from(`${ts} ${stream} FX flagged\n`));
    // A write cut short by a crash, continued by the next line conmon wrote.
    else if (kind === 7) parts.push(Buffer.from(`${ts.slice(0, rnd(ts.length))}${ts} ${stream} F glued\n`));
    else if (kind === 8) parts.push(Buffer.from(`${ts} ${stream} F hel${ts} stdout F lo\n`));
    else parts.push(Buffer.from(`${ts} ${stream} ${flag} ${texts[rnd(texts.length)]}\n`));
  }
  return Buffer.concat(parts);
}
