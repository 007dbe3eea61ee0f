/**
 * The hub agent: a Node process started by the daemon with `nsenter --net=<hub>`, so its own
 * sockets live in the hub netns. The daemon binds published ports in the host netns and passes the
 * listening sockets here over IPC; connections are accepted on the host side and relayed to the
 * container address through the bridge (rootlesskit's builtin driver, with the socket instead of
 * each connection crossing over). It also serves each user network's DNS on the bridge gateway.
 * It exits when the daemon goes away: the next daemon starts a fresh one and re-publishes.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import type { AgentReply, AgentRequest, DnsNetwork } from './agent-protocol.js';
import { buildAnswer, parseQuestion, RCODE_NXDOMAIN, RCODE_REFUSED, RCODE_SERVFAIL, TYPE_A, TYPE_AAAA } from './dns-wire.js';

const UDP_IDLE_MS = 60_000;
const forwards = new Map<string, { close(): void }>();
const dnsServers = new Map<string, { udp: UdpSocket; tcp: Server; net: DnsNetwork }>();
let upstreams: string[] = [];

function reply(r: AgentReply): void {
  process.send?.(r);
}

function forwardTcp(server: Server, target: { ip: string; port: number }): { close(): void } {
  const open = new Set<Socket>();
  // A client's half-close must reach the container while its reply still flows back (`nc` sinks,
  // HTTP/1.0 uploads): both legs stay half-open. The handle came over IPC, so the flag is set here.
  (server as Server & { allowHalfOpen: boolean }).allowHalfOpen = true;
  server.on('connection', (client: Socket) => {
    const upstream = connect({ host: target.ip, port: target.port, allowHalfOpen: true });
    open.add(client);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    const done = (): void => {
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done);
    upstream.on('error', done);
    client.on('close', done);
    upstream.on('close', done);
  });
  return {
    close: () => {
      server.close();
      for (const s of open) s.destroy();
    },
  };
}

function forwardUdp(host: UdpSocket, target: { ip: string; port: number }): { close(): void } {
  // One hub-side socket per client address, so replies find their way back; idle ones expire.
  interface Session {
    sock: UdpSocket;
    timer: NodeJS.Timeout | undefined;
    /** Datagrams that arrived before connect() finished. */
    pending: Buffer[] | undefined;
  }
  const sessions = new Map<string, Session>();
  const touch = (key: string, s: Session): void => {
    clearTimeout(s.timer);
    s.timer = setTimeout(() => {
      s.sock.close();
      sessions.delete(key);
    }, UDP_IDLE_MS);
  };
  host.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let s = sessions.get(key);
    if (!s) {
      const sock = createSocket('udp4');
      const session: Session = { sock, timer: undefined, pending: [] };
      sock.on('message', (back: Buffer) => {
        host.send(back, rinfo.port, rinfo.address);
        touch(key, session);
      });
      sock.on('error', () => undefined);
      sock.connect(target.port, target.ip, () => {
        for (const m of session.pending ?? []) sock.send(m);
        session.pending = undefined;
      });
      sessions.set(key, session);
      s = session;
    }
    touch(key, s);
    if (s.pending) s.pending.push(msg);
    else s.sock.send(msg);
  });
  host.on('error', () => undefined);
  return {
    close: () => {
      host.close();
      for (const s of sessions.values()) {
        clearTimeout(s.timer);
        s.sock.close();
      }
    },
  };
}


/** Ask the host's resolvers (through the hub's uplink) and hand back their reply unchanged. */
function forwardQuery(msg: Buffer): Promise<Buffer | undefined> {
  const server = upstreams[0];
  if (!server) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => finish(undefined), 3000);
    const finish = (b: Buffer | undefined): void => {
      clearTimeout(timer);
      sock.close();
      resolve(b);
    };
    sock.on('message', (b: Buffer) => finish(b));
    sock.on('error', () => finish(undefined));
    sock.send(msg, 53, server);
  });
}

async function answer(net: DnsNetwork, msg: Buffer, client: string): Promise<Buffer | undefined> {
  const q = parseQuestion(msg);
  if (!q) return undefined;
  // A link's alias is seen only by the container that made the link, as with dockerd's resolver.
  const ips = net.links?.[client]?.[q.name] ?? net.records[q.name];
  if (ips) return buildAnswer(msg, q, q.type === TYPE_A ? ips : q.type === TYPE_AAAA ? (net.records6?.[q.name] ?? []) : []);
  if (!net.forward) return buildAnswer(msg, q, [], q.name.includes('.') ? RCODE_NXDOMAIN : RCODE_REFUSED);
  return (await forwardQuery(msg)) ?? buildAnswer(msg, q, [], RCODE_SERVFAIL);
}

function startDns(net: DnsNetwork): Promise<{ udp: UdpSocket; tcp: Server; net: DnsNetwork }> {
  const entry = { udp: createSocket('udp4'), tcp: createServer(), net };
  entry.udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    void answer(entry.net, msg, rinfo.address).then((out) => out && entry.udp.send(out, rinfo.port, rinfo.address));
  });
  entry.udp.on('error', () => undefined);
  entry.tcp.on('connection', (c: Socket) => {
    let buf = Buffer.alloc(0);
    c.on('error', () => c.destroy());
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        void answer(entry.net, Buffer.from(msg), c.remoteAddress?.replace(/^::ffff:/, '') ?? '').then((out) => {
          if (!out) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          c.write(Buffer.concat([len, out]));
        });
      }
    });
  });
  return new Promise((resolve, reject) => {
    entry.udp.once('error', reject);
    entry.udp.bind(53, net.address, () => {
      entry.tcp.once('error', reject);
      entry.tcp.listen(53, net.address, () => resolve(entry));
    });
  });
}

async function setDns(networks: DnsNetwork[]): Promise<void> {
  const wanted = new Map(networks.map((n) => [n.address, n]));
  for (const [addr, entry] of dnsServers) {
    if (!wanted.has(addr)) {
      entry.udp.close();
      entry.tcp.close();
      dnsServers.delete(addr);
    }
  }
  for (const net of networks) {
    const existing = dnsServers.get(net.address);
    if (existing) existing.net = net;
    else dnsServers.set(net.address, await startDns(net));
  }
}

process.on('message', (req: AgentRequest, handle?: unknown) => {
  void (async () => {
    try {
      if (req.op === 'forward-tcp') forwards.set(req.key, forwardTcp(handle as Server, req.target));
      else if (req.op === 'forward-udp') forwards.set(req.key, forwardUdp(handle as UdpSocket, req.target));
      else if (req.op === 'close') {
        forwards.get(req.key)?.close();
        forwards.delete(req.key);
      } else if (req.op === 'dns') {
        upstreams = req.upstreams;
        await setDns(req.networks);
      }
      reply({ seq: req.seq });
    } catch (err) {
      reply({ seq: req.seq, error: err instanceof Error ? err.message : String(err) });
    }
  })();
});

// The daemon is gone: published ports and DNS go with it until the next daemon restores them.
process.on('disconnect', () => process.exit(0));
