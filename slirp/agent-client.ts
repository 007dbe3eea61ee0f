/** The daemon's side of the hub agent (slirp/hub-agent, Go): starts it and sends it work over its stdin. */
import type { ChildProcessByStdio } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnTool } from '../rootless/exec.js';
import { rootLogger } from '../rootless/log.js';
import type { AgentReply, AgentRequest, DnsNetwork } from './agent-protocol.js';

type Body<T> = T extends unknown ? Omit<T, 'seq'> : never;

/** Where `npm run build` (scripts/build-hub-agent.sh) puts the agent: next to this module in dist/. */
export const HUB_AGENT_BINARY = fileURLToPath(new URL('./burrow-hub-agent', import.meta.url));

/** A bind error as the agent saw it; `code` is the errno's name, as on Node's own errors. */
export class AgentError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** A published port's host side, bound by the agent and not relaying yet (or no longer). */
export class HeldPort {
  private released = false;

  constructor(
    private readonly agent: HubAgent,
    readonly key: string,
  ) {}

  /** The agent now holds it under another key (forward) or it is closed: closing again is a no-op. */
  release(): void {
    this.released = true;
  }

  close(): void {
    if (this.released) return;
    this.released = true;
    this.agent.close(this.key).catch(() => undefined);
  }
}

export class HubAgent {
  private seq = 0;
  private bindSeq = 0;
  private readonly waiting = new Map<number, { resolve: (r: AgentReply) => void; reject: (e: Error) => void }>();
  private exited = false;
  private stopping = false;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    private readonly onLost?: (why: string) => void,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let r: AgentReply;
      try {
        r = JSON.parse(line) as AgentReply;
      } catch {
        rootLogger().warn({ line }, 'hub agent: unreadable reply');
        return;
      }
      const w = this.waiting.get(r.seq);
      this.waiting.delete(r.seq);
      if (r.error) w?.reject(new AgentError(r.error, r.code));
      else w?.resolve(r);
    });
    // A write racing the agent's exit fails with EPIPE; the exit handler reports it.
    child.stdin.on('error', () => undefined);
    child.once('error', (err) => this.gone(err.message));
    child.once('exit', (code, signal) => this.gone(String(code ?? signal)));
  }

  /**
   * Starts the agent in the daemon's namespaces (the host netns: published ports bind there); it
   * enters the hub netns itself for the sockets that belong there. Its stderr goes to `logFile`.
   * `transparent`: the IP families ("4", "46") for which the hub routes replies to the client's own
   * address, so relays keep the client's address as their source. `onLost`: the agent exited
   * without being stopped (killed, crashed).
   */
  static start(hubNs: string, logFile: string, transparent = '', onLost?: (why: string) => void): HubAgent {
    HubAgent.requireBinary();
    const log = openSync(logFile, 'a', 0o600);
    // stdin and stdout are pipes, stderr the log file.
    const child = spawnTool(HUB_AGENT_BINARY, [hubNs, ...(transparent ? [`--transparent=${transparent}`] : [])], { stdio: ['pipe', 'pipe', log] }) as ChildProcessByStdio<Writable, Readable, null>;
    closeSync(log);
    return new HubAgent(child, onLost);
  }

  /** Fails network setup before anything is made when the binary was never built (no Go at `npm run build`). */
  static requireBinary(): void {
    if (!existsSync(HUB_AGENT_BINARY)) {
      throw new Error(`the hub agent ${HUB_AGENT_BINARY} is missing (container networks need it): build it with scripts/build-hub-agent.sh (needs Go; 'npm run build' runs it when Go is installed)`);
    }
  }

  get running(): boolean {
    return !this.exited;
  }

  private gone(why: string): void {
    if (this.exited) return;
    this.exited = true;
    for (const w of this.waiting.values()) w.reject(new Error(`hub agent exited (${why})`));
    this.waiting.clear();
    rootLogger().debug({ why }, 'hub agent exited');
    if (!this.stopping) this.onLost?.(why);
  }

  private request(body: Body<AgentRequest>): Promise<AgentReply> {
    if (this.exited) return Promise.reject(new Error('hub agent is not running'));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ ...body, seq })}\n`);
    });
  }

  /** Binds a published port's host side (port 0: any free one); rejects with the errno's name in `code`. */
  async bind(proto: 'tcp' | 'udp', hostIp: string, port: number): Promise<{ held: HeldPort; port: number }> {
    const key = `bound/${++this.bindSeq}`;
    const reply = await this.request({ op: 'bind', key, proto, hostIp, port });
    return { held: new HeldPort(this, key), port: reply.port ?? port };
  }

  /** Starts relaying a bound port to the container; `key` names it from now on (for close). */
  async forward(key: string, _proto: 'tcp' | 'udp', held: HeldPort, target: { ip: string; port: number }): Promise<void> {
    try {
      await this.request({ op: 'forward', key, bound: held.key, target });
      held.release();
    } finally {
      held.close();
    }
  }

  async close(key: string): Promise<void> {
    await this.request({ op: 'close', key });
  }

  async dns(networks: DnsNetwork[], upstreams: string[]): Promise<void> {
    await this.request({ op: 'dns', networks, upstreams });
  }

  /** Resolves once process `pid` has exited; rejects if the agent goes first or cannot watch (no pidfd before Linux 5.3). */
  async waitExit(pid: number): Promise<void> {
    await this.request({ op: 'watch', pid });
  }

  /** The agent exits when its stdin ends (as it does when the daemon dies). */
  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    this.stopping = true;
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
      setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
    });
  }
}
