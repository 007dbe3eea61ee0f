/**
 * A client's input to a container's stdin, through conmon's SOCK_SEQPACKET attach socket (Node's
 * net module cannot open one; node-unix-socket can). Bytes that arrive before the container (and so
 * its socket) exists are held and sent once it does.
 */
import { closeSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { SeqpacketSocket } from 'node-unix-socket';
import type { SessionInput } from './interface.js';

/** conmon reads packets into a 32 KiB buffer; a longer packet would be cut. */
const PACKET = 8192;

export class AttachInput implements SessionInput {
  private sock: SeqpacketSocket | undefined;
  private connected = false;
  private pending: Buffer[] = [];
  private ended = false;
  private gone = false;

  /** The socket path can exceed sun_path's 108 bytes: connect through /proc/self/fd of its directory. */
  connect(socketPath: string): void {
    if (this.gone || this.sock) return;
    let dirFd: number;
    try {
      dirFd = openSync(dirname(socketPath), 'r');
    } catch {
      this.gone = true;
      return;
    }
    const sock = new SeqpacketSocket();
    this.sock = sock;
    // conmon writes the container's output to every attached socket; reading keeps it from blocking.
    sock.on('data', () => undefined);
    sock.on('error', () => {
      this.gone = true;
    });
    const closeDir = (): void => {
      try {
        closeSync(dirFd);
      } catch {
        // already closed
      }
    };
    try {
      sock.connect(`/proc/self/fd/${dirFd}/${socketPath.slice(socketPath.lastIndexOf('/') + 1)}`, () => {
        closeDir();
        this.connected = true;
        for (const b of this.pending) this.send(b);
        this.pending = [];
        if (this.ended) sock.end();
        if (this.gone) sock.destroy();
      });
    } catch {
      closeDir();
      this.gone = true;
    }
  }

  private send(b: Buffer): void {
    for (let off = 0; off < b.length; off += PACKET) this.sock?.write(b.subarray(off, off + PACKET));
  }

  write(data: Buffer): void {
    if (this.gone || this.ended) return;
    if (this.connected) this.send(data);
    else this.pending.push(data);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.connected && !this.gone) this.sock?.end();
  }

  detach(): void {
    if (this.gone) return;
    this.gone = true;
    if (this.connected) this.sock?.destroy();
  }

  get closed(): boolean {
    return this.gone;
  }
}
