/**
 * `docker import --change` / `docker commit --change`: the Dockerfile instructions dockerd accepts
 * there, applied to an image's container config. Pure.
 */
import { invalidParameter } from './errors.js';
import { jsonForm } from './dockerfile/parser.js';

export type ImageContainerConfig = Record<string, unknown>;

const VALID = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'];

/** Split on unquoted whitespace, honouring "…", '…' and backslash escapes, as the Dockerfile parser does for ENV/LABEL. */
function words(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      any = true;
    } else if (/\s/.test(c)) {
      if (any || cur !== '') out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (quote) throw invalidParameter(`unmatched quote in "${s}"`);
  if (any || cur !== '') out.push(cur);
  return out;
}

/** JSON exec form `["a","b"]`, else the shell form dockerd wraps in /bin/sh -c. */
function commandForm(rest: string): string[] {
  return jsonForm(rest) ?? ['/bin/sh', '-c', rest.trim()];
}

/** JSON array, else plain words. */
function listForm(rest: string): string[] {
  return jsonForm(rest) ?? words(rest.trim());
}

/** ENV/LABEL: `k=v k2="v 2"`, or the legacy `k v with spaces`. */
function pairs(rest: string, what: string): [string, string][] {
  const t = rest.trim();
  const first = /^(\S+)/.exec(t)?.[1] ?? '';
  if (!first.includes('=')) {
    const space = t.search(/\s/);
    if (space === -1) throw invalidParameter(`${what} requires exactly one argument when not using the key=value form`);
    return [[t.slice(0, space), t.slice(space).trim()]];
  }
  return words(t).map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw invalidParameter(`${what} names can not be blank`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function exposed(ports: string[]): string[] {
  const out: string[] = [];
  for (const p of ports) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
    if (!m) throw invalidParameter(`invalid containerPort: ${p}`);
    const start = Number(m[1]);
    const end = m[2] !== undefined ? Number(m[2]) : start;
    if (end < start || end > 65535) throw invalidParameter(`invalid port range: ${p}`);
    for (let n = start; n <= end; n++) out.push(`${n}/${(m[3] ?? 'tcp').toLowerCase()}`);
  }
  return out;
}

/** Applies each change line in order to a copy of `base`. */
export function applyChanges(base: ImageContainerConfig, changes: readonly string[]): ImageContainerConfig {
  const cfg: ImageContainerConfig = { ...base };
  for (const line of changes) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(t) as RegExpExecArray;
    const cmd = m[1].toUpperCase();
    const rest = m[2];
    if (!VALID.includes(cmd)) throw invalidParameter(`${m[1].toLowerCase()} is not a valid change command`);
    switch (cmd) {
      case 'CMD':
        cfg.Cmd = commandForm(rest);
        break;
      case 'ENTRYPOINT':
        cfg.Entrypoint = commandForm(rest);
        break;
      case 'ENV': {
        const env = Array.isArray(cfg.Env) ? [...(cfg.Env as string[])] : [];
        for (const [k, v] of pairs(rest, 'ENV')) {
          const i = env.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        cfg.Env = env;
        break;
      }
      case 'LABEL':
        cfg.Labels = { ...((cfg.Labels as Record<string, string> | undefined) ?? {}), ...Object.fromEntries(pairs(rest, 'LABEL')) };
        break;
      case 'EXPOSE':
        cfg.ExposedPorts = { ...((cfg.ExposedPorts as Record<string, object> | undefined) ?? {}), ...Object.fromEntries(exposed(words(rest)).map((p) => [p, {}])) };
        break;
      case 'VOLUME':
        cfg.Volumes = { ...((cfg.Volumes as Record<string, object> | undefined) ?? {}), ...Object.fromEntries(listForm(rest).map((v) => [v, {}])) };
        break;
      case 'USER':
        cfg.User = rest.trim();
        break;
      case 'WORKDIR': {
        const dir = rest.trim();
        const prev = typeof cfg.WorkingDir === 'string' && cfg.WorkingDir !== '' ? cfg.WorkingDir : '/';
        cfg.WorkingDir = dir.startsWith('/') ? dir : `${prev.replace(/\/$/, '')}/${dir}`;
        break;
      }
      case 'STOPSIGNAL':
        cfg.StopSignal = rest.trim();
        break;
      case 'ONBUILD':
        cfg.OnBuild = [...((cfg.OnBuild as string[] | undefined) ?? []), rest.trim()];
        break;
    }
  }
  return cfg;
}
