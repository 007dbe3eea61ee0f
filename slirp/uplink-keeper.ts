/**
 * The hub's one uplink over its life: started (or adopted from an earlier daemon), widened to carry
 * IPv6 once an IPv6 network is used, replaced when it dies, stopped with the hub. Changes happen one
 * at a time: two at once would leave two uplinks attached to the hub.
 */
import { rootLogger } from '../rootless/log.js';
import { RestartBudget } from '../rootless/restart-budget.js';
import type { HubAgent } from './agent-client.js';
import { findUplink, startUplink, stopUplink, type Uplink, type UplinkPaths, type UplinkTools } from './uplink.js';

export class UplinkKeeper {
  private uplink: Uplink | undefined;
  /** The swap of an IPv4-only uplink for a pasta that carries both, once (uplink.ts). */
  private widening: Promise<void> | undefined;
  private widenFailed = false;
  /** Uplinks stopped on purpose: their exit is not a death to repair. */
  private readonly retired = new WeakSet<Uplink>();
  private change: Promise<void> = Promise.resolve();
  private readonly losses = new RestartBudget();
  /** The agent that watches the uplink (the daemon cannot wait for it: see watch()). */
  private agent: HubAgent | undefined;

  constructor(
    private readonly paths: UplinkPaths,
    /** From the doctor report; undefined: containers get no outbound access. */
    private readonly tools: UplinkTools | undefined,
  ) {}

  /** pasta or slirp4netns, and the address that reaches the host's loopback. */
  get current(): Uplink | undefined {
    return this.uplink;
  }

  /** The pasta that can carry both families, if the doctor found one. */
  private get pastaForBoth(): string | undefined {
    return this.tools?.ipv6Path ?? (this.tools?.kind === 'pasta' ? this.tools.path : undefined);
  }

  /** The uplink an earlier daemon left attached to an adopted hub, if it still runs. */
  async adopt(): Promise<void> {
    this.uplink = await findUplink(this.paths);
  }

  /** Starts the doctor's pick unless one runs already. */
  async ensure(): Promise<void> {
    if (this.uplink || !this.tools) return;
    this.uplink = await this.startIPv4(this.tools);
    rootLogger().info({ uplink: this.uplink.kind, gateway: this.uplink.gateway }, 'container networks reach out through %s', this.uplink.kind);
  }

  /**
   * Has `agent` say when the uplink exits: the daemon cannot wait for it, since it runs detached to
   * outlive daemon restarts (and an adopted one is nobody's child here). Called for every new agent.
   */
  watchWith(agent: HubAgent): void {
    this.agent = agent;
    this.watch();
  }

  private watch(): void {
    const uplink = this.uplink;
    const agent = this.agent;
    if (!uplink || !agent?.running) return;
    agent.waitExit(uplink.pid).then(
      () => this.exited(uplink),
      (err: unknown) => {
        // An agent that went has a successor, which watches; one that cannot watch has no pidfd (Linux < 5.3).
        if (agent.running) rootLogger().warn({ err }, 'the uplink is not watched: should it exit, containers cannot reach out until the daemon restarts');
      },
    );
  }

  /**
   * The uplink died (killed, crashed, the OOM killer): the containers lost their way out. A new one of
   * the same kind and family with the same addresses, so hosts files and DNS settings stay right;
   * the containers' open outbound connections are lost, new ones work. Without this, nothing reached
   * out until the daemon restarted.
   */
  private exited(dead: Uplink): void {
    if (this.uplink !== dead || this.retired.has(dead)) return;
    const log = rootLogger();
    if (!this.losses.allow()) {
      log.error({ uplink: dead.kind }, 'the uplink keeps exiting: not starting another (containers cannot reach out; restart the daemon)');
      return;
    }
    log.warn({ uplink: dead.kind, uplinkPid: dead.pid }, 'the uplink exited: starting a new one');
    this.serially(async () => {
      const tools = this.tools;
      const pasta = this.pastaForBoth;
      if (this.uplink !== dead || !tools) return;
      // A dead uplink that carried both families was a pasta, so the doctor found one.
      this.uplink = dead.family === 'ipv4' || !pasta ? await this.startIPv4(tools) : await startUplink('pasta', pasta, this.paths, { family: 'both', replacing: dead });
      log.info({ uplink: this.uplink.kind, uplinkPid: this.uplink.pid }, 'the new uplink carries the containers out');
      this.watch();
    }).catch((err: unknown) => log.error({ err }, 'no new uplink: containers cannot reach out until the daemon restarts'));
  }

  private serially(change: () => Promise<void>): Promise<void> {
    const next = this.change.then(change);
    this.change = next.catch(() => undefined);
    return next;
  }

  /**
   * The doctor's pick. Where slirp4netns cannot start in its sandbox (pivot_root or its mounts refused,
   * as under some LSMs and on a rootfs), pasta -4 takes its place, or else slirp4netns runs unsandboxed.
   */
  private async startIPv4(tools: UplinkTools): Promise<Uplink> {
    try {
      return await startUplink(tools.kind, tools.path, this.paths);
    } catch (err) {
      if (tools.kind !== 'slirp4netns') throw err;
      const log = rootLogger();
      if (tools.ipv6Path) {
        log.warn({ err }, 'slirp4netns did not start: pasta carries IPv4 instead');
        return startUplink('pasta', tools.ipv6Path, this.paths);
      }
      log.warn({ err }, 'slirp4netns did not start in its sandbox: it runs without one');
      return startUplink('slirp4netns', tools.path, this.paths, { unsandboxed: true });
    }
  }

  /**
   * IPv6 out of the hub once a container is on an IPv6 network: an IPv4-only uplink (slirp4netns, or
   * pasta -4) is replaced by a pasta that carries both. The swap cuts the containers' open outbound
   * connections through the uplink (new ones work at once; the gateway address stays the same), once
   * per hub, and only for a user who attaches a container to an IPv6 network. If the new pasta fails,
   * the IPv4-only uplink comes back.
   */
  widen(): Promise<void> {
    const tools = this.tools;
    const pasta = this.pastaForBoth;
    if (this.uplink?.family !== 'ipv4' || this.widenFailed || !tools || !pasta) return Promise.resolve();
    const log = rootLogger();
    this.widening ??= this.serially(async () => {
      const current = this.uplink;
      if (current?.family !== 'ipv4') return;
      // `uplink` keeps the old record meanwhile: the gateway address, all others read of it, stays.
      this.retired.add(current);
      await stopUplink(current, this.paths);
      try {
        this.uplink = await startUplink('pasta', pasta, this.paths, { family: 'both', replacing: current });
        log.info({ gateway: this.uplink.gateway, before: current.kind }, 'an IPv6 network is in use: pasta now carries IPv4 and IPv6');
      } catch (err) {
        log.warn({ err }, 'IPv6 networks cannot reach out: pasta for both families did not start');
        this.widenFailed = true;
        this.uplink = await this.startIPv4(tools);
      }
      this.watch();
    }).finally(() => {
      this.widening = undefined;
    });
    return this.widening;
  }

  /**
   * The hub goes: its uplink with it (also one this daemon never adopted). After any widening or
   * replacement in flight, so none starts an uplink once the hub is gone.
   */
  stop(): Promise<void> {
    return this.serially(async () => {
      const uplink = this.uplink ?? (await findUplink(this.paths));
      if (uplink) this.retired.add(uplink);
      await stopUplink(uplink, this.paths);
      this.uplink = undefined;
    });
  }
}
