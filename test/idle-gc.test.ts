import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { idleGc } from '../cli/idle-gc.js';

describe('idle garbage collection', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('collects once the API has been quiet for the period, once per quiet spell', () => {
    const collect = vi.fn();
    const gc = idleGc(2000, collect);
    gc.touch();
    vi.advanceTimersByTime(1500);
    gc.touch();
    vi.advanceTimersByTime(1500);
    expect(collect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(600);
    expect(collect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(collect).toHaveBeenCalledTimes(1);
    gc.touch();
    vi.advanceTimersByTime(2000);
    expect(collect).toHaveBeenCalledTimes(2);
    gc.stop();
    gc.touch();
    vi.advanceTimersByTime(5000);
    expect(collect).toHaveBeenCalledTimes(2);
  });

  it('does nothing without a gc function (no --expose-gc)', () => {
    const gc = idleGc(10, undefined);
    gc.touch();
    vi.advanceTimersByTime(100);
    gc.stop();
  });
});
