/**
 * The per-engine hub netns: one Linux bridge per Docker network, ip_forward, NAT out of the uplink,
 * and the hub agent (published ports, DNS; a Go program in the host netns that opens its hub-side
 * sockets from a thread inside this netns). Created on first use; it lives in the engine's mount
 * namespace, so it survives daemon restarts and is adopted by the next daemon.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { rootLogger } from '../rootless/log.js';
import { HubAgent } from './agent-client.js';
import { formatCidr, parseCidr } from './ipam.js';
import { runTool } from '../rootless/exec.js';
import { createNetns, inNetns, ipBatch, iptablesApply, IP6TABLES, IPTABLES, isNetnsMounted, removeNetns } from './netns.js';
import type { NetworkRecord } from './types.js';
import type { Uplink, UplinkTools } from './uplink.js';
import { UplinkKeeper } from './uplink-keeper.js';

export const BRIDGE_MTU = 65520;

export interface HubOptions {
  /** <runtimeDir>/net */
  dir: string;
  /** From the doctor report; undefined: containers get no outbound access. */
  uplink?: UplinkTools;
  /** The agent exited without being stopped; restartAgent() brings a new one. */
  onAgentLost?: (why: string) => void;
}

/**
 * A packet conntrack cannot place (INVALID) skips NAT. For a container's masqueraded connection that means
 * a reply from the uplink lands on the hub's own address, where no socket has the port, and the hub answers
 * it with a reset that kills the connection at the uplink. pasta sends such packets: a window update
 * without the ACK flag when data it wrote to the outside is not acknowledged yet, i.e. on nearly every
 * request to a host with a real round trip (apt-get against a mirror stalled on it). Dropping them leaves
 * the connection alone (the next segment carries the window), as kube-proxy and most routers do.
 */
const DROP_UNTRACKABLE = '-m conntrack --ctstate INVALID -j DROP';

/** Bridges are never routed to one another (dockerd's isolation); switched traffic inside one is not filtered. */
const GLOBAL_RULES = `*filter\n-A INPUT ${DROP_UNTRACKABLE}\n-A FORWARD -i br-+ -o br-+ -j DROP\nCOMMIT\n`;

/**
 * What the hub's sysctls must say: it routes IPv4, and IPv6 for EnableIPv6 networks. A router ignores
 * router advertisements unless accept_ra is 2, and slirp4netns configures the uplink's IPv6 by them.
 * No duplicate address detection (every address in the hub is Burrow's): a pasta started just
 * before a container's first IPv6 connection had a tentative link-local, and such downloads stalled.
 */
const FORWARDING =
  'echo 1 > /proc/sys/net/ipv4/ip_forward && { echo 2 > /proc/sys/net/ipv6/conf/default/accept_ra && echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad && echo 1 > /proc/sys/net/ipv6/conf/all/forwarding || true; }';

/**
 * Where br_netfilter is loaded (as on hosts that also run dockerd) switched frames pass FORWARD too,
 * so traffic within one bridge is accepted ahead of the isolation and internal-network drops.
 */
function networkRules(net: NetworkRecord, op: '-A' | '-D', v6 = false): string {
  const br = net.bridge!;
  const subnet = v6 ? net.subnet6! : formatCidr(parseCidr(net.subnet!));
  const first = op === '-A' ? '-I' : '-D';
  const filter = `*filter\n${first} FORWARD -i ${br} -o ${br} -j ACCEPT\n${net.internal ? `${op} FORWARD -i ${br} -j DROP\n${op} FORWARD -o ${br} -j DROP\n` : ''}COMMIT\n`;
  return net.internal ? filter : `${filter}*nat\n${op} POSTROUTING -s ${subnet} ! -o ${br} -j MASQUERADE\nCOMMIT\n`;
}

/**
 * Lets the agent relay published ports from the client's own address (IP_TRANSPARENT, see
 * slirp/hub-agent/transparent.go): its sockets mark what they send (0x2, SO_MARK), the mark goes
 * onto the connection, and the container's replies, which carry it back, are routed to the hub itself
 * (fwmark 0x1, a local route for every address in table 100) instead of out of the uplink.
 * connmark rather than `-m socket`: the mark is known from the agent's own packets, no socket lookup.
 * Idempotent (an adopted hub gets it too); prints the families that work (4 and/or 6).
 */
function transparentRouting(): string {
  const family = (v: '4' | '6', tool: string, any: string): string => {
    const rule = (chain: string, spec: string): string => `{ ${tool} -t mangle -C ${chain} ${spec} 2>/dev/null || ${tool} -t mangle -A ${chain} ${spec}; }`;
    return [
      `{ ip -${v} rule show pref 100 | grep -q . || ip -${v} rule add pref 100 fwmark 0x1/0x1 lookup 100; }`,
      `ip -${v} route replace local ${any} dev lo table 100`,
      rule('OUTPUT', '-m mark --mark 0x2/0x2 -j CONNMARK --set-xmark 0x2/0x2'),
      rule('PREROUTING', '-m connmark --mark 0x2/0x2 -j MARK --set-xmark 0x1/0x1'),
      `echo ${v}`,
    ].join(' && ');
  };
  // IPv6 quietly: a host without ip6tables has no EnableIPv6 networks either.
  return `ip link set lo up; { ${family('4', IPTABLES, '0.0.0.0/0')}; }; { ${family('6', IP6TABLES, '::/0')}; } 2>/dev/null; true`;
}

export class Hub {
  readonly nsPath: string;
  private readonly uplink: UplinkKeeper;
  private agent: HubAgent | undefined;
  private starting: Promise<void> | undefined;
  private bridges = new Set<string>();

  constructor(private readonly opts: HubOptions) {
    this.nsPath = join(opts.dir, 'hub');
    this.uplink = new UplinkKeeper({ hubNs: this.nsPath, pidFile: join(opts.dir, 'uplink.pid'), logFile: join(opts.dir, 'uplink.log') }, opts.uplink);
  }

  get started(): boolean {
    return this.agent !== undefined;
  }

  /** pasta or slirp4netns, and the address that reaches the host's loopback. */
  get uplinkInfo(): Uplink | undefined {
    return this.uplink.current;
  }

  containerNsPath(containerId: string): string {
    return join(this.opts.dir, 'containers', containerId);
  }

  /** Creates or adopts the hub netns, its uplink and agent, and the bridges of `networks`. */
  ensure(networks: readonly NetworkRecord[]): Promise<void> {
    this.starting ??= this.start().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting.then(() => this.ensureBridges(networks));
  }

  private async start(): Promise<void> {
    HubAgent.requireBinary();
    await mkdir(join(this.opts.dir, 'containers'), { recursive: true, mode: 0o700 });
    const log = rootLogger();
    if (await isNetnsMounted(this.nsPath)) {
      const links = await inNetns(this.nsPath, 'ip', ['-o', 'link', 'show', 'type', 'bridge']);
      this.bridges = new Set([...links.matchAll(/^\d+: ([^:@]+)/gm)].map((m) => m[1]!));
      await this.uplink.adopt();
      // A hub made by an older daemon may lack the rules and IPv6 forwarding; -C keeps each rule single.
      const input = `INPUT ${DROP_UNTRACKABLE}`;
      const v6 = `{ ${IP6TABLES} -C ${input} 2>/dev/null || ${IP6TABLES} -I ${input}; ${IP6TABLES} -C FORWARD -i br-+ -o br-+ -j DROP 2>/dev/null || ${IP6TABLES} -A FORWARD -i br-+ -o br-+ -j DROP; } || true`;
      await inNetns(this.nsPath, 'sh', ['-c', `${FORWARDING} && { ${IPTABLES} -C ${input} 2>/dev/null || ${IPTABLES} -I ${input}; } && ${v6}`]);
      log.debug({ bridges: [...this.bridges], uplink: this.uplink.current?.kind }, 'adopted the hub network namespace');
    } else {
      await createNetns(this.nsPath, 'link set lo up\n', FORWARDING);
      await iptablesApply(this.nsPath, GLOBAL_RULES);
      // Without ip6tables only EnableIPv6 networks are affected (their own rules then fail loudly).
      await iptablesApply(this.nsPath, GLOBAL_RULES, true, true);
      this.bridges.clear();
    }
    await this.uplink.ensure();
    await this.startAgent();
  }

  private async startAgent(): Promise<void> {
    this.agent = HubAgent.start(this.nsPath, join(this.opts.dir, 'agent.log'), await this.transparentFamilies(), this.opts.onAgentLost);
    this.uplink.watchWith(this.agent);
  }

  /** A new agent in place of one that died; the caller publishes the ports and DNS again. */
  async restartAgent(): Promise<void> {
    if (!this.agent || this.agent.running) return;
    await this.startAgent();
  }

  /** Sets up the routing for source-preserving published ports; the families it works for (none: the gateway as the source, as before). */
  private async transparentFamilies(): Promise<string> {
    const { stdout, stderr } = await runTool('nsenter', [`--net=${this.nsPath}`, 'sh', '-c', transparentRouting()], { allowFailure: true });
    const families = stdout.replace(/[^46]/g, '');
    if (!families.includes('4')) {
      rootLogger().warn({ stderr: stderr.slice(0, 2000) }, 'published ports cannot keep the client address (containers see the gateway): the hub rejected the routing for it');
    }
    return families;
  }

  private async ensureBridges(networks: readonly NetworkRecord[]): Promise<void> {
    if (networks.some((n) => n.driver === 'bridge' && n.subnet6)) await this.uplink.widen();
    const missing = networks.filter((n) => n.driver === 'bridge' && n.bridge && !this.bridges.has(n.bridge));
    if (!missing.length) return;
    // Rules first: a bridge that exists always has its rules, so adoption can trust the link list.
    await iptablesApply(this.nsPath, missing.map((n) => networkRules(n, '-A')).join(''));
    await iptablesApply(this.nsPath, missing.filter((n) => n.subnet6).map((n) => networkRules(n, '-A', true)).join(''), false, true);
    const batch = missing
      .map((n) => {
        const prefix = parseCidr(n.subnet!).prefix;
        const v6 = n.subnet6 ? `addr add ${n.gateway6}/${n.subnet6.split('/')[1]} dev ${n.bridge} nodad\n` : '';
        return `link add ${n.bridge} mtu ${BRIDGE_MTU} type bridge\naddr add ${n.gateway}/${prefix} dev ${n.bridge}\n${v6}link set ${n.bridge} up\n`;
      })
      .join('');
    await ipBatch(this.nsPath, batch);
    for (const n of missing) this.bridges.add(n.bridge!);
  }

  async removeBridge(net: NetworkRecord): Promise<void> {
    if (!net.bridge || !this.bridges.has(net.bridge)) return;
    await ipBatch(this.nsPath, `link del ${net.bridge}\n`);
    await iptablesApply(this.nsPath, networkRules(net, '-D'), true);
    if (net.subnet6) await iptablesApply(this.nsPath, networkRules(net, '-D', true), true, true);
    this.bridges.delete(net.bridge);
  }

  requireAgent(): HubAgent {
    if (!this.agent?.running) throw new Error('the hub agent is not running');
    return this.agent;
  }

  /** Stops the agent; with `destroy`, also the uplink and the hub netns (nothing is attached any more). */
  async stop(destroy: boolean): Promise<void> {
    await this.agent?.stop();
    this.agent = undefined;
    this.starting = undefined;
    if (!destroy) return;
    await this.uplink.stop();
    await removeNetns(this.nsPath);
    this.bridges.clear();
  }
}
