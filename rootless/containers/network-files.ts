/** /etc/hosts, /etc/hostname and /etc/resolv.conf for a container, written into its dir and bound in. */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../fs-atomic.js';
import { BASE_HOSTS, parseExtraHost } from '../../slirp/container-files.js';

/**
 * The files a container starts with; a bridge or user network rewrites hosts and resolv.conf when
 * it is attached. `--add-host` entries go in here too, so host and none networks have them; there
 * `host-gateway` is the host's loopback, which a host-network container reaches directly.
 */
export async function writeNetworkFiles(paths: { hosts: string; hostname: string; resolvConf: string }, hostname: string, hostNetwork: boolean, extraHosts: readonly string[] = []): Promise<void> {
  const extra = extraHosts.map((h) => parseExtraHost(h, '127.0.0.1')).map((h) => `${h.ip}\t${h.name}\n`).join('');
  const hosts =
    (hostNetwork
      ? await readFile('/etc/hosts', 'utf8').catch(() => BASE_HOSTS.join('\n') + '\n')
      : // No container network yet: the hostname resolves to loopback so tools that look it up work.
        [...BASE_HOSTS, `127.0.0.1\t${hostname}`].join('\n') + '\n') + extra;
  const resolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  await Promise.all([
    writeFileAtomic(paths.hosts, hosts, 0o644),
    writeFileAtomic(paths.hostname, `${hostname}\n`, 0o644),
    writeFileAtomic(paths.resolvConf, resolv, 0o644),
  ]);
}
