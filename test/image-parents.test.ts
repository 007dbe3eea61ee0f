import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageStore } from '../rootless/images/store.js';
import { imageHistory, imageHistoryJson } from '../translate/image-json.js';
import { dockerCli, rawRequest } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';
import { buildContexts } from './harness/build-context.js';

const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const legacy = { DOCKER_BUILDKIT: '0' };

const { context, cleanup: removeContexts } = buildContexts('burrow-parents-ctx');

async function ok(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await docker(args, env ? { env } : {});
  expect(r.code, `docker ${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(0);
  return r.stdout;
}

/** The 12-hex IDs the classic builder prints after each step (" ---> abc…"), FROM's base first. */
function stepIds(out: string): string[] {
  return [...out.matchAll(/ ---> ([0-9a-f]{12})\n/g)].map((m) => m[1]);
}

/** `docker images [-a]` as "repo:tag id" lines. */
async function listed(all: boolean): Promise<string[]> {
  const out = await ok(['images', ...(all ? ['-a'] : []), '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
  return out.split('\n').filter((l) => l !== '');
}

const fullId = async (name: string): Promise<string> => (await ok(['image', 'inspect', '-f', '{{.Id}}', name])).trim();

beforeAll(async () => {
  await ok(['pull', busybox]);
});

afterAll(async () => {
  await removeContexts();
});

describe('image parent links (classic builder step images, as in dockerd)', () => {
  it('intermediates are hidden, kept by prune, linked as parents, protected from rmi by ID and removed with their tag', async () => {
    const busyboxId = await fullId(busybox);
    const dir = await context({ Dockerfile: `FROM ${busybox}\nENV STEP=one\nCOPY f.txt /f.txt\nRUN echo ran > /r.txt\n`, 'f.txt': 'file\n' });
    const first = await ok(['build', '-t', 'chain:1', dir], legacy);
    const [base, envId, copyId, runId] = stepIds(first);
    expect(base).toBe(busyboxId.slice(7, 19));
    expect(first).toContain(`Successfully built ${runId}`);

    // Plain listing: only tagged images; -a shows the step images as <none>.
    const plain = await listed(false);
    expect(plain.some((l) => l.startsWith('<none>'))).toBe(false);
    expect(plain).toContain(`chain:1 ${runId}`);
    const all = await listed(true);
    expect(all).toContain(`<none>:<none> ${envId}`);
    expect(all).toContain(`<none>:<none> ${copyId}`);
    expect((await ok(['images', '-q', '--filter', 'dangling=true'])).trim()).toBe('');

    // The API carries the links: ParentId in the list, Parent in inspect.
    const r = await rawRequest(bed.socket, 'GET', '/images/json?all=1');
    expect(r.status).toBe(200);
    const summaries = JSON.parse(r.body) as { Id: string; ParentId: string }[];
    const byShort = (s: string) => summaries.find((i) => i.Id.startsWith(`sha256:${s}`));
    expect(byShort(envId)?.ParentId).toBe(busyboxId);
    expect(byShort(copyId)?.ParentId.startsWith(`sha256:${envId}`)).toBe(true);
    expect(byShort(busyboxId.slice(7, 19))?.ParentId).toBe('');
    expect((await ok(['image', 'inspect', '-f', '{{.Parent}}', 'chain:1'])).trim()).toMatch(new RegExp(`^sha256:${copyId}[0-9a-f]{52}$`));
    expect((await ok(['image', 'inspect', '-f', '{{.Parent}}', envId])).trim()).toBe(busyboxId);

    // History: one row per image of the chain, the base's own row included; older rows are <missing>.
    const history = (await ok(['history', '-q', 'chain:1'])).split('\n').filter((l) => l !== '');
    expect(history.slice(0, 4)).toEqual([runId, copyId, envId, base]);
    expect(history.slice(4).every((l) => l === '<missing>')).toBe(true);

    // Prune keeps the step images, so the cache still serves every step.
    await ok(['image', 'prune', '-f']);
    expect(await listed(true)).toContain(`<none>:<none> ${envId}`);
    const second = await ok(['build', '-t', 'chain:1', dir], legacy);
    expect(second.match(/ ---> Using cache/g)?.length).toBe(3);
    expect(stepIds(second)).toEqual([base, envId, copyId, runId]);

    // An image with children cannot go by ID, forced or not (a tagged one neither).
    for (const args of [['rmi', envId], ['rmi', '-f', copyId], ['rmi', base]]) {
      const rmi = await docker(args);
      expect(rmi.code).not.toBe(0);
      expect(rmi.stderr).toContain(`conflict: unable to delete ${args[args.length - 1]} (cannot be forced) - image has dependent child images`);
    }
    const raw = await rawRequest(bed.socket, 'DELETE', `/images/${envId}`);
    expect(raw.status).toBe(409);
    expect(JSON.parse(raw.body)).toEqual({ message: `conflict: unable to delete ${envId} (cannot be forced) - image has dependent child images` });

    // rmi of the tag takes the untagged chain along, and stops at the tagged base.
    const since = (Date.now() / 1000).toFixed(3);
    const removed = await ok(['rmi', 'chain:1']);
    expect(removed).toContain('Untagged: chain:1');
    // One delete event per image that went, as dockerd sends them.
    const until = (Date.now() / 1000 + 0.2).toFixed(3);
    const deletes = (await ok(['events', '--since', since, '--until', until, '--filter', 'type=image', '--filter', 'event=delete', '--format', '{{.ID}}'])).split('\n').filter((l) => l !== '');
    expect(deletes.map((d) => d.slice(7, 19))).toEqual([runId, copyId, envId]);
    for (const id of [runId, copyId, envId]) expect(removed).toMatch(new RegExp(`Deleted: sha256:${id}`));
    expect(removed).not.toContain(`Deleted: ${busyboxId}`);
    const after = await listed(true);
    for (const id of [runId, copyId, envId]) expect(after.some((l) => l.endsWith(id))).toBe(false);
    expect(after.some((l) => l.endsWith(base))).toBe(true);
  });

  it('rmi --no-prune keeps the parent chain, which then shows as dangling and prune takes it whole', async () => {
    const dir = await context({ Dockerfile: `FROM ${busybox}\nENV A=noprune\nENV B=noprune\nLABEL c=noprune\n` });
    const [, aId, bId, cId] = stepIds(await ok(['build', '-t', 'np:1', dir], legacy));
    const removed = await ok(['rmi', '--no-prune', 'np:1']);
    expect(removed).toMatch(new RegExp(`Deleted: sha256:${cId}`));
    expect(removed).not.toMatch(new RegExp(`Deleted: sha256:${bId}`));
    // B has lost its only child: it is dangling now, A (its parent) still an intermediate.
    const dangling = (await ok(['images', '-q', '--filter', 'dangling=true'])).split('\n');
    expect(dangling).toContain(bId);
    expect(dangling).not.toContain(aId);
    expect((await listed(false)).some((l) => l.endsWith(aId))).toBe(false);
    const pruned = await ok(['image', 'prune', '-f']);
    expect(pruned).toMatch(new RegExp(`deleted: sha256:${bId}`));
    expect(pruned).toMatch(new RegExp(`deleted: sha256:${aId}`));
    expect((await listed(true)).some((l) => l.endsWith(aId) || l.endsWith(bId))).toBe(false);
  });

  it('rmi of a tag whose image has children only untags it; docker commit records the container image as parent', async () => {
    const dir = await context({ Dockerfile: `FROM ${busybox}\nLABEL layer=base\n` });
    const [, baseStep] = stepIds(await ok(['build', '-t', 'parent:1', dir], legacy));
    const child = await context({ Dockerfile: `FROM parent:1\nLABEL layer=child\n` });
    await ok(['build', '-t', 'child:1', child], legacy);
    expect((await ok(['rmi', 'parent:1'])).trim()).toBe('Untagged: parent:1');
    // Untagged with a child: an intermediate now, hidden from the plain listing but still there.
    expect((await listed(false)).some((l) => l.endsWith(baseStep))).toBe(false);
    expect(await listed(true)).toContain(`<none>:<none> ${baseStep}`);
    expect((await ok(['rmi', 'child:1'])).includes(`Deleted: sha256:${baseStep}`)).toBe(true);

    const ctr = 'parents-commit';
    await ok(['run', '--name', ctr, busybox, 'sh', '-c', 'echo changed > /changed']);
    const committed = (await ok(['commit', ctr, 'committed:1'])).trim();
    expect((await ok(['image', 'inspect', '-f', '{{.Parent}}', 'committed:1'])).trim()).toBe(await fullId(busybox));
    expect(committed.startsWith('sha256:')).toBe(true);
    await ok(['rm', ctr]);
    // Deleting the commit stops at its tagged parent.
    const gone = await ok(['rmi', 'committed:1']);
    expect(gone).toContain(`Deleted: ${committed}`);
    expect(gone).not.toContain(`Deleted: ${await fullId(busybox)}`);
  });
});

describe('the image store keeps parents (unit)', () => {
  async function storeWith(root: string, n: number): Promise<{ store: ImageStore; ids: string[] }> {
    const store = await ImageStore.open(root);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const bytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: new Date(1000 * i).toISOString(), rootfs: { type: 'layers', diff_ids: [] }, history: [{ created_by: `step ${i}` }] }));
      const id = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
      await store.putConfig(id, bytes);
      await store.addImage(id, [], [], new Date(), ids[i - 1]);
      ids.push(id);
    }
    return { store, ids };
  }

  it('links survive a reopen; an index without parents and a parent that is gone read as none; deletes prune up the chain', async () => {
    const root = await context({});
    const { store, ids } = await storeWith(root, 4);
    const [a, b, c, d] = ids as [string, string, string, string];
    expect(store.parent(a)).toBeUndefined();
    expect(store.parent(c)).toBe(b);
    expect(store.children(b)).toEqual([c]);
    expect([...store.withChildren()].sort()).toEqual([a, b, c].sort());
    expect(store.lineage(d)).toEqual([d, c, b, a]);

    const reopened = await ImageStore.open(root);
    expect(reopened.record(d).parent).toBe(c);

    // An index written before parents were kept.
    const index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as { images: Record<string, { parent?: string }> };
    for (const e of Object.values(index.images)) delete e.parent;
    await writeFile(join(root, 'index.json'), JSON.stringify(index));
    const old = await ImageStore.open(root);
    expect(old.record(d).parent).toBeUndefined();
    expect(old.withChildren().size).toBe(0);

    // Relink, then delete the middle image behind the store's back: its child reads as parentless.
    for (let i = 1; i < ids.length; i++) await old.addImage(ids[i], [], [], new Date(), ids[i - 1]);
    await old.deleteImage(b);
    expect(old.parent(c)).toBeUndefined();
    expect((await ImageStore.open(root)).record(c).parent).toBeUndefined();

    // d's chain: c goes too (untagged, no other child); kept() and references stop the walk.
    const del = await old.deleteWithParents(d, true, () => false);
    expect(del.deleted).toEqual([d, c]);
    const { store: s2, ids: chain } = await storeWith(await mkdtemp(join(tmpdir(), 'burrow-parents-store-')), 3);
    await s2.tag(chain[0], { domain: 'docker.io', path: 'library/keep', tag: 'latest' });
    expect((await s2.deleteWithParents(chain[2], true, (id) => id === chain[1])).deleted).toEqual([chain[2]]);
    expect((await s2.deleteWithParents(chain[1], true, () => false)).deleted).toEqual([chain[1]]);
    expect(s2.has(chain[0])).toBe(true);
    await rm(s2.root, { recursive: true, force: true });
  });

  it('history rows take the lineage IDs top down, the rest stay <missing>', () => {
    const config = { history: [{ created_by: 'base' }, { created_by: 'one' }, { created_by: 'two', empty_layer: true }] };
    const rows = imageHistory({ id: 'sha256:top', config, repoTags: ['x:1'], repoDigests: [], size: 0 }, [1, 2], [
      { id: 'sha256:top', repoTags: ['x:1'] },
      { id: 'sha256:mid', repoTags: [] },
    ]);
    expect(rows.map(imageHistoryJson).map((r) => [r.Id, r.Tags])).toEqual([
      ['sha256:top', ['x:1']],
      ['sha256:mid', null],
      ['<missing>', null],
    ]);
  });
});
