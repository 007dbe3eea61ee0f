/** Helpers the workload files share. */
import { Agent, createServer, request } from 'node:http';
import { join } from 'node:path';
import type { EngineContext, Row } from './workloads.js';

export const ms = (key: string, title: string): Row => ({ key, title, unit: 'ms', better: 'lower' });
export const mib = (key: string, title: string): Row => ({ key, title, unit: 'MiB', better: 'lower' });

let seq = 0;
export const uname = (ctx: EngineContext, what: string): string => `${ctx.prefix}-${what}-${++seq}`;

/** Remove containers by id or name, ignoring the ones already gone; a few at a time. */
export async function removeAll(ctx: EngineContext, ids: readonly string[]): Promise<void> {
  await pool(ids, 4, async (id) => {
    await ctx.docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => undefined);
  });
}

export async function pool<T>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

export async function createStarted(ctx: EngineContext, name: string, cmd: string[]): Promise<string> {
  const c = await ctx.docker.createContainer({ Image: ctx.refs.busybox, Cmd: cmd, name });
  await c.start();
  return c.id;
}

/** Sum of RSS over the engine's processes. */
export async function rss(ctx: EngineContext, only?: Set<number>): Promise<{ pids: Set<number>; kib: number }> {
  const procs = await ctx.engine.processes();
  const sel = only ? procs.filter((p) => only.has(p.pid)) : procs;
  return { pids: new Set(procs.map((p) => p.pid)), kib: sel.reduce((a, p) => a + p.rssKiB, 0) };
}

/** GETs over one kept-alive connection to the engine's socket (what a busy client does); a non-200 rejects. */
export function keepAliveGetter(socket: string): { get(path: string): Promise<void>; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request({ socketPath: socket, path, method: 'GET', agent }, (res) => {
        res.resume();
        res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET ${path}: HTTP ${res.statusCode}`))));
      });
      req.once('error', reject);
      req.end();
    });
  return { get, close: () => agent.destroy() };
}

/**
 * Runs the in-process HTTP client hot against a trivial server on a socket in `dir` before any
 * engine is timed. The client's own code (node:http, this bench) is interpreted at first and
 * optimised after a few thousand requests: without this, the first engine measured paid for it
 * (GET /_ping: Burrow 0.30 ms first, 0.19 ms after the anchors had warmed the client).
 */
export async function warmClient(dir: string, requests = 5000): Promise<void> {
  const socket = join(dir, 'warm-client.sock');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '2' });
    res.end('OK');
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const http = keepAliveGetter(socket);
  try {
    for (let i = 0; i < requests; i++) await http.get(i % 2 ? '/_ping' : '/v1.41/containers/json?all=1');
  } finally {
    http.close();
    await new Promise((resolve) => server.close(resolve));
  }
}
