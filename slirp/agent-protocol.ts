/** Messages between the daemon and the hub agent over Node's IPC channel (handles ride along). */

export interface DnsNetwork {
  /** The bridge gateway address the server binds (port 53, UDP and TCP). */
  address: string;
  /** Lower-cased name → container addresses on this network (IPv4, and IPv6 for AAAA questions). */
  records: Record<string, string[]>;
  records6?: Record<string, string[]>;
  /** Forward unknown names to the host's resolvers (false for internal networks). */
  forward: boolean;
  /** Per asking address: names its endpoint's links add (lower-cased alias → the linked container's addresses). */
  links?: Record<string, Record<string, string[]>>;
}

export type AgentRequest =
  | { seq: number; op: 'forward-tcp'; key: string; target: { ip: string; port: number } }
  | { seq: number; op: 'forward-udp'; key: string; target: { ip: string; port: number } }
  | { seq: number; op: 'close'; key: string }
  | { seq: number; op: 'dns'; networks: DnsNetwork[]; upstreams: string[] };

export interface AgentReply {
  seq: number;
  error?: string;
}
