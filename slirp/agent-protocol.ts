/**
 * JSON lines between the daemon and the hub agent (slirp/hub-agent, Go): one request a line on its
 * stdin, one reply a line on its stdout, answered in order (but a watch, answered when its process exits).
 */

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
  /** Binds a published port's host side in the host netns under `key` (port 0: any free port); nothing relays yet. */
  | { seq: number; op: 'bind'; key: string; proto: 'tcp' | 'udp'; hostIp: string; port: number }
  /** Starts relaying the port bound as `bound` to the container; from now on it is called `key`. */
  | { seq: number; op: 'forward'; key: string; bound: string; target: { ip: string; port: number } }
  | { seq: number; op: 'close'; key: string }
  | { seq: number; op: 'dns'; networks: DnsNetwork[]; upstreams: string[] }
  /** Answered once process `pid` has exited (at once if it has): the uplink, which the daemon cannot wait for. */
  | { seq: number; op: 'watch'; pid: number };

export interface AgentReply {
  seq: number;
  error?: string;
  /** The errno's name when a bind failed (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...). */
  code?: string;
  /** The port a bind got. */
  port?: number;
}
