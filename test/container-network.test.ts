import { createServer as createHttpServer, get as httpGet } from 'node:http';
import { createSocket } from 'node:dgram';
import { createConnection } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerCli, runProcess } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { containerKit } from './harness/container-kit.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;

const { uniqueName: name, created: containers, ok, removeAll } = containerKit(docker);
const networks = new Set<string>();

/** busybox-static's `wget -T` crashes here; `timeout` bounds it instead. */
const fetchIn = (url: string): string[] => ['timeout', '10', 'wget', '-qO-', url];

function httpText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet(url, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** A web server in a container that serves its own /etc, so /hostname names the container. */
async function webServer(n: string, extra: string[] = []): Promise<void> {
  await ok(['run', '-d', '--name', n, ...extra, busybox, 'httpd', '-f', '-p', '80', '-h', '/etc']);
}

beforeAll(async () => {
  await ok(['pull', busybox]);
});

afterAll(async () => {
  await removeAll();
  for (const n of networks) await docker(['network', 'rm', n]);
});

describe('container networking', () => {
  it('containers on a user network reach each other by name and by alias; DNS answers both', async () => {
    const net = `net-${process.pid}`;
    networks.add(net);
    await ok(['network', 'create', net]);
    const srv = name('srv');
    await webServer(srv, ['--network', net, '--network-alias', 'web', '--hostname', 'webhost']);
    expect(await ok(['run', '--rm', '--network', net, busybox, ...fetchIn(`http://${srv}/hostname`)])).toBe('webhost');
    expect(await ok(['run', '--rm', '--network', net, busybox, ...fetchIn('http://web/hostname')])).toBe('webhost');
    const lookup = await ok(['run', '--rm', '--network', net, busybox, 'nslookup', 'web']);
    const ip = await ok(['inspect', '--format', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, srv]);
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(lookup).toContain(ip);
    // Over TCP too (clients fall back to it for big answers): glibc's resolver with use-vc asks only over TCP.
    const getent = ['/hostusr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '--library-path', '/hostusr/lib/x86_64-linux-gnu', '/hostusr/bin/getent'];
    const overTcp = await ok(['run', '--rm', '--network', net, '-e', 'RES_OPTIONS=use-vc', '-v', '/usr:/hostusr:ro', busybox, ...getent, 'hosts', 'web']);
    expect(overTcp).toMatch(new RegExp(`^${ip.replace(/\./g, '\\.')}\\s+web$`));
  });

  it('on the default bridge containers reach each other by IP only', async () => {
    const srv = name('bridge-srv');
    await webServer(srv, ['--hostname', 'bridgehost']);
    const ip = await ok(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', srv]);
    expect(ip).toMatch(/^172\.17\./);
    expect(await ok(['run', '--rm', busybox, ...fetchIn(`http://${ip}/hostname`)])).toBe('bridgehost');
    const byName = await docker(['run', '--rm', busybox, ...fetchIn(`http://${srv}/hostname`)]);
    expect(byName.code).not.toBe(0);
  });

  it('publishes a TCP port on 127.0.0.1, visible in inspect, docker port and docker ps', async () => {
    const web = name('published');
    await webServer(web, ['--hostname', 'pubhost', '-p', '127.0.0.1::80']);
    const mapping = await ok(['port', web, '80']);
    const m = /^127\.0\.0\.1:(\d+)$/.exec(mapping);
    expect(m, mapping).not.toBeNull();
    let body = '';
    for (let i = 0; i < 50 && body !== 'pubhost\n'; i++) {
      body = await httpText(`http://127.0.0.1:${m![1]}/hostname`).catch(() => '');
      if (body !== 'pubhost\n') await sleep(100);
    }
    expect(body).toBe('pubhost\n');
    // Bound to 127.0.0.1 only: another loopback address of this host does not answer.
    const other = await httpText(`http://127.0.0.2:${m![1]}/hostname`).then(
      () => 'answered',
      (err: NodeJS.ErrnoException) => err.code,
    );
    expect(other).toBe('ECONNREFUSED');
    expect(await ok(['ps', '--filter', `name=${web}`, '--format', '{{.Ports}}'])).toBe(`127.0.0.1:${m![1]}->80/tcp`);
  });

  it("relays a client's half-close through a published port while the reply flows back", async () => {
    const sink = name('sink');
    await ok(['run', '-d', '--name', sink, '-p', '127.0.0.1::5000', busybox, 'nc', '-ll', '-p', '5000', '-e', 'wc', '-c']);
    const port = Number(/:(\d+)$/.exec(await ok(['port', sink, '5000']))![1]);
    const payload = Buffer.alloc(1 << 20, 0x61);
    let answer = '';
    for (let attempt = 0; attempt < 50 && answer === ''; attempt++) {
      answer = await new Promise<string>((resolve) => {
        const s = createConnection({ host: '127.0.0.1', port, allowHalfOpen: true }, () => s.end(payload));
        let got = '';
        s.on('data', (b: Buffer) => (got += b.toString()));
        s.on('end', () => resolve(got.trim()));
        s.on('error', () => resolve(''));
      });
      if (answer === '') await sleep(100);
    }
    expect(answer).toBe(String(payload.length));
  });

  it("keeps a non-loopback client's address as the source of a published port's connections; loopback clients come from the gateway", async () => {
    // The host's own non-loopback address stands in for a remote client (all traffic stays on this machine).
    const hostAddr = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    expect(hostAddr, 'this host needs a non-loopback IPv4 address').toBeDefined();
    const web = name('peer');
    // busybox httpd hands the peer's address and port to CGI scripts as REMOTE_ADDR and REMOTE_PORT.
    const cgi = `mkdir -p /w/cgi-bin && printf '%s\\n' '#!/bin/sh' 'printf "Content-Type: text/plain\\r\\n\\r\\n"' 'echo "$REMOTE_ADDR $REMOTE_PORT"' > /w/cgi-bin/peer && chmod +x /w/cgi-bin/peer && exec httpd -f -p 80 -h /w`;
    await ok(['run', '-d', '--name', web, '-p', '0.0.0.0::80', busybox, 'sh', '-c', cgi]);
    const port = /^0\.0\.0\.0:(\d+)$/m.exec(await ok(['port', web, '80']))![1];
    const gateway = await ok(['inspect', '--format', '{{.NetworkSettings.Gateway}}', web]);
    /** What the container saw as the peer, and the client's own port. */
    const peerSeen = async (from: string, to: string): Promise<{ seen: string; clientPort?: number }> => {
      for (let i = 0; i < 50; i++) {
        const got = await new Promise<{ seen: string; clientPort?: number }>((resolve) => {
          httpGet({ host: to, port, path: '/cgi-bin/peer', localAddress: from, agent: false }, (res) => {
            const clientPort = res.socket.localPort;
            let b = '';
            res.on('data', (d: Buffer) => (b += d.toString()));
            // httpd listens on IPv6 too, so an IPv4 peer reads [::ffff:a.b.c.d].
            res.on('end', () => resolve({ seen: res.statusCode === 200 ? b.trim().replace(/^\[(?:::ffff:)?([^\]]*)\]/, '$1') : '', clientPort }));
          }).on('error', () => resolve({ seen: '' }));
        });
        if (got.seen) return got;
        await sleep(100);
      }
      return { seen: '' };
    };
    const remote = await peerSeen(hostAddr!, hostAddr!);
    expect(remote.seen).toBe(`${hostAddr} ${remote.clientPort}`);
    expect((await peerSeen('127.0.0.1', '127.0.0.1')).seen).toMatch(new RegExp(`^${gateway.replace(/\./g, '\\.')} \\d+$`));

    // UDP the same way: the container logs each datagram's source address.
    const udp = name('udp-peer');
    const node = ['/hostusr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '--library-path', '/hostusr/lib/x86_64-linux-gnu', '/hostusr/bin/node'];
    const server = "require('dgram').createSocket('udp4').on('message', (m, r) => console.log(String(m).trim() + ' from ' + r.address + ' ' + r.port)).bind(9999)";
    await ok(['run', '-d', '--name', udp, '-v', '/usr:/hostusr:ro', '-p', '0.0.0.0::9999/udp', busybox, ...node, '-e', server]);
    const udpPort = Number(/^0\.0\.0\.0:(\d+)$/m.exec(await ok(['port', udp, '9999/udp']))![1]);
    const udpSeen = async (from: string, tag: string): Promise<{ addr?: string; samePort: boolean }> => {
      const sock = createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, from, r));
      const own = sock.address().port;
      let line: string | undefined;
      for (let i = 0; i < 50 && !line; i++) {
        sock.send(tag, udpPort, from);
        await sleep(100);
        line = (await docker(['logs', udp])).stdout.split('\n').find((l) => l.startsWith(`${tag} from `));
      }
      sock.close();
      const [addr, seenPort] = line?.slice(`${tag} from `.length).split(' ') ?? [];
      return { addr, samePort: Number(seenPort) === own };
    };
    expect(await udpSeen(hostAddr!, 'remote')).toEqual({ addr: hostAddr, samePort: true });
    expect((await udpSeen('127.0.0.1', 'loopback')).addr).toBe(gateway);
  });

  it('publishes UDP, and -P maps exposed ports to random host ports', async () => {
    const udp = name('udp');
    // busybox-static has no UDP server; the host's node runs in the container from a read-only bind of /usr.
    const node = ['/hostusr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '--library-path', '/hostusr/lib/x86_64-linux-gnu', '/hostusr/bin/node'];
    const server = "require('dgram').createSocket('udp4').on('message', (m) => console.log(String(m).trim())).bind(9999)";
    await ok(['run', '-d', '--name', udp, '-v', '/usr:/hostusr:ro', '-p', '127.0.0.1::9999/udp', busybox, ...node, '-e', server]);
    const port = Number(/:(\d+)$/.exec(await ok(['port', udp, '9999/udp']))![1]);
    const sock = createSocket('udp4');
    let logs = '';
    for (let i = 0; i < 50 && !logs.includes('datagram'); i++) {
      sock.send('datagram\n', port, '127.0.0.1');
      await sleep(100);
      logs = (await docker(['logs', udp])).stdout;
    }
    sock.close();
    expect(logs).toContain('datagram');
    const all = name('publish-all');
    await ok(['run', '-d', '--name', all, '--expose', '80', '-P', busybox, 'httpd', '-f', '-p', '80']);
    expect(await ok(['port', all])).toMatch(/^80\/tcp -> 0\.0\.0\.0:\d+/m);
  });

  it('reaches a service on the host loopback through host-gateway', async () => {
    const server = createHttpServer((_req, res) => res.end('from-the-host'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const out = await ok(['run', '--rm', '--add-host', 'host.docker.internal:host-gateway', busybox, ...fetchIn(`http://host.docker.internal:${port}/`)]);
      expect(out).toBe('from-the-host');
      // --add-host holds on the host network and on none too, as with dockerd.
      const onHost = await ok(['run', '--rm', '--network', 'host', '--add-host', 'host.docker.internal:host-gateway', '--add-host', 'extra.test:10.9.8.7', busybox, ...fetchIn(`http://host.docker.internal:${port}/`)]);
      expect(onHost).toBe('from-the-host');
      expect(await ok(['run', '--rm', '--network', 'none', '--add-host', 'extra.test:10.9.8.7', busybox, 'grep', 'extra.test', '/etc/hosts'])).toBe('10.9.8.7\textra.test');
    } finally {
      server.close();
    }
  });
});

/** `docker events` replayed from `since` up to now, one line per event in the given format. */
async function eventsSince(since: number, filters: string[], format: string): Promise<string[]> {
  const until = (Date.now() / 1000 + 0.2).toFixed(3);
  const args = ['events', '--since', since.toFixed(3), '--until', until, ...filters.flatMap((f) => ['--filter', f]), '--format', format];
  return (await ok(args)).split('\n').filter((l) => l !== '');
}

describe('network events, connect of stopped containers, links', () => {
  it('docker events --filter type=network shows create, connect, disconnect and destroy', async () => {
    const since = Date.now() / 1000;
    const net = `evnet-${process.pid}`;
    networks.add(net);
    const netId = await ok(['network', 'create', net]);
    const c = name('ev');
    const id = await ok(['run', '-d', '--name', c, '--network', net, busybox, 'true']);
    await ok(['wait', c]);
    await ok(['rm', c]);
    await ok(['network', 'rm', net]);
    networks.delete(net);
    const lines = await eventsSince(since, ['type=network', `network=${net}`], '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}} {{.Actor.Attributes.container}}');
    expect(lines).toEqual([
      `create ${netId} ${net} bridge <no value>`,
      `connect ${netId} ${net} bridge ${id}`,
      `disconnect ${netId} ${net} bridge ${id}`,
      `destroy ${netId} ${net} bridge <no value>`,
    ]);
  });

  it('connect and disconnect of a stopped container apply at its next start', async () => {
    const net = `stopnet-${process.pid}`;
    networks.add(net);
    await ok(['network', 'create', net]);
    const c = name('stopped');
    await ok(['create', '--name', c, busybox, 'sleep', '1000']);
    await ok(['network', 'connect', '--alias', 'later', net, c]);
    await ok(['network', 'disconnect', 'bridge', c]);
    const keys = '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}';
    expect(await ok(['inspect', '--format', keys, c])).toBe(net);
    const again = await docker(['network', 'disconnect', 'bridge', c]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('is not connected to the network bridge');
    await ok(['start', c]);
    expect(await ok(['inspect', '--format', keys, c])).toBe(net);
    const ip = await ok(['inspect', '--format', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c]);
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await ok(['exec', c, 'ip', '-o', '-4', 'addr', 'show'])).toContain(ip);
    // The alias given at connect resolves on the network.
    expect(await ok(['run', '--rm', '--network', net, busybox, 'nslookup', 'later'])).toContain(ip);
    await ok(['stop', '-t', '0', c]);
    await ok(['network', 'disconnect', net, c]);
    await ok(['network', 'connect', 'bridge', c]);
    await ok(['start', c]);
    expect(await ok(['inspect', '--format', keys, c])).toBe('bridge');
    expect(await ok(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', c])).toMatch(/^172\.17\./);
    await ok(['rm', '-f', c]);
    containers.delete(c);
  });

  it('a network only a stopped container names can be removed, as with dockerd; its start then fails', async () => {
    const net = `gone-${process.pid}`;
    networks.add(net);
    await ok(['network', 'create', net]);
    const c = name('orphan');
    await ok(['create', '--name', c, '--network', net, busybox, 'true']);
    await ok(['network', 'rm', net]);
    networks.delete(net);
    const start = await docker(['start', c]);
    expect(start.code).not.toBe(0);
    expect(start.stderr).toContain(`network ${net} not found`);
  });

  it('--link on the default bridge resolves the alias through /etc/hosts and sets ALIAS_NAME', async () => {
    const srv = name('linked');
    await webServer(srv, ['--hostname', 'linkhost', '--expose', '80']);
    const client = name('linker');
    const out = await ok(['run', '--name', client, '--link', `${srv}:web`, busybox, 'sh', '-c', `${fetchIn('http://web/hostname').join(' ')} && echo "$WEB_NAME $WEB_PORT_80_TCP_PORT"`]);
    expect(out.split('\n')).toEqual(['linkhost', `/${client}/web 80`]);
    expect(await ok(['inspect', '--format', '{{json .HostConfig.Links}}', client])).toBe(JSON.stringify([`/${srv}:/${client}/web`]));
    const missing = await docker(['create', '--link', `no-such-${process.pid}:x`, busybox, 'true']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`could not get container for no-such-${process.pid}`);
  });
});

describe('docker rm --link', () => {
  it('removes a legacy link by its /parent/alias name and leaves both containers alone, with dockerd\'s errors', async () => {
    const srv = name('rmlink-srv');
    await ok(['run', '-d', '--name', srv, busybox, 'sleep', '60']);
    const client = name('rmlink-client');
    await ok(['create', '--name', client, '--link', `${srv}:web`, busybox, 'true']);
    expect(await ok(['inspect', '--format', '{{json .HostConfig.Links}}', client])).toBe(JSON.stringify([`/${srv}:/${client}/web`]));
    const r = await docker(['rm', '--link', `/${client}/web`]);
    expect(r).toMatchObject({ code: 0, stdout: `/${client}/web\n` });
    expect(await ok(['inspect', '--format', '{{json .HostConfig.Links}}', client])).toBe('null');
    expect(await ok(['inspect', '--format', '{{.State.Running}}', srv])).toBe('true');
    const again = await docker(['rm', '--link', `/${client}/web`]);
    // The CLI trims the slashes off the name it sends.
    expect(again.stderr).toContain(`No such container: ${client}/web`);
    const plain = await docker(['rm', '--link', srv]);
    expect(plain.stderr).toContain('Conflict, cannot remove the default link name of the container');
    expect(await ok(['inspect', '--format', '{{.State.Running}}', srv])).toBe('true');
  });
});

describe('links and link-local addresses on a user network', () => {
  it('--link puts the alias in the endpoint Links and the DNS answers it for the linking container only; --link-local-ip is set and shown', async () => {
    // Internal: a name the network does not know is refused here instead of asked of the host's resolver.
    const net = `linknet-${process.pid}`;
    networks.add(net);
    await ok(['network', 'create', '--internal', net]);
    const srv = name('link-srv');
    await webServer(srv, ['--network', net, '--hostname', 'linkhost']);
    const client = name('link-client');
    const script = `${fetchIn('http://webalias/hostname').join(' ')} && nslookup webalias >/dev/null && echo resolved; ip -4 addr show eth0 | grep -c 169.254.10.10; grep -c webalias /etc/hosts`;
    const out = await docker(['run', '--name', client, '--network', net, '--link', `${srv}:webalias`, '--link-local-ip', '169.254.10.10', busybox, 'sh', '-c', script]);
    expect(out.stdout.split('\n')).toEqual(['linkhost', 'resolved', '1', '0', '']);
    const ep = JSON.parse(await ok(['inspect', '--format', `{{json (index .NetworkSettings.Networks "${net}")}}`, client])) as Record<string, unknown>;
    expect(ep.Links).toEqual([`${srv}:webalias`]);
    expect(ep.IPAMConfig).toEqual({ LinkLocalIPs: ['169.254.10.10'] });
    // Another container on the network does not see the alias.
    const other = await docker(['run', '--rm', '--network', net, busybox, 'nslookup', 'webalias']);
    expect(other.code).not.toBe(0);
  });
});

describe('IPv6 networks', () => {
  it('--ipv6 gives a ULA /64: containers get an address, a default route and AAAA names; --subnet and --ip6 are honoured', async () => {
    const net = `v6net-${process.pid}`;
    networks.add(net);
    await ok(['network', 'create', '--ipv6', net]);
    const [info] = JSON.parse(await ok(['network', 'inspect', net])) as { EnableIPv6: boolean; IPAM: { Config: { Subnet: string; Gateway?: string }[] } }[];
    expect(info!.EnableIPv6).toBe(true);
    const v6 = info!.IPAM.Config.find((c) => c.Subnet.includes(':'))!;
    expect(v6.Subnet).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
    expect(v6.Gateway).toBe(v6.Subnet.replace('::/64', '::1'));
    const srv = name('v6-srv');
    await webServer(srv, ['--network', net, '--hostname', 'v6host']);
    const srvIp6 = await ok(['inspect', '--format', `{{(index .NetworkSettings.Networks "${net}").GlobalIPv6Address}}`, srv]);
    expect(srvIp6).toBe(v6.Subnet.replace('::/64', '::2'));
    const [listed] = JSON.parse(await ok(['network', 'inspect', net])) as { Containers: Record<string, { IPv6Address: string }> }[];
    expect(Object.values(listed!.Containers).map((c) => c.IPv6Address)).toEqual([`${srvIp6}/64`]);
    const script = `ip -6 route show default | cut -d' ' -f1-3; ${fetchIn(`http://[${srvIp6}]/hostname`).join(' ')}; nslookup -type=aaaa ${srv} | grep -c ${srvIp6}`;
    expect((await ok(['run', '--rm', '--network', net, busybox, 'sh', '-c', script])).split('\n')).toEqual([`default via ${v6.Gateway}`, 'v6host', '1']);
    const fixed = `v6fixed-${process.pid}`;
    networks.add(fixed);
    await ok(['network', 'create', '--ipv6', '--subnet', 'fd00:beef:1::/64', fixed]);
    const [f] = JSON.parse(await ok(['network', 'inspect', fixed])) as { IPAM: { Config: Record<string, string>[] } }[];
    expect(f!.IPAM.Config.find((c) => c.Subnet!.includes(':'))).toEqual({ Subnet: 'fd00:beef:1::/64' });
    expect(await ok(['run', '--rm', '--network', fixed, '--ip6', 'fd00:beef:1::42', busybox, 'sh', '-c', 'ip -6 addr show eth0 scope global | grep -o "fd00:beef:1::42/64"'])).toBe('fd00:beef:1::42/64');
    // A running container on an IPv4-only network connected live gets the IPv6 default route too.
    const live = name('v6-live');
    await ok(['run', '-d', '--name', live, busybox, 'sleep', '60']);
    await ok(['network', 'connect', net, live]);
    expect(await ok(['exec', live, 'sh', '-c', "ip -6 route show default | cut -d' ' -f1-3"])).toBe(`default via ${v6.Gateway}`);
    const refused = await docker(['network', 'create', '--subnet', 'fd00:beef:2::/64', `v6no-${process.pid}`]);
    expect(refused.stderr).toContain('--ipv6');
  });
});

describe('docker-compose', () => {
  it('brings up two services that talk by service name, and down removes the network', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-compose-net-'));
    const project = `cnet${process.pid}`;
    await writeFile(
      join(dir, 'docker-compose.yml'),
      [
        "version: '3.8'",
        'services:',
        '  web:',
        `    image: ${busybox}`,
        '    hostname: composeweb',
        "    command: ['httpd', '-f', '-p', '80', '-h', '/etc']",
        '  client:',
        `    image: ${busybox}`,
        "    command: ['sh', '-c', 'for i in 1 2 3 4 5; do timeout 5 wget -qO- http://web/hostname && exit 0; sleep 1; done; exit 1']",
        '',
      ].join('\n'),
    );
    const compose = (args: string[]) =>
      runProcess('docker-compose', ['-f', join(dir, 'docker-compose.yml'), '-p', project, ...args], { env: { DOCKER_HOST: bed.dockerHost }, timeoutMs: 120_000 });
    try {
      const up = await compose(['up', '-d', 'web']);
      expect(up.code, up.stderr).toBe(0);
      const run = await compose(['run', '--rm', '-T', 'client']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('composeweb');
      const down = await compose(['down']);
      expect(down.code, down.stderr).toBe(0);
      expect(await ok(['network', 'ls', '--format', '{{.Name}}'])).not.toContain(`${project}_default`);
    } finally {
      await compose(['down', '-v']);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
