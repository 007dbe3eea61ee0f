/**
 * Bridges of IPv6-only networks (EnableIPv4 false) in the hub: an IPv6 gateway address, the IPv6
 * rules (same-bridge accept, internal drops, NAT out of the uplink) and no IPv4 at all. The hub
 * plumbs dual-stack bridges; these are kept apart so the hub's IPv4 steps never see a network
 * without an IPv4 subnet.
 */
import { BRIDGE_MTU } from './hub.js';
import { inNetns, ipBatch, iptablesApply } from './netns.js';
import type { NetworkRecord } from './types.js';

export const isV6Only = (net: NetworkRecord): boolean => net.driver === 'bridge' && net.enableIPv4 === false;

function rules(net: NetworkRecord, op: '-A' | '-D'): string {
  const br = net.bridge!;
  const first = op === '-A' ? '-I' : '-D';
  const filter = `*filter\n${first} FORWARD -i ${br} -o ${br} -j ACCEPT\n${net.internal ? `${op} FORWARD -i ${br} -j DROP\n${op} FORWARD -o ${br} -j DROP\n` : ''}COMMIT\n`;
  return net.internal ? filter : `${filter}*nat\n${op} POSTROUTING -s ${net.subnet6} ! -o ${br} -j MASQUERADE\nCOMMIT\n`;
}

export class V6OnlyBridges {
  /** Undefined until the hub's bridges were listed (after a restart the hub may already have some). */
  private known: Set<string> | undefined;

  constructor(private readonly hubNsPath: string) {}

  /** Call with the hub up. */
  async ensure(nets: readonly NetworkRecord[]): Promise<void> {
    const wanted = nets.filter(isV6Only);
    if (!wanted.length) return;
    this.known ??= new Set([...(await inNetns(this.hubNsPath, 'ip', ['-o', 'link', 'show', 'type', 'bridge'])).matchAll(/^\d+: ([^:@]+)/gm)].map((m) => m[1]!));
    const missing = wanted.filter((n) => !this.known!.has(n.bridge!));
    if (!missing.length) return;
    // Rules first, as the hub does: a bridge that exists always has its rules.
    await iptablesApply(this.hubNsPath, missing.map((n) => rules(n, '-A')).join(''), false, true);
    await ipBatch(
      this.hubNsPath,
      missing.map((n) => `link add ${n.bridge} mtu ${BRIDGE_MTU} type bridge\naddr add ${n.gateway6}/${n.subnet6!.split('/')[1]} dev ${n.bridge} nodad\nlink set ${n.bridge} up\n`).join(''),
    );
    for (const n of missing) this.known.add(n.bridge!);
  }

  async remove(net: NetworkRecord): Promise<void> {
    if (!isV6Only(net)) return;
    await ipBatch(this.hubNsPath, `link del ${net.bridge}\n`, true);
    await iptablesApply(this.hubNsPath, rules(net, '-D'), true, true);
    this.known?.delete(net.bridge!);
  }

  /** The hub went away with its bridges. */
  forget(): void {
    this.known = undefined;
  }
}
