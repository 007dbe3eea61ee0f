/** /etc/hosts, /etc/hostname and /etc/resolv.conf for a container, written into its dir and bound in. */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../fs-atomic.js';
import { BASE_HOSTS } from '../../slirp/container-files.js';

export async function writeNetworkFiles(paths: { hosts: string; hostname: string; resolvConf: string }, hostname: string, hostNetwork: boolean): Promise<void> {
  const hosts = hostNetwork
    ? await readFile('/etc/hosts', 'utf8').catch(() => BASE_HOSTS.join('\n') + '\n')
    : // No container network yet: the hostname resolves to loopback so tools that look it up work.
      [...BASE_HOSTS, `127.0.0.1\t${hostname}`].join('\n') + '\n';
  const resolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  await Promise.all([
    writeFileAtomic(paths.hosts, hosts, 0o644),
    writeFileAtomic(paths.hostname, `${hostname}\n`, 0o644),
    writeFileAtomic(paths.resolvConf, resolv, 0o644),
  ]);
}
