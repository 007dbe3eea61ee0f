/** Timers of pending automatic restarts, with each container's back-off. */
import { nextRestartDelay } from '../../translate/restart-policy.js';

export class RestartTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly delays = new Map<string, number>();

  /** Schedules `run` after the container's next back-off delay; returns the delay. */
  schedule(id: string, ranMs: number, run: () => void): number {
    this.cancel(id);
    const delay = nextRestartDelay(this.delays.get(id) ?? 0, ranMs);
    this.delays.set(id, delay);
    const t = setTimeout(() => {
      this.timers.delete(id);
      run();
    }, delay);
    t.unref();
    this.timers.set(id, t);
    return delay;
  }

  pending(id: string): boolean {
    return this.timers.has(id);
  }

  cancel(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  /** A user start or removal forgets the back-off. */
  reset(id: string): void {
    this.cancel(id);
    this.delays.delete(id);
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
