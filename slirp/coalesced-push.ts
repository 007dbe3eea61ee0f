/**
 * Sends state of which only the latest version matters (the hub agent's DNS tables). A caller that
 * asks while a send is under way joins the one send queued behind it, which takes its snapshot when
 * it starts; so any number of attaches cost at most two sends in a row instead of one each, and every
 * caller's promise settles after a send that includes the change it made before asking.
 */
export class CoalescedPush {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  /** `send` must take its snapshot synchronously, before its first await. */
  constructor(private readonly send: () => Promise<void>) {}

  request(): Promise<void> {
    this.queued ??= this.after(this.running);
    return this.queued;
  }

  private async after(previous: Promise<void> | undefined): Promise<void> {
    await previous?.catch(() => undefined);
    // From here on a new request queues behind this send: the snapshot below may predate its change.
    this.queued = undefined;
    const sending = this.send();
    this.running = sending;
    try {
      await sending;
    } finally {
      if (this.running === sending) this.running = undefined;
    }
  }
}
