/** Reading containers: inspect, list with dockerd's filters (translate/filters.ts), sizes, counts. No lock: the records are read as they are. */
import { stateStatus } from '../../translate/container-json.js';
import { DOCKER_STATUSES } from '../../translate/container-lifecycle.js';
import type { ContainerRecord } from '../../translate/container-record.js';
import { invalidParameter } from '../../translate/errors.js';
import { labelMatches, parseFilters } from '../../translate/filters.js';
import { healthFilterValue, validateHealthFilter } from '../../translate/health.js';
import { diskUsage } from '../fs-usage.js';
import type { ContainerCore } from './core.js';
import type { ContainerDetails, ContainerSizes, ContainerView } from './interface.js';
import { rootfsPaths } from './rootfs.js';

export async function inspectContainer(core: ContainerCore, ref: string, opts: { size?: boolean } = {}): Promise<ContainerDetails> {
  const rec = core.store.find(ref);
  const execIds = core.exec.idsOf(rec.id);
  return opts.size ? { record: rec, execIds, sizes: await sizes(core, rec) } : { record: rec, execIds };
}

/** The writable layer, and that plus the image's layers. */
async function sizes(core: ContainerCore, rec: ContainerRecord): Promise<ContainerSizes> {
  const rw = await diskUsage(rootfsPaths(core.dir(rec.id)).upper);
  const { images } = core.deps;
  const image = images.has(rec.imageId) ? images.size(rec.imageId) : 0;
  return { rw, rootFs: rw + image };
}

export async function listContainers(core: ContainerCore, params: { all: boolean; limit?: number; filters?: string; size?: boolean }): Promise<ContainerView[]> {
  const f = parseFilters(params.filters, ['id', 'name', 'label', 'label!', 'status', 'exited', 'ancestor', 'before', 'since', 'network', 'health', 'volume', 'expose', 'publish', 'isolation', 'is-task']);
  for (const s of f.get('status') ?? []) {
    if (!(DOCKER_STATUSES as readonly string[]).includes(s)) throw invalidParameter(`invalid filter 'status=${s}'`);
  }
  const exited = (f.get('exited') ?? []).map((e) => {
    const n = Number(e);
    if (!Number.isInteger(n)) throw invalidParameter(`invalid filter 'exited=${e}'`);
    return n;
  });
  const health = f.get('health');
  if (health) validateHealthFilter(health);
  const ancestors = (f.get('ancestor') ?? []).map((a) => core.deps.images.lookup(a)?.id ?? a);
  // A limit means the last N created in any state, as dockerd's list does (`docker ps -n 3`).
  const all = params.all || (params.limit ?? 0) > 0 || (f.get('status')?.length ?? 0) > 0 || exited.length > 0;
  let recs = core.store.all().sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
  recs = recs.filter((r) => {
    if (!all && r.state.status !== 'running') return false;
    const ids = f.get('id');
    if (ids && !ids.some((i) => r.id.startsWith(i))) return false;
    const names = f.get('name');
    if (names && !names.some((n) => matchesName(r.name, n))) return false;
    if (!(f.get('label') ?? []).every((l) => labelMatches(r.config.Labels ?? {}, l))) return false;
    if ((f.get('label!') ?? []).some((l) => labelMatches(r.config.Labels ?? {}, l))) return false;
    const statuses = f.get('status');
    if (statuses && !statuses.includes(stateStatus(r))) return false;
    if (exited.length > 0 && !(r.state.status === 'exited' && exited.includes(r.state.exitCode))) return false;
    if (ancestors.length > 0 && !ancestors.some((a) => a === r.imageId || a === r.image)) return false;
    if (health && !health.includes(healthFilterValue(r.health))) return false;
    return true;
  });
  if (params.limit !== undefined && params.limit > 0) recs = recs.slice(0, params.limit);
  if (!params.size) return recs.map((record) => ({ record }));
  return Promise.all(recs.map(async (record) => ({ record, sizes: await sizes(core, record) })));
}

export function containerCounts(core: ContainerCore): { total: number; running: number } {
  const all = core.store.all();
  return { total: all.length, running: all.filter((r) => r.state.status === 'running').length };
}

/** dockerd matches name filters as regular expressions against "/name". */
function matchesName(name: string, filter: string): boolean {
  try {
    return new RegExp(filter).test(name);
  } catch {
    return name.includes(filter);
  }
}
