/**
 * dockerd's BuildKit resolves `FROM app` from dockerd's own image store first; a standalone
 * buildkitd knows only registries. Burrow therefore shows its store to buildkitd as a read-only
 * registry on 127.0.0.1, configured as buildkitd's mirror for docker.io and every registry host the
 * store holds images of (the `ns` query names the host): an image Burrow holds (built, loaded,
 * committed, pulled) is served from the store, anything else is a 404 and buildkitd
 * goes on to the real registry. Manifests are made as `docker save` makes them (planSave), from the
 * layer blobs the store keeps. Only processes of this user may read it: each connection's peer is
 * looked up in /proc/net/tcp and refused unless its socket belongs to our uid.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { parseNormalizedNamed } from '../../translate/image-ref.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { planSave } from '../images/save.js';
import type { ImageStore } from '../images/store.js';

interface Blob {
  path?: string;
  data?: Buffer;
  size: number;
}

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** The uid owning the TCP socket at 127.0.0.1:`port` connected to 127.0.0.1:`ourPort`, as /proc shows it to us. */
export async function loopbackPeerUid(port: number, ourPort: number): Promise<number | undefined> {
  const hex = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');
  const local = `0100007F:${hex(port)}`;
  const remote = `0100007F:${hex(ourPort)}`;
  const table = await readFile('/proc/net/tcp', 'utf8').catch(() => '');
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === local && cols[2] === remote) return Number(cols[7]);
  }
  return undefined;
}

export class LocalRegistry {
  /** Blobs of manifests served so far, by digest: what buildkitd fetches next. */
  private readonly blobs = new Map<string, Blob>();
  /**
   * Whether each connection's peer is of our uid, looked up once per connection: a connection's
   * owner never changes, and buildkitd keeps its connections for the next request (a FROM is a
   * HEAD, a GET of the manifest and one of the config).
   */
  private readonly trusted = new WeakMap<Socket, Promise<boolean>>();

  private constructor(
    private readonly server: Server,
    private readonly store: ImageStore,
    private readonly logger: Logger,
  ) {}

  /**
   * Listens on `portFile`'s port when it is free (so a buildkitd left by the previous daemon, whose
   * config names that port, can be adopted), else on a new one, which is then recorded there.
   */
  static async start(store: ImageStore, logger: Logger, portFile: string): Promise<LocalRegistry> {
    const server = createServer();
    const registry = new LocalRegistry(server, store, logger);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void registry.handle(req, res).catch((err: unknown) => {
        logger.debug({ err, url: req.url }, 'local registry request failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    const listen = (port: number): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject).listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    const previous = Number((await readFile(portFile, 'utf8').catch(() => '')).trim());
    const reused = Number.isInteger(previous) && previous > 0 && (await listen(previous).then(() => true, () => false));
    if (!reused) {
      await listen(0);
      await mkdir(dirname(portFile), { recursive: true, mode: 0o700 });
      await writeFileAtomic(portFile, `${(server.address() as AddressInfo).port}\n`);
    }
    server.unref();
    return registry;
  }

  get host(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): void {
    this.server.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let trusted = this.trusted.get(req.socket);
    if (trusted === undefined) {
      const ourPort = (this.server.address() as AddressInfo).port;
      const socket = req.socket;
      trusted = loopbackPeerUid(socket.remotePort ?? 0, ourPort).then((peer) => peer !== undefined && peer === process.getuid?.());
      this.trusted.set(socket, trusted);
      // A refusal is not remembered: the next request on the connection is looked up again.
      void trusted.then((ok) => ok || this.trusted.delete(socket));
    }
    if (!(await trusted)) {
      res.writeHead(403).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://local');
    res.setHeader('Docker-Distribution-Api-Version', 'registry/2.0');
    if (url.pathname === '/v2/' || url.pathname === '/v2') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) return notFound(res);
    const [, name, kind, ref] = m as unknown as [string, string, string, string];
    if (kind === 'blobs') return this.serveBlob(req, res, ref);
    const manifest = ref.startsWith('sha256:') ? this.blobs.get(ref) : await this.manifestFor(`${url.searchParams.get('ns') ?? 'docker.io'}/${name}:${ref}`);
    if (!manifest?.data) return notFound(res);
    const digest = ref.startsWith('sha256:') ? ref : [...this.blobs].find(([, b]) => b === manifest)?.[0];
    res.writeHead(200, { 'Content-Type': MANIFEST_TYPE, 'Content-Length': manifest.data.length, 'Docker-Content-Digest': digest ?? '' });
    res.end(req.method === 'HEAD' ? undefined : manifest.data);
  }

  /** The image `reference` names in Burrow's store, as a registry manifest; its blobs become servable. */
  private async manifestFor(reference: string): Promise<Blob | undefined> {
    let id: string | undefined;
    try {
      id = this.store.refTarget(parseNormalizedNamed(reference));
    } catch {
      return undefined;
    }
    if (!id) return undefined;
    let entries;
    try {
      entries = await planSave(this.store, [{ id, tags: [] }]);
    } catch (err) {
      // Layers stored without their blob (older stores) cannot be served; the registry is asked next.
      this.logger.debug({ err, reference }, 'local image not servable to buildkitd');
      return undefined;
    }
    const index = entries.find((e) => e.name === 'index.json');
    const manifestDigest = index?.type === 'data' ? (JSON.parse(index.data.toString()) as { manifests: { digest: string }[] }).manifests[0]?.digest : undefined;
    let manifest: Blob | undefined;
    for (const e of entries) {
      const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(e.name);
      if (!blob) continue;
      const digest = `sha256:${blob[1] as string}`;
      const value: Blob = e.type === 'file' ? { path: e.path, size: e.size } : e.type === 'data' ? { data: e.data, size: e.data.length } : { size: 0 };
      this.blobs.set(digest, value);
      if (digest === manifestDigest) manifest = value;
    }
    return manifest;
  }

  private serveBlob(req: IncomingMessage, res: ServerResponse, digest: string): void {
    const blob = this.blobs.get(digest);
    if (!blob) return notFound(res);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': blob.size, 'Docker-Content-Digest': digest });
    if (req.method === 'HEAD') return void res.end();
    if (blob.data) return void res.end(blob.data);
    createReadStream(blob.path as string).on('error', () => res.destroy()).pipe(res);
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not in Burrow\'s store"}]}');
}
