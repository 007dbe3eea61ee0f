import { describe, expect, it } from 'vitest';
import { KeyedLocks } from '../rootless/keyed-locks.js';

/** A promise and the function that settles it, so a test decides when each holder finishes. */
function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('KeyedLocks', () => {
  it('runs the holders of one container one after the other, in arrival order', async () => {
    const locks = new KeyedLocks();
    const order: string[] = [];
    const first = gate();
    const a = locks.run('c1', async () => {
      order.push('a start');
      await first.opened;
      order.push('a end');
    });
    const b = locks.run('c1', async () => void order.push('b'));
    const c = locks.run('c1', async () => void order.push('c'));
    await Promise.resolve();
    expect(order).toEqual(['a start']);
    expect(locks.busy('c1')).toBe(true);
    first.open();
    await Promise.all([a, b, c]);
    expect(order).toEqual(['a start', 'a end', 'b', 'c']);
    expect(locks.busy('c1')).toBe(false);
  });

  it('lets different containers run side by side', async () => {
    const locks = new KeyedLocks();
    const held = gate();
    const slow = locks.run('c1', () => held.opened);
    // c2's work completes while c1's holder is still waiting.
    expect(await locks.run('c2', async () => 'done')).toBe('done');
    held.open();
    await slow;
  });

  it('releases the lock when the work throws, and passes the error on', async () => {
    const locks = new KeyedLocks();
    await expect(locks.run('c1', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await locks.run('c1', async () => 42)).toBe(42);
    expect(locks.busy('c1')).toBe(false);
  });

  it('returns the work\'s value to its caller', async () => {
    const locks = new KeyedLocks();
    const results = await Promise.all([1, 2, 3].map((n) => locks.run('c1', async () => n * 10)));
    expect(results).toEqual([10, 20, 30]);
  });
  it('runAll takes several keys in one order, so crossing holders neither deadlock nor overlap', async () => {
    const locks = new KeyedLocks();
    const held = gate();
    const inside: string[] = [];
    const a = locks.runAll(['n2', 'n1'], async () => {
      inside.push('a');
      await held.opened;
      inside.push('a end');
    });
    const b = locks.runAll(['n1', 'n2', 'n1'], async () => void inside.push('b'));
    // n3 alone is free while a holds n1 and n2.
    expect(await locks.run('n3', async () => 'free')).toBe('free');
    expect(inside).toEqual(['a']);
    held.open();
    await Promise.all([a, b]);
    expect(inside).toEqual(['a', 'a end', 'b']);
    expect(locks.busy('n1') || locks.busy('n2')).toBe(false);
  });
});
