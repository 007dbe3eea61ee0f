import { describe, expect, it } from 'vitest';
import {
  decodeBytesMessage,
  encodeBytesMessage,
  grpcFrame,
  decodeDiskUsage,
  solveExporterResponse,
  solveExporters,
  splitGrpcFrames,
  withExporters,
  withoutInlineOnlyAttestations,
} from '../translate/buildkit-wire.js';
import { rewriteMobyExport } from '../rootless/buildkit/control-proxy.js';
import { UnnamedExports, exportNames } from '../rootless/buildkit/land-image.js';

// Hand-encoded protobuf, as buildx's buildkit client sends it (field numbers from control.proto).
const str = (num: number, s: string): Buffer => {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([num * 8 + 2, b.length]), b]);
};
const msg = (num: number, ...parts: Buffer[]): Buffer => {
  const b = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([num * 8 + 2, b.length]), b]);
};
const entry = (num: number, k: string, v: string): Buffer => msg(num, str(1, k), str(2, v));

describe('BuildKit wire', () => {
  const solve = Buffer.concat([
    str(1, 'ref123'),
    str(3, 'moby'),
    entry(4, 'name', 'app:1'),
    str(5, 'session-id'),
    str(6, 'dockerfile.v0'),
    entry(7, 'target', 'final'),
    msg(13, str(1, 'moby'), entry(2, 'name', 'app:1,app:latest')),
  ]);

  it('reads the exporters and swaps moby for the image exporter, keeping every other field', () => {
    const exporters = solveExporters(solve);
    expect(exporters).toEqual([{ type: 'moby', attrs: new Map([['name', 'app:1,app:latest']]) }]);
    const plan = rewriteMobyExport(exporters, () => 'unused');
    expect(plan?.names).toEqual(['docker.io/library/app:1', 'docker.io/library/app:latest']);
    const out = withExporters(solve, plan?.exporters ?? []);
    expect(solveExporters(out)).toEqual([{ type: 'image', attrs: new Map([['name', 'app:1,app:latest'], ['store', 'true'], ['unpack', 'false']]) }]);
    for (const kept of [str(1, 'ref123'), str(5, 'session-id'), str(6, 'dockerfile.v0'), entry(7, 'target', 'final')]) expect(out.includes(kept)).toBe(true);
    expect(out.includes(str(3, 'image'))).toBe(true);
    expect(out.includes(str(3, 'moby'))).toBe(false);
  });

  it("drops the attestations asked for only where the exporter inlines them (dockerd's moby exporter inlines none)", () => {
    const req = Buffer.concat([
      str(6, 'dockerfile.v0'),
      entry(7, 'filename', 'Dockerfile'),
      entry(7, 'attest:provenance', 'mode=min,inline-only=true'),
      entry(7, 'attest:sbom', 'generator=x'),
      msg(13, str(1, 'moby')),
    ]);
    const out = withoutInlineOnlyAttestations(req);
    expect(out.includes(entry(7, 'attest:provenance', 'mode=min,inline-only=true'))).toBe(false);
    // Asked for outright (not inline-only) and everything else: kept as sent.
    for (const kept of [str(6, 'dockerfile.v0'), entry(7, 'filename', 'Dockerfile'), entry(7, 'attest:sbom', 'generator=x'), msg(13, str(1, 'moby'))]) expect(out.includes(kept)).toBe(true);
    const explicit = Buffer.concat([entry(7, 'attest:provenance', 'mode=max,inline-only=false'), entry(7, 'build-arg:inline-only', 'inline-only=true')]);
    expect(withoutInlineOnlyAttestations(explicit)).toBe(explicit);
  });

  it('unnamed builds are kept under placeholder names that never become tags, one per build in flight', () => {
    const slots = new UnnamedExports();
    const first = rewriteMobyExport([{ type: 'moby', attrs: new Map() }], () => slots.take());
    const second = rewriteMobyExport([{ type: 'moby', attrs: new Map() }], () => slots.take());
    const a = first?.exporters[0]?.attrs.get('name') ?? '';
    const b = second?.exporters[0]?.attrs.get('name') ?? '';
    expect(a).not.toBe(b);
    expect(first?.placeholder).toBe(a);
    expect(first?.names).toEqual([]);
    expect(exportNames(a)).toEqual([]);
    expect(exportNames(`${b},app:1`)).toEqual(['docker.io/library/app:1']);
    // A finished build's name serves the next one: the names stay few.
    slots.release(a);
    expect(slots.take()).toBe(a);
    expect(rewriteMobyExport([{ type: 'moby', attrs: new Map([['name', 'app:1']]) }], () => slots.take())?.placeholder).toBeUndefined();
    expect(rewriteMobyExport([{ type: 'local', attrs: new Map() }], () => slots.take())).toBeUndefined();
  });

  it('reads DiskUsage records, timestamps and varints included', () => {
    const varintField = (num: number, v: number): Buffer => Buffer.from([num * 8, v]);
    const record = msg(1, str(1, 'rec1'), varintField(3, 1), Buffer.from([4 * 8, 0xac, 0x02]), msg(6, varintField(1, 100), Buffer.from([2 * 8, 0x80, 0xad, 0xe2, 0x04])), str(10, 'exec.cachemount'), str(12, 'parent1'));
    expect(decodeDiskUsage(record)).toEqual([
      { id: 'rec1', inUse: true, size: 300, createdAt: new Date(100_010), usageCount: 0, description: '', recordType: 'exec.cachemount', shared: false, parents: ['parent1'] },
    ]);
  });

  it('frames, tunnels bytes and reads the exporter response', () => {
    const data = Buffer.from('h2 bytes');
    const framed = Buffer.concat([grpcFrame(encodeBytesMessage(data)), grpcFrame(encodeBytesMessage(Buffer.from('x')))]);
    const { messages, rest } = splitGrpcFrames(Buffer.concat([framed, Buffer.from([0, 0, 0])]));
    expect(messages.map((m) => decodeBytesMessage(m.data).toString())).toEqual(['h2 bytes', 'x']);
    expect(rest.length).toBe(3);
    const resp = Buffer.concat([entry(1, 'containerimage.digest', 'sha256:abc'), entry(1, 'image.name', 'app:1')]);
    expect(solveExporterResponse(resp)).toEqual(new Map([['containerimage.digest', 'sha256:abc'], ['image.name', 'app:1']]));
  });
});
