/**
 * The attributes dockerd's json-file driver records with each log entry, which `docker logs
 * --details` prints before it: the container labels the `labels` option names or `labels-regex`
 * matches, the environment variables `env` names or `env-regex` matches, and `tag` when it is set
 * (its template rendered with the container's fields). The `local` driver records none. Pure.
 */
import { logConfigJson } from './log-config.js';

export interface LogAttrSource {
  /** HostConfig.LogConfig as the record holds it. */
  logConfig: unknown;
  labels: Record<string, string>;
  env: readonly string[];
  id: string;
  /** Without the leading slash. */
  name: string;
  imageId: string;
  /** Config.Image as given. */
  imageName: string;
}

/** A regular expression the way dockerd would compile it; one JS cannot compile matches nothing (dockerd refuses it at start). */
function pattern(source: string): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch {
    return undefined;
  }
}

/** dockerd's tag template fields (loggerutils.ParseLogTag); other text stays as it is. */
function renderTag(tag: string, s: LogAttrSource): string {
  const bare = s.imageId.replace(/^sha256:/, '');
  const fields: Record<string, string> = {
    ID: s.id.slice(0, 12),
    FullID: s.id,
    Name: s.name,
    ImageID: bare.slice(0, 12),
    ImageFullID: bare,
    ImageName: s.imageName,
    DaemonName: 'docker',
  };
  return tag.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (whole, field: string) => fields[field] ?? whole);
}

export function logAttributes(s: LogAttrSource): Record<string, string> {
  const { Type, Config } = logConfigJson(s.logConfig);
  if (Type !== 'json-file') return {};
  const attrs: Record<string, string> = {};
  const csv = (key: string): string[] => (Config[key] ? Config[key].split(',') : []);
  for (const l of csv('labels')) if (Object.hasOwn(s.labels, l)) attrs[l] = s.labels[l] as string;
  const labelsRe = Config['labels-regex'] ? pattern(Config['labels-regex']) : undefined;
  if (labelsRe) for (const [k, v] of Object.entries(s.labels)) if (labelsRe.test(k)) attrs[k] = v;
  const env = new Map<string, string>();
  for (const e of s.env) {
    const eq = e.indexOf('=');
    if (eq >= 0) env.set(e.slice(0, eq), e.slice(eq + 1));
  }
  for (const k of csv('env')) {
    const v = env.get(k);
    if (v !== undefined) attrs[k] = v;
  }
  const envRe = Config['env-regex'] ? pattern(Config['env-regex']) : undefined;
  if (envRe) for (const [k, v] of env) if (envRe.test(k)) attrs[k] = v;
  if (Config.tag) attrs.tag = renderTag(Config.tag, s);
  return attrs;
}

/** Go's url.QueryEscape: letters, digits and `-_.~` stay, a space is `+`, every other byte `%XX`. */
function queryEscape(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** What `details` puts before each entry: the attributes sorted by key, `k=v` joined by commas, then a space. */
export function detailsPrefix(attrs: Readonly<Record<string, string>>): string {
  const keys = Object.keys(attrs).sort();
  return `${keys.map((k) => `${queryEscape(k)}=${queryEscape(attrs[k] as string)}`).join(',')} `;
}
