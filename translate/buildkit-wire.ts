/**
 * The few pieces of BuildKit's gRPC wire Burrow reads or rewrites between a client and buildkitd:
 * gRPC length-prefixed frames, BytesMessage (the session tunnel), SolveRequest's exporters and
 * SolveResponse's exporter response. Protobuf's wire format by hand: every other field is copied
 * byte for byte, so fields this file does not know pass through unchanged.
 */

/** One top-level protobuf field, with its bytes as they were on the wire. */
interface Field {
  num: number;
  wire: number;
  /** The payload of a length-delimited field (wire type 2). */
  bytes?: Buffer;
  /** The value of a varint field (wire type 0); exact below 2^53. */
  varint?: number;
  raw: Buffer;
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (let i = pos; i < buf.length && i < pos + 10; i++) {
    const b = buf[i] as number;
    value += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  throw new Error('protobuf: truncated varint');
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, afterTag] = readVarint(buf, pos);
    const num = Math.floor(tag / 8);
    const wire = tag & 7;
    pos = afterTag;
    let bytes: Buffer | undefined;
    let value: number | undefined;
    if (wire === 0) [value, pos] = readVarint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, at] = readVarint(buf, pos);
      if (at + len > buf.length) throw new Error('protobuf: truncated field');
      bytes = buf.subarray(at, at + len);
      pos = at + len;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
    if (pos > buf.length) throw new Error('protobuf: truncated field');
    out.push({ num, wire, ...(bytes ? { bytes } : {}), ...(value !== undefined ? { varint: value } : {}), raw: buf.subarray(start, pos) });
  }
  return out;
}

function bytesField(num: number, payload: Buffer): Buffer {
  return Buffer.concat([varint(num * 8 + 2), varint(payload.length), payload]);
}

function stringField(num: number, s: string): Buffer {
  return bytesField(num, Buffer.from(s, 'utf8'));
}

function decodeMap(entries: Buffer[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of entries) {
    let k = '';
    let v = '';
    for (const f of fields(e)) {
      if (f.num === 1 && f.bytes) k = f.bytes.toString('utf8');
      if (f.num === 2 && f.bytes) v = f.bytes.toString('utf8');
    }
    m.set(k, v);
  }
  return m;
}

function encodeMapEntries(num: number, m: ReadonlyMap<string, string>): Buffer[] {
  return [...m].map(([k, v]) => bytesField(num, Buffer.concat([stringField(1, k), stringField(2, v)])));
}

// --- gRPC framing ------------------------------------------------------------------------------

/** A gRPC message on the wire: flag byte (0: not compressed), big-endian length, message. */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** Splits complete frames off `buf`; what is left is the start of the next one. */
export function splitGrpcFrames(buf: Buffer): { messages: { compressed: boolean; data: Buffer }[]; rest: Buffer } {
  const messages: { compressed: boolean; data: Buffer }[] = [];
  let pos = 0;
  while (buf.length - pos >= 5) {
    const len = buf.readUInt32BE(pos + 1);
    if (buf.length - pos - 5 < len) break;
    messages.push({ compressed: buf[pos] === 1, data: buf.subarray(pos + 5, pos + 5 + len) });
    pos += 5 + len;
  }
  return { messages, rest: buf.subarray(pos) };
}

// --- BytesMessage (Control.Session's tunnel) ----------------------------------------------------

export function encodeBytesMessage(data: Buffer): Buffer {
  return data.length === 0 ? Buffer.alloc(0) : bytesField(1, data);
}

export function decodeBytesMessage(msg: Buffer): Buffer {
  const parts = fields(msg).filter((f) => f.num === 1 && f.bytes).map((f) => f.bytes as Buffer);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

// --- Solve ---------------------------------------------------------------------------------------

export interface Exporter {
  type: string;
  attrs: Map<string, string>;
}

/** SolveRequest fields: 3 ExporterDeprecated (string), 4 its attrs, 13 Exporters. */
const EXPORTER_DEPRECATED = 3;
const EXPORTER_ATTRS_DEPRECATED = 4;
const EXPORTERS = 13;

export function solveExporters(req: Buffer): Exporter[] {
  const out: Exporter[] = [];
  for (const f of fields(req)) {
    if (f.num !== EXPORTERS || !f.bytes) continue;
    let type = '';
    const attrEntries: Buffer[] = [];
    for (const g of fields(f.bytes)) {
      if (g.num === 1 && g.bytes) type = g.bytes.toString('utf8');
      if (g.num === 2 && g.bytes) attrEntries.push(g.bytes);
    }
    out.push({ type, attrs: decodeMap(attrEntries) });
  }
  return out;
}

/**
 * Replaces the exporters of a SolveRequest (both the list and the deprecated first-exporter
 * fields, which buildkitd reads when the list is empty); every other field is kept as sent.
 */
export function withExporters(req: Buffer, exporters: readonly Exporter[]): Buffer {
  const kept = fields(req)
    .filter((f) => f.num !== EXPORTERS && f.num !== EXPORTER_DEPRECATED && f.num !== EXPORTER_ATTRS_DEPRECATED)
    .map((f) => f.raw);
  const first = exporters[0];
  const added = exporters.map((e) => bytesField(EXPORTERS, Buffer.concat([stringField(1, e.type), ...encodeMapEntries(2, e.attrs)])));
  const deprecated = first ? [stringField(EXPORTER_DEPRECATED, first.type), ...encodeMapEntries(EXPORTER_ATTRS_DEPRECATED, first.attrs)] : [];
  return Buffer.concat([...kept, ...deprecated, ...added]);
}

/** SolveRequest field 7: map<string,string> FrontendAttrs. */
const FRONTEND_ATTRS = 7;

/** Go's strconv.ParseBool for true, which BuildKit reads attestation options with. */
const GO_TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);

/** An `attest:<kind>` frontend attribute asking for its attestation only where the exporter inlines it. */
function isInlineOnlyAttestation(key: string, value: string): boolean {
  if (!key.startsWith('attest:')) return false;
  return value.split(',').some((opt) => {
    const eq = opt.indexOf('=');
    return eq > 0 && opt.slice(0, eq).trim() === 'inline-only' && GO_TRUE.has(opt.slice(eq + 1).trim());
  });
}

/**
 * A SolveRequest without the attestations it asks for only if the exporter can inline them
 * (buildx's default provenance, `mode=min,inline-only=true`): dockerd's moby exporter inlines none,
 * so dockerd makes none. buildkitd's image exporter, which Burrow asks for instead, would make them,
 * which costs a provenance capture and an index per build, for blobs Burrow's store then leaves out.
 */
export function withoutInlineOnlyAttestations(req: Buffer): Buffer {
  const all = fields(req);
  const kept = all.filter((f) => {
    if (f.num !== FRONTEND_ATTRS || !f.bytes) return true;
    const [[key, value]] = [...decodeMap([f.bytes])] as [[string, string]];
    return !isInlineOnlyAttestation(key, value);
  });
  return kept.length === all.length ? req : Buffer.concat(kept.map((f) => f.raw));
}

/** SolveResponse: field 1, map<string,string> ExporterResponse. */
export function solveExporterResponse(resp: Buffer): Map<string, string> {
  return decodeMap(fields(resp).filter((f) => f.num === 1 && f.bytes).map((f) => f.bytes as Buffer));
}

export function encodeSolveResponse(exporterResponse: ReadonlyMap<string, string>): Buffer {
  return Buffer.concat(encodeMapEntries(1, exporterResponse));
}

// --- DiskUsage / Prune ---------------------------------------------------------------------------

/** BuildKit's UsageRecord (control.proto), the fields /system/df and /build/prune report. */
export interface UsageRecord {
  id: string;
  inUse: boolean;
  size: number;
  createdAt?: Date;
  lastUsedAt?: Date;
  usageCount: number;
  description: string;
  recordType: string;
  shared: boolean;
  parents: string[];
}

function timestamp(msg: Buffer): Date {
  let seconds = 0;
  let nanos = 0;
  for (const f of fields(msg)) {
    if (f.num === 1) seconds = f.varint ?? 0;
    if (f.num === 2) nanos = f.varint ?? 0;
  }
  return new Date(seconds * 1000 + Math.floor(nanos / 1e6));
}

export function decodeUsageRecord(msg: Buffer): UsageRecord {
  const r: UsageRecord = { id: '', inUse: false, size: 0, usageCount: 0, description: '', recordType: '', shared: false, parents: [] };
  for (const f of fields(msg)) {
    const text = f.bytes?.toString('utf8') ?? '';
    if (f.num === 1) r.id = text;
    else if (f.num === 3) r.inUse = f.varint === 1;
    else if (f.num === 4) r.size = f.varint ?? 0;
    else if (f.num === 5 && text) r.parents.push(text);
    else if (f.num === 6 && f.bytes) r.createdAt = timestamp(f.bytes);
    else if (f.num === 7 && f.bytes) r.lastUsedAt = timestamp(f.bytes);
    else if (f.num === 8) r.usageCount = f.varint ?? 0;
    else if (f.num === 9) r.description = text;
    else if (f.num === 10) r.recordType = text;
    else if (f.num === 11) r.shared = f.varint === 1;
    else if (f.num === 12 && text && !r.parents.includes(text)) r.parents.push(text);
  }
  return r;
}

/** DiskUsageResponse: field 1, repeated UsageRecord. */
export function decodeDiskUsage(resp: Buffer): UsageRecord[] {
  return fields(resp).filter((f) => f.num === 1 && f.bytes).map((f) => decodeUsageRecord(f.bytes as Buffer));
}

/** PruneRequest{all}: field 2, bool. */
export function encodePruneRequest(all: boolean): Buffer {
  return all ? Buffer.from([0x10, 0x01]) : Buffer.alloc(0);
}
