/**
 * Holds back crun's report of an exec command it could not start, so that the client sees dockerd's
 * words instead (`OCI runtime exec failed: …`, written into the stdout stream with CRLF) and the exec
 * records 126. crun prints the report before anything else: on its stderr without a TTY, on the pty
 * with one. A first chunk that looks like such a report waits for the exit; any other output, or an
 * exit that was not a start failure, lets it through unchanged.
 */
import { execStartFailure } from '../../translate/runtime-errors.js';

export class StartFailureGate {
  private anyOutput = false;
  private held: { bytes: Buffer; release: () => void } | undefined;

  constructor(private readonly command: string | undefined) {}

  /** Passes `b` on with `send`, unless it is the first output and reads as a start failure. */
  offer(b: Buffer, send: (b: Buffer) => void): void {
    if (!this.anyOutput && !this.held && execStartFailure(b.toString('utf8'))) {
      this.held = { bytes: b, release: () => send(b) };
      return;
    }
    this.anyOutput = true;
    this.flush();
    send(b);
  }

  /** Lets anything held through. */
  flush(): void {
    const held = this.held;
    this.held = undefined;
    held?.release();
  }

  /**
   * At a failed exit: dockerd's message and 126 when the held chunk was the runtime's start failure
   * (the held bytes are dropped), otherwise undefined (and the held bytes are let through).
   */
  settle(): { message: string; exitCode: number } | undefined {
    const held = this.held;
    const failure = held && !this.anyOutput ? execStartFailure(held.bytes.toString('utf8'), this.command) : undefined;
    if (failure) {
      this.held = undefined;
      return failure;
    }
    this.flush();
    return undefined;
  }
}
