import { isIPv6 } from 'node:net';
import { parseArgs } from 'node:util';
import { DEFAULT_KEEPALIVE_MS } from '../api/server.js';

export interface DaemonOptions {
  hosts: string[];
  allowRemote: boolean;
  allowRoot: boolean;
  logLevel: string;
  /** Undefined: text on a terminal, JSON elsewhere. */
  logFormat?: 'json' | 'text';
  dataRoot?: string;
  keepAliveTimeoutMs: number;
  holderPid?: number;
  /** dockerd's --ipv6 and --fixed-cidr-v6: IPv6 on the default bridge. */
  ipv6: boolean;
  fixedCidr6?: string;
  help: boolean;
}

export const daemonUsage = `Usage: burrow daemon [options]

Runs the rootless Docker Engine API server in the foreground as the invoking user.

Options:
  -H, --host URL              listen on unix:///path or tcp://127.0.0.1:PORT (repeatable;
                              default unix://$XDG_RUNTIME_DIR/burrow/docker.sock)
      --allow-remote          allow a tcp:// address other than loopback (unauthenticated!)
      --data-root DIR         where images, containers and volumes live
                              (default $XDG_DATA_HOME/burrow or ~/.local/share/burrow)
      --log-level LEVEL       fatal, error, warn, info (default) or debug (every runtime command)
      --log-format FORMAT     text (dockerd-like lines; the default on a terminal) or json (pino;
                              the default otherwise)
      --keepalive-timeout S   seconds an idle client connection stays open (default 900)
      --ipv6                  give the default bridge network IPv6 (a ULA /64 unless --fixed-cidr-v6)
      --fixed-cidr-v6 CIDR    the default bridge's IPv6 subnet (with --ipv6)
      --allow-root            run as root anyway (experiments only; Burrow is the rootless engine)
  -h, --help                  this text
`;

export function parseDaemonOptions(argv: string[]): DaemonOptions {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      host: { type: 'string', short: 'H', multiple: true },
      'allow-remote': { type: 'boolean' },
      'allow-root': { type: 'boolean' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      'data-root': { type: 'string' },
      'keepalive-timeout': { type: 'string' },
      'holder-pid': { type: 'string' },
      ipv6: { type: 'boolean' },
      'fixed-cidr-v6': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const logFormat = values['log-format'];
  if (logFormat !== undefined && logFormat !== 'json' && logFormat !== 'text') throw new Error(`--log-format must be text or json, not '${logFormat}'`);
  const keepAlive = values['keepalive-timeout'];
  const keepAliveSeconds = keepAlive === undefined ? undefined : Number(keepAlive);
  if (keepAliveSeconds !== undefined && !(keepAliveSeconds > 0)) throw new Error(`--keepalive-timeout must be a positive number of seconds, not '${keepAlive}'`);
  const fixedCidr6 = values['fixed-cidr-v6'];
  if (fixedCidr6 !== undefined) {
    const m = /^([0-9a-fA-F:]+)\/(\d{1,3})$/.exec(fixedCidr6);
    if (!m || !isIPv6(m[1]!) || Number(m[2]) > 128) throw new Error(`--fixed-cidr-v6 ${fixedCidr6}: not an IPv6 CIDR`);
  }
  return {
    hosts: values.host ?? [],
    allowRemote: values['allow-remote'] ?? false,
    allowRoot: values['allow-root'] ?? false,
    logLevel: values['log-level'] ?? 'info',
    ...(logFormat ? { logFormat } : {}),
    dataRoot: values['data-root'],
    keepAliveTimeoutMs: keepAliveSeconds === undefined ? DEFAULT_KEEPALIVE_MS : keepAliveSeconds * 1000,
    holderPid: values['holder-pid'] === undefined ? undefined : Number(values['holder-pid']),
    ipv6: values.ipv6 ?? false,
    ...(fixedCidr6 ? { fixedCidr6 } : {}),
    help: values.help ?? false,
  };
}

export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function parseListenAddress(url: string, allowRemote: boolean): ListenAddress {
  if (url.startsWith('unix://')) {
    const path = url.slice('unix://'.length);
    if (!path.startsWith('/')) throw new Error(`--host ${url}: the socket path must be absolute`);
    return { kind: 'unix', path };
  }
  if (url.startsWith('tcp://')) {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port || 2375);
    if (!loopbackHosts.has(u.hostname) && !loopbackHosts.has(host) && !/^127\./.test(host) && !allowRemote) {
      throw new Error(`--host ${url}: Burrow listens on loopback only; the API gives full control of your account, add --allow-remote to expose it anyway`);
    }
    return { kind: 'tcp', host, port };
  }
  throw new Error(`--host ${url}: use unix:///path or tcp://127.0.0.1:PORT`);
}

export function describeAddress(a: ListenAddress): string {
  return a.kind === 'unix' ? `unix://${a.path}` : `tcp://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
