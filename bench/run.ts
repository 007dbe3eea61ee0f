/**
 * `npm run bench [-- --quick] [--engines burrow,podman,docker] [--only ping,pull,...] [--COUNT=N ...]`
 *
 * Starts a loopback registry, pushes the bench images, starts Burrow and the two anchors (rootless
 * Podman, rootless Docker) as the current unprivileged user, runs every workload against every
 * engine that came up, prints a table per workload and writes bench/results/<timestamp>.json.
 * As root it drops to the bench user (default burrow-test), as test/run.sh does.
 */
import { spawn } from 'node:child_process';
import { chmod, chown, copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import Docker from 'dockerode';
import { startRegistry, type RunningRegistry } from '../test/harness/registry.js';
import { ENGINE_NAMES, removeTree, startEngine, type Engine, type EngineName } from './lib/engines.js';
import { prepareImages, busyboxLayerGzip, type BenchImages } from './lib/images.js';
import { crunFloor } from './lib/floor.js';
import { warmClient } from './lib/kit.js';
import { PAGE_SHARE_ENV, servePageShare } from './lib/page-share.js';
import { runCmd } from './lib/proc.js';
import { fmt, type Sample } from './lib/stats.js';
import { cliFor, FULL_COUNTS, QUICK_COUNTS, WORKLOADS, type Counts, type EngineContext, type Workload } from './lib/workloads.js';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);

interface Options {
  quick: boolean;
  engines: EngineName[];
  only?: string[];
  counts: Counts;
  out?: string;
  /** Replaces bin/burrow's V8 flags for the Burrow daemon (BURROW_NODE_FLAGS), to compare settings. */
  burrowNodeFlags?: string;
}

function usage(msg?: string): never {
  if (msg) process.stderr.write(`bench: ${msg}\n`);
  process.stderr.write(
    `usage: npm run bench -- [--quick] [--engines ${ENGINE_NAMES.join(',')}] [--only ${WORKLOADS.map((w) => w.id).join(',')}]\n` +
      `       [${Object.keys(FULL_COUNTS).map((k) => `--${k}=N`).join(' ')}] [--out FILE.json] [--burrow-node-flags="V8 FLAGS"]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = { quick, engines: [...ENGINE_NAMES], counts: { ...(quick ? QUICK_COUNTS : FULL_COUNTS) } };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    const key = a.replace(/^--/, '').replace(/=.*$/, '');
    if (a === '--quick') continue;
    else if (key === 'engines') {
      const list = val().split(',');
      for (const e of list) if (!(ENGINE_NAMES as readonly string[]).includes(e)) usage(`unknown engine ${e}`);
      o.engines = list as EngineName[];
    } else if (key === 'only') {
      o.only = val().split(',');
      for (const w of o.only) if (!WORKLOADS.some((x) => x.id === w)) usage(`unknown workload ${w}`);
    } else if (key === 'out') o.out = val();
    else if (key === 'burrow-node-flags') o.burrowNodeFlags = val();
    else if (key in o.counts) {
      const n = Number(val());
      if (!Number.isInteger(n) || n < 0) usage(`${a}: not a count`);
      o.counts[key as keyof Counts] = n;
    } else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  return o;
}

// ----------------------------------------------------------------------------------------------
// As root: drop to the bench user (the engines never run as root), then copy the JSON back.

async function dropPrivileges(argv: string[]): Promise<never> {
  const user = process.env.BURROW_TEST_USER ?? 'burrow-test';
  const home = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).split(':')[5] ?? '/';
  let src = repoRoot;
  const readable = await runCmd('setpriv', ['--reuid', user, '--regid', user, '--init-groups', 'test', '-r', join(src, 'package.json'), '-a', '-x', join(src, 'node_modules')]);
  if (readable.code !== 0) {
    src = await mkdtemp(join(tmpdir(), 'burrow-src.'));
    await cp(repoRoot, src, { recursive: true });
    await runCmd('chmod', ['-R', 'a+rX', src]);
    await chmod(src, 0o755);
    log(`benchmarking a readable copy of the checkout in ${src}`);
  }
  const outDir = await mkdtemp(join(tmpdir(), 'burrow-bench-out.'));
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  await chown(outDir, uid, gid);
  const out = join(outDir, 'result.json');
  // Physical frame numbers are shown to root only: this process counts the engines' pages for the bench.
  const shareSocket = join(outDir, 'page-share.sock');
  const shareServer = await servePageShare(shareSocket);
  await chown(shareSocket, uid, gid);
  const child = spawn(
    'setpriv',
    [
      '--reuid', user, '--regid', user, '--init-groups',
      'env', '-i', 'PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin', `HOME=${home}`, `USER=${user}`, `LOGNAME=${user}`,
      `TERM=${process.env.TERM ?? 'dumb'}`, 'LANG=C.UTF-8', `${PAGE_SHARE_ENV}=${shareSocket}`,
      process.execPath, join(src, 'dist', 'bench', 'run.js'), ...argv, '--out', out,
    ],
    { stdio: 'inherit', cwd: '/' },
  );
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  const code = await new Promise<number>((r) => child.once('close', (c) => r(c ?? 1)));
  shareServer.close();
  const text = await readFile(out, 'utf8').catch(() => undefined);
  if (text !== undefined) {
    const dir = join(repoRoot, 'bench', 'results');
    await mkdir(dir, { recursive: true });
    const dest = join(dir, `${(JSON.parse(text) as { timestamp: string }).timestamp.replace(/[:.]/g, '-')}.json`);
    await copyFile(out, dest);
    process.stdout.write(`results: ${dest}\n`);
  }
  await rm(outDir, { recursive: true, force: true });
  if (src !== repoRoot) await rm(src, { recursive: true, force: true });
  process.exit(code);
}

// ----------------------------------------------------------------------------------------------

type Cell = { sample: Sample } | { failed: string } | { skipped: string };

interface Result {
  timestamp: string;
  quick: boolean;
  host: { cpus: number; memGiB: number; kernel: string; loadBefore: number[]; loadAfter?: number[] };
  counts: Counts;
  engines: Record<string, { label?: string; error?: string; stopNotes?: string[] }>;
  images: { busybox: string; big: { compressedBytes: number; uncompressedBytes: number; layers: number } };
  workloads: {
    id: string;
    title: string;
    description: string;
    rows: { key: string; title: string; unit: string; better: string; cells: Record<string, Cell>; floor?: Cell; ratioBestAnchor?: number; ratioFloor?: number }[];
  }[];
}

function cellText(c: Cell | undefined): string {
  if (c === undefined) return '—';
  if ('sample' in c) return `${fmt(c.sample.min, c.sample.unit)} / ${fmt(c.sample.median, c.sample.unit)}`;
  if ('failed' in c) return `failed: ${c.failed}`;
  return c.skipped;
}

/** How many times worse Burrow is (by median): > 1 means slower / more memory / less throughput. */
function ratio(burrow: Cell | undefined, other: Sample | undefined, better: string): number | undefined {
  if (burrow === undefined || !('sample' in burrow) || other === undefined) return undefined;
  const b = burrow.sample.median;
  const o = other.median;
  if (b <= 0 || o <= 0) return undefined;
  return better === 'higher' ? o / b : b / o;
}

function printTable(w: Result['workloads'][number], engines: EngineName[]): void {
  const hasFloor = w.rows.some((r) => r.floor !== undefined);
  const header = ['', ...engines.map((e) => `${e} min / median`), ...(hasFloor ? ['floor (crun run)'] : []), 'burrow ÷ best anchor', ...(hasFloor ? ['burrow ÷ floor'] : [])];
  const lines = w.rows.map((r) => [
    r.title,
    ...engines.map((e) => cellText(r.cells[e])),
    ...(hasFloor ? [cellText(r.floor)] : []),
    r.ratioBestAnchor !== undefined ? `${r.ratioBestAnchor.toFixed(2)}×` : '—',
    ...(hasFloor ? [r.ratioFloor !== undefined ? `${r.ratioFloor.toFixed(2)}×` : '—'] : []),
  ]);
  const maxCell = 70;
  const clip = (s: string): string => (s.length > maxCell ? s.slice(0, maxCell - 1) + '…' : s);
  const rows = [header, ...lines].map((l) => l.map(clip));
  const widths = header.map((_, i) => Math.max(...rows.map((l) => l[i].length)));
  const out = [`\n## ${w.title}`, `   ${w.description}`];
  rows.forEach((l, i) => {
    out.push('| ' + l.map((c, j) => c.padEnd(widths[j])).join(' | ') + ' |');
    if (i === 0) out.push('|' + widths.map((n) => '-'.repeat(n + 2)).join('|') + '|');
  });
  process.stdout.write(out.join('\n') + '\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (process.getuid?.() === 0) await dropPrivileges(argv);
  const opts = parseArgs(argv);
  const base = await mkdtemp(join(tmpdir(), 'burrow-bench-'));
  const timestamp = new Date().toISOString();
  const result: Result = {
    timestamp,
    quick: opts.quick,
    host: { cpus: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), loadBefore: loadavg() },
    counts: opts.counts,
    engines: {},
    images: { busybox: '', big: { compressedBytes: 0, uncompressedBytes: 0, layers: 0 } },
    workloads: [],
  };
  const running: Engine[] = [];
  let registry: RunningRegistry | undefined;
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    for (const e of running) {
      log(`stopping ${e.name}`);
      const notes = await e.stop().catch((err: unknown) => [`stop failed: ${String(err)}`]);
      result.engines[e.name] = { ...result.engines[e.name], stopNotes: notes };
      for (const n of notes) log(`${e.name}: ${n}`);
    }
    await registry?.stop();
    await removeTree(base);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    log(`temp dir ${base}; ${opts.quick ? 'quick mode' : 'full mode'}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    registry = await startRegistry({ dir: join(base, 'registry') });
    const images: BenchImages = await prepareImages(registry, log);
    result.images = {
      busybox: `${images.busybox.name}:${images.busybox.tag}`,
      big: { compressedBytes: images.big.compressedBytes, uncompressedBytes: images.big.uncompressedBytes, layers: images.big.image.layers.length },
    };
    log(`pushed ${result.images.busybox} and ${images.big.name} (${images.big.image.layers.length} layers, ${(images.big.uncompressedBytes / 2 ** 20).toFixed(0)} MiB, ${(images.big.compressedBytes / 2 ** 20).toFixed(0)} MiB gzipped) to ${registry.host}`);

    const dockerConfig = join(base, 'docker-config');
    await mkdir(dockerConfig);
    const ctxs = new Map<EngineName, EngineContext>();
    for (const name of opts.engines) {
      log(`starting ${name}`);
      try {
        const engine = await startEngine(name, { dir: join(base, name), registryPort: registry.port, log, ...(opts.burrowNodeFlags !== undefined ? { nodeFlags: opts.burrowNodeFlags } : {}) });
        running.push(engine);
        const ref = (img: { name: string; tag: string }): string => `${engine.registryHost}/${img.name}:${img.tag}`;
        const ctx: EngineContext = {
          engine,
          docker: new Docker({ socketPath: engine.socket }),
          ...cliFor(engine, dockerConfig),
          refs: { busybox: ref(images.busybox), big: ref(images.big) },
          counts: opts.counts,
          prefix: `bench${process.pid}`,
        };
        // Untimed: every engine starts the container workloads with busybox already pulled.
        await ctx.cli(['pull', ctx.refs.busybox], { capture: false });
        ctxs.set(name, ctx);
        result.engines[name] = { label: engine.label };
        log(`${name}: ${engine.label} on ${engine.socket}`);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        result.engines[name] = { error: msg };
        log(`${name} could not start: ${msg}`);
      }
    }

    let floor: Sample | string | undefined;
    const selected = WORKLOADS.filter((w) => opts.only === undefined || opts.only.includes(w.id));
    if (selected.some((w) => w.id === 'run')) {
      log('floor: crun run of the busybox rootfs');
      floor = await crunFloor(base, await busyboxLayerGzip(images), opts.counts.runs * 3, opts.counts.warmup * 2).catch((err: unknown) =>
        err instanceof Error ? err.message : String(err),
      );
    }

    log('warming the in-process HTTP client');
    await warmClient(base);
    for (const w of selected) {
      const rows: Result['workloads'][number]['rows'] = w.rows.map((r) => ({ ...r, cells: {} }));
      for (const name of opts.engines) {
        const ctx = ctxs.get(name);
        if (ctx === undefined) {
          for (const r of rows) r.cells[name] = { skipped: 'not running' };
          continue;
        }
        log(`${w.id}: ${name}`);
        try {
          const got = await runWorkload(w, ctx);
          for (const r of rows) r.cells[name] = got[r.key] ? { sample: got[r.key] } : { failed: 'no value' };
        } catch (err) {
          const msg = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
          for (const r of rows) r.cells[name] = { failed: msg };
          log(`${w.id}: ${name} failed: ${msg}`);
        }
      }
      for (const r of rows) {
        if (w.id === 'run') r.floor = typeof floor === 'string' ? { failed: floor } : floor ? { sample: floor } : undefined;
        const anchors = (['podman', 'docker'] as const)
          .map((e) => r.cells[e])
          .filter((c): c is { sample: Sample } => c !== undefined && 'sample' in c)
          .map((c) => c.sample);
        const best = anchors.sort((a, b) => (r.better === 'higher' ? b.median - a.median : a.median - b.median))[0];
        r.ratioBestAnchor = ratio(r.cells.burrow, best, r.better);
        if (r.floor !== undefined && 'sample' in r.floor) r.ratioFloor = ratio(r.cells.burrow, r.floor.sample, r.better);
      }
      result.workloads.push({ id: w.id, title: w.title, description: w.describe(opts.counts), rows });
    }
  } finally {
    await cleanup();
  }

  // Nothing of the engines may outlive the run.
  result.host.loadAfter = loadavg();
  process.stdout.write(`\n# Burrow bench ${timestamp}${opts.quick ? ' (--quick)' : ''}\n`);
  process.stdout.write(`host: ${result.host.cpus} CPUs, ${result.host.memGiB} GiB, kernel ${result.host.kernel}; load before ${result.host.loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${result.host.loadAfter.map((x) => x.toFixed(2)).join(' ')}\n`);
  process.stdout.write(`client: docker CLI ${execFileSync('docker', ['--version'], { encoding: 'utf8' }).trim()} / dockerode; cells are min / median; ratios are by median, > 1 means Burrow is worse\n`);
  for (const name of opts.engines) {
    const e = result.engines[name];
    process.stdout.write(`engine ${name}: ${e?.label ?? `NOT RUNNING — ${e?.error ?? 'unknown'}`}\n`);
  }
  for (const w of result.workloads) printTable(w, opts.engines);
  const out = opts.out ?? join(repoRoot, 'bench', 'results', `${timestamp.replace(/[:.]/g, '-')}.json`);
  await mkdir(resolve(out, '..'), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 1) + '\n');
  if (opts.out === undefined) process.stdout.write(`\nresults: ${out}\n`);
}

async function runWorkload(w: Workload, ctx: EngineContext): Promise<Record<string, Sample>> {
  return w.run(ctx);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
