/**
 * How often a helper the daemon replaces on its own (the hub agent, the uplink) may die: a few
 * deaths are bad luck (a kill, the OOM killer), many within a minute are a broken binary or host,
 * and replacing it again would only loop.
 */
export class RestartBudget {
  private deaths: number[] = [];

  constructor(
    private readonly limit = 3,
    private readonly windowMs = 60_000,
  ) {}

  /** Notes a death now; false once more than `limit` fell within the window. */
  allow(now = Date.now()): boolean {
    this.deaths = [...this.deaths.filter((t) => now - t < this.windowMs), now];
    return this.deaths.length <= this.limit;
  }
}
