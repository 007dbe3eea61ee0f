/** The daemon's side of the hub agent: starts it inside the hub netns and sends it work. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Socket as UdpSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { rootLogger } from '../rootless/log.js';
import type { AgentReply, AgentRequest, DnsNetwork } from './agent-protocol.js';

type Body<T> = T extends unknown ? Omit<T, 'seq'> : never;

export class HubAgent {
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (r: AgentReply) => {
      const w = this.waiting.get(r.seq);
      this.waiting.delete(r.seq);
      if (r.error) w?.reject(new Error(r.error));
      else w?.resolve();
    });
    child.once('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.waiting.values()) w.reject(new Error(`hub agent exited (${code ?? signal})`));
      this.waiting.clear();
      rootLogger().debug({ code, signal }, 'hub agent exited');
    });
  }

  static start(hubNs: string, logFile: string): HubAgent {
    const script = fileURLToPath(new URL('./agent.js', import.meta.url));
    const args = [`--net=${hubNs}`, process.execPath, script];
    rootLogger().debug({ cmd: ['nsenter', ...args].join(' ') }, 'exec');
    const log = openSync(logFile, 'a', 0o600);
    // nsenter execs node with the IPC channel fd intact, so handles can be passed across netns.
    const child = spawn('nsenter', args, { stdio: ['ignore', log, log, 'ipc'] });
    closeSync(log);
    return new HubAgent(child);
  }

  get running(): boolean {
    return !this.exited;
  }

  private request(body: Body<AgentRequest>, handle?: Server | UdpSocket): Promise<void> {
    if (this.exited) return Promise.reject(new Error('hub agent is not running'));
    const seq = ++this.seq;
    const req = { ...body, seq } as AgentRequest;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.child.send(req, handle, (err) => {
        if (!err) return;
        this.waiting.delete(seq);
        reject(err);
      });
    });
  }

  /** Hands over a bound socket; the daemon's own copy is closed once the agent holds it. */
  async forward(key: string, proto: 'tcp' | 'udp', handle: Server | UdpSocket, target: { ip: string; port: number }): Promise<void> {
    try {
      await this.request({ op: proto === 'tcp' ? 'forward-tcp' : 'forward-udp', key, target }, handle);
    } finally {
      handle.close();
    }
  }

  close(key: string): Promise<void> {
    return this.request({ op: 'close', key });
  }

  dns(networks: DnsNetwork[], upstreams: string[]): Promise<void> {
    return this.request({ op: 'dns', networks, upstreams });
  }

  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.disconnect();
      setTimeout(() => this.child.kill('SIGKILL'), 2000).unref();
    });
  }
}
