/**
 * The image config dockerd makes for one image of a legacy `docker save` archive (a per-layer
 * directory holding the v1 `json`, no manifest.json): the v1 JSON's members less the v1 identity
 * ones, plus `rootfs` and `history`, marshalled as Go marshals a map (sorted keys, values compacted
 * byte for byte, HTML characters escaped) — so the image ID is the one dockerd gives the same
 * archive. After moby's image/v1 MakeConfigFromV1Config and HistoryFromConfig. Pure.
 */
import { invalidParameter } from './errors.js';
import type { ImageHistoryEntry } from './image-config.js';

/** Members of the v1 JSON that name the v1 layout rather than the image. */
const DROPPED = new Set(['id', 'parent', 'Size', 'parent_id', 'layer_id', 'throwaway']);

/** The fields Go's image.V1Image has: older archives (docker_version < 1.8.3) keep only these. */
const V1_IMAGE_FIELDS = new Set(['id', 'parent', 'comment', 'created', 'container', 'container_config', 'docker_version', 'author', 'config', 'architecture', 'variant', 'os', 'Size']);

/** Go's encoding/json escapes these even inside already-encoded (raw) values. */
function escapeHtml(text: string): string {
  return text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A string as Go's json.Marshal writes it. */
export function goString(s: string): string {
  return escapeHtml(JSON.stringify(s).replace(/\\b/g, '\\u0008').replace(/\\f/g, '\\u000c'));
}

/** json.Compact with HTML escaping: insignificant whitespace removed, literals kept as written. */
export function goCompact(raw: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      out += c;
      if (c === '\\') out += raw[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c !== ' ' && c !== '\t' && c !== '\n' && c !== '\r') {
      out += c;
    }
  }
  return escapeHtml(out);
}

/** The members of a JSON object with each value's source text (a later duplicate wins, as in Go). */
export function rawMembers(text: string): Map<string, string> {
  const parsed = JSON.parse(text) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidParameter('json: cannot unmarshal into Go value of type map[string]*json.RawMessage');
  const members = new Map<string, string>();
  let i = text.indexOf('{') + 1;
  const skipSpace = (): void => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const endOfString = (from: number): number => {
    let j = from + 1;
    while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  for (;;) {
    skipSpace();
    if (text[i] === '}') break;
    if (text[i] === ',') {
      i++;
      continue;
    }
    const keyEnd = endOfString(i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = keyEnd;
    skipSpace();
    i++; // ':'
    skipSpace();
    const start = i;
    let depth = 0;
    for (;;) {
      const c = text[i];
      if (c === '"') {
        i = endOfString(i);
        if (depth === 0) break;
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) break;
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      } else if (depth === 0 && (c === ',' || /\s/.test(c))) break;
      i++;
    }
    members.set(key, text.slice(start, i).trim());
  }
  return members;
}

/** An RFC 3339 time as Go prints a parsed one: fraction without trailing zeros, UTC as Z. */
export function goTime(text: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(text);
  if (!m) throw invalidParameter(`parsing time ${JSON.stringify(text)} as "2006-01-02T15:04:05Z07:00": cannot parse`);
  const fraction = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
  const zone = m[3] === '+00:00' || m[3] === '-00:00' || m[3] === 'z' ? 'Z' : m[3];
  return `${m[1]}${fraction ? `.${fraction}` : ''}${zone}`;
}

/** `strings.Join(v1.ContainerConfig.Cmd, " ")`: Cmd may be a string or a list. */
function createdBy(v1: Record<string, unknown>): string {
  const cc = v1.container_config as { Cmd?: unknown } | null | undefined;
  const cmd = cc?.Cmd;
  if (typeof cmd === 'string') return cmd;
  return Array.isArray(cmd) ? cmd.filter((s): s is string => typeof s === 'string').join(' ') : '';
}

/** The history entry dockerd derives from a v1 JSON (every legacy layer is a real layer). */
export function historyFromV1(v1: Record<string, unknown>): ImageHistoryEntry {
  const entry: ImageHistoryEntry = {};
  if (typeof v1.created === 'string') entry.created = goTime(v1.created);
  if (typeof v1.author === 'string' && v1.author !== '') entry.author = v1.author;
  const by = createdBy(v1);
  if (by !== '') entry.created_by = by;
  if (typeof v1.comment === 'string' && v1.comment !== '') entry.comment = v1.comment;
  return entry;
}

/** A history entry as Go marshals image.History (field order, omitempty). */
function goHistoryEntry(h: ImageHistoryEntry): string {
  const parts: string[] = [];
  if (h.created) parts.push(`"created":${goString(h.created)}`);
  if (h.author) parts.push(`"author":${goString(h.author)}`);
  if (h.created_by) parts.push(`"created_by":${goString(h.created_by)}`);
  if (h.comment) parts.push(`"comment":${goString(h.comment)}`);
  if (h.empty_layer) parts.push('"empty_layer":true');
  return `{${parts.join(',')}}`;
}

/** Go's versions.LessThan on dotted versions; parts that are not numbers count as 0. */
function versionLess(a: string, b: string): boolean {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = i < pa.length ? Number.parseInt(pa[i], 10) || 0 : 0;
    const y = i < pb.length ? Number.parseInt(pb[i], 10) || 0 : 0;
    if (x !== y) return x < y;
  }
  return false;
}

/** The config bytes for a legacy layer directory's `json`, given the image's diff IDs and history. */
export function configFromV1(v1Text: string, diffIds: readonly string[], history: readonly ImageHistoryEntry[]): Buffer {
  const members = rawMembers(v1Text);
  const version = members.get('docker_version');
  const dockerVersion = version !== undefined && version.startsWith('"') ? (JSON.parse(version) as string) : '';
  const fallback = versionLess(dockerVersion, '1.8.3');
  const entries: [string, string][] = [];
  for (const [k, v] of members) {
    if (DROPPED.has(k) || (fallback && !V1_IMAGE_FIELDS.has(k))) continue;
    entries.push([k, goCompact(v)]);
  }
  entries.push(['rootfs', `{"type":"layers"${diffIds.length > 0 ? `,"diff_ids":[${diffIds.map(goString).join(',')}]` : ''}}`]);
  entries.push(['history', `[${history.map(goHistoryEntry).join(',')}]`]);
  entries.sort(([a], [b]) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  return Buffer.from(`{${entries.map(([k, v]) => `${goString(k)}:${v}`).join(',')}}`);
}
