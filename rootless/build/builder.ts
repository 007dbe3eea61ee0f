/**
 * One classic-builder build: receive the context, parse the Dockerfile, run each stage's steps
 * (every step's result is an image, reused from the cache when its key matches), then tag. The
 * output is dockerd's: "Step n/N : …", " ---> <id>", " ---> Using cache", "Running in …".
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { buildCacheKey, sourceDigestLabel } from '../../translate/build-cache-key.js';
import { argDeclarations, commandLine } from '../../translate/dockerfile/arguments.js';
import { envOf, lookupFor, metadataStep, nop, runArgs, shellOf, type StageState } from '../../translate/dockerfile/config-steps.js';
import { parseDockerfile, parseInstruction, type Instruction } from '../../translate/dockerfile/parser.js';
import { requiresBuildKit } from '../../translate/dockerfile/instruction-flags.js';
import { processWord, processWords } from '../../translate/dockerfile/shell-lex.js';
import { planStages, stepCount, type Stage } from '../../translate/dockerfile/stages.js';
import { invalidParameter } from '../../translate/errors.js';
import type { ImageContainerConfig } from '../../translate/image-changes.js';
import { familiarString, parseNormalizedNamed, withDefaultTag, type ImageRef } from '../../translate/image-ref.js';
import { parsePlatform, type Platform } from '../../translate/platform.js';
import { streamMessage, type JsonMessage } from '../../translate/pull-progress.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';
import type { Emit, PullRequest } from '../images/pull.js';
import type { ImageStore } from '../images/store.js';
import type { BuildCache } from './cache.js';
import { sourcesChecksum } from './checksum.js';
import { CacheSources } from './cache-from.js';
import { receiveContext } from './context.js';
import { receiveRemoteContext } from './remote-context.js';
import { readDockerfile, removeIgnoredBuildFiles, resolveSources } from './context-files.js';
import { copyIntoLayer } from './copy-layer.js';
import { downloadSource } from './download.js';
import { resolveChown, withImageRoot } from './image-root.js';
import { ingestDir } from './ingest-dir.js';
import type { Lease } from '../images/leases.js';
import { commitStep, scratchImage, storedImage, type BuildImage, type StepChange } from './step-image.js';
import { BuildCancelledError, type StepContainers } from './step-containers.js';
import { stageUpperDir } from '../containers/commit-layer.js';
import type { BuildParams } from '../../api/build-services.js';

/** The API's build parameters with tags, platform and registry credentials parsed. */
export interface BuildRequest extends Omit<BuildParams, 'tags' | 'platform' | 'registryConfig'> {
  tags: ImageRef[];
  platform?: Platform;
  /** Registry host ("docker.io", "127.0.0.1:5000") → credentials, from X-Registry-Config. */
  registryCreds: Map<string, RegistryCredentials>;
}

export interface BuilderDeps {
  store: ImageStore;
  pull(req: PullRequest, emit: Emit): Promise<void>;
  containers: StepContainers;
  cache: BuildCache;
  storageDriver: string;
  host: Platform;
}

/** A step that failed with an exit code, which the stream's errorDetail carries. */
export class BuildStepError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

let downloads = 0;

class Build {
  /** What the client sees: everything but the image ID stays silent for a quiet build. */
  private readonly show: (m: JsonMessage) => void;
  private readonly out: (text: string) => void;
  private readonly stageImages: BuildImage[] = [];
  private readonly stageNames = new Map<string, number>();
  private escape = '\\';
  private contextDir = '';
  private consumedArgs = new Set<string>();
  /** The build's cache_from images, when it names any (and uses the cache). */
  private cacheSources: CacheSources | undefined;
  /** Running a base image's ONBUILD triggers: their steps don't print their image IDs. */
  private inTriggers = false;

  constructor(
    private readonly deps: BuilderDeps,
    private readonly req: BuildRequest,
    private readonly emit: (m: JsonMessage) => void,
    private readonly workDir: string,
    /** Holds the base images, the images COPY --from reads and every step's image and layers until the build ends. */
    private readonly lease: Lease,
  ) {
    this.show = req.quiet ? () => undefined : emit;
    this.out = (text) => this.show(streamMessage(text));
  }

  async run(): Promise<string> {
    if (this.req.remote) {
      // dockerd leaves the body of a remote= build unread; it is drained so the client can finish sending.
      this.req.body.resume();
      this.contextDir = await receiveRemoteContext(this.req.remote, this.workDir, { dockerfile: this.req.dockerfile, emit: this.show, ...(this.req.signal ? { signal: this.req.signal } : {}) });
    } else {
      this.contextDir = await receiveContext(this.req.body, this.workDir);
    }
    if (!this.req.nocache) this.cacheSources = CacheSources.resolve(this.deps.store, this.req.cacheFrom, this.lease);
    const { text, rel } = await readDockerfile(this.contextDir, this.req.dockerfile);
    await removeIgnoredBuildFiles(this.contextDir, rel);
    const parsed = parseDockerfile(text, this.req.dockerfile);
    this.escape = parsed.escape;
    const plan = planStages(parsed.instructions, parsed.escape, this.req.target);
    const labelKeys = Object.keys(this.req.labels).sort();
    if (labelKeys.length > 0 && plan.stages.length > 0) {
      const line = `LABEL ${labelKeys.map((k) => `${JSON.stringify(k)}=${JSON.stringify(this.req.labels[k])}`).join(' ')}`;
      plan.stages[plan.stages.length - 1].commands.push(parseInstruction(line, 0));
    }
    for (const w of parsed.warnings) this.out(`${w}\n`);
    const total = stepCount(plan);
    let step = 0;
    const header = (inst: Instruction): void => {
      this.checkCancelled();
      this.out(`Step ${++step}/${total} : ${inst.original}\n`);
    };

    const metaArgs = new Map<string, string | undefined>();
    for (const inst of plan.metaArgs) {
      header(inst);
      for (const d of argDeclarations(inst, this.escape, (n) => metaArgs.get(n))) {
        const given = Object.prototype.hasOwnProperty.call(this.req.buildArgs, d.name) ? this.req.buildArgs[d.name] : undefined;
        metaArgs.set(d.name, given ?? d.value);
        this.consumedArgs.add(d.name);
      }
    }
    let image: BuildImage | undefined;
    for (const stage of plan.stages) {
      // dockerd finds a reused stage name when it reaches the stage, after the earlier ones ran.
      if (stage.name && this.stageNames.has(stage.name)) throw invalidParameter(`${stage.name} stage name already used`);
      header(stage.from);
      image = await this.runStage(stage, metaArgs, header);
      this.stageImages[stage.index] = image;
      if (stage.name) this.stageNames.set(stage.name, stage.index);
    }
    const unused = Object.keys(this.req.buildArgs).filter((k) => !this.consumedArgs.has(k)).sort();
    if (unused.length > 0) this.out(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
    if (!image?.id) throw invalidParameter('No image was generated. Is your Dockerfile empty?');
    const id = image.id;
    // A client that left before the end gets no image tagged in its name.
    this.checkCancelled();
    this.emit({ aux: { ID: id } });
    if (this.req.quiet) this.emit({ stream: `${id}\n` });
    this.out(`Successfully built ${short(id)}\n`);
    for (const ref of this.req.tags) {
      await this.deps.store.tag(id, ref);
      this.out(`Successfully tagged ${familiarString(ref)}\n`);
    }
    return id;
  }

  private async runStage(stage: Stage, metaArgs: Map<string, string | undefined>, header: (i: Instruction) => void): Promise<BuildImage> {
    const metaLookup = (n: string): string | undefined => metaArgs.get(n);
    const baseName = processWord(stage.base, metaLookup, this.escape);
    const platformText = stage.platform ? processWord(stage.platform, metaLookup, this.escape) : undefined;
    const platform = platformText ? parsePlatform(platformText) : this.req.platform;
    let image = await this.baseImage(baseName, platform);
    const state: StageState = {
      config: { ...((image.config.config as ImageContainerConfig | undefined) ?? {}) },
      escape: this.escape,
      args: new Map(),
      buildArgs: this.req.buildArgs,
      metaArgs,
      cmdSet: false,
    };
    const triggers = Array.isArray(state.config.OnBuild) ? (state.config.OnBuild as string[]) : [];
    if (triggers.length > 0) {
      // dockerd runs the base's triggers as part of FROM: their steps print no image ID of their
      // own, FROM prints the one they end with.
      this.out(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}\n`);
      state.config = { ...state.config, OnBuild: null };
      this.inTriggers = true;
      try {
        for (const t of triggers) image = await this.dispatch(parseInstruction(t, 0), image, state, stage.index);
      } finally {
        this.inTriggers = false;
      }
    }
    if (image.id) this.out(` ---> ${short(image.id)}\n`);
    for (const inst of stage.commands) {
      header(inst);
      image = await this.dispatch(inst, image, state, stage.index);
    }
    return image;
  }

  /** Throws once the client has gone away; checked between steps, RUN containers watch the signal themselves. */
  private checkCancelled(): void {
    if (this.req.signal?.aborted) throw new BuildCancelledError();
  }

  private credsFor(ref: ImageRef): RegistryCredentials | undefined {
    return this.req.registryCreds.get(ref.domain);
  }

  /** An image by name: local unless `pull` asks for a fresh one, pulled otherwise. */
  private async imageByName(name: string, platform: Platform | undefined, forcePull: boolean): Promise<string> {
    let ref: ImageRef;
    try {
      ref = withDefaultTag(parseNormalizedNamed(name));
    } catch {
      throw invalidParameter(`invalid reference format: ${name}`);
    }
    const local = this.deps.store.lookup(name);
    if (local && !forcePull) {
      // Held from the moment it is found, before any await lets an rmi in.
      this.deps.store.leaseImage(this.lease, local.id);
      return local.id;
    }
    const creds = this.credsFor(ref);
    await this.deps.pull({ ref, ...(platform ? { platform } : {}), ...(creds ? { creds } : {}) }, this.show);
    const id = this.deps.store.resolve(name);
    this.deps.store.leaseImage(this.lease, id);
    return id;
  }

  private async baseImage(name: string, platform: Platform | undefined): Promise<BuildImage> {
    if (name.toLowerCase() === 'scratch') return scratchImage(platform ?? this.deps.host);
    const stageIndex = this.stageNames.get(name.toLowerCase());
    if (stageIndex !== undefined) return this.stageImages[stageIndex];
    return storedImage(this.deps.store, await this.imageByName(name, platform, this.req.pull), this.lease);
  }

  /** Commits a step, or reuses the cached result of an identical one. */
  private async commit(parent: BuildImage, change: StepChange, produce?: () => Promise<StepChange>): Promise<BuildImage> {
    const key = buildCacheKey({ parent: parent.id ?? '', createdBy: change.createdBy, config: change.config });
    if (!this.req.nocache) {
      const found = this.deps.cache.get(key);
      const local = found !== undefined && this.deps.store.has(found) ? found : undefined;
      const sources = this.cacheSources;
      let cached = local !== undefined && (!sources || sources.trusts(local)) ? local : undefined;
      if (cached === undefined && sources) cached = await sources.probe(parent, change.createdBy, change.config, this.lease);
      if (cached !== undefined) {
        this.out(' ---> Using cache\n');
        if (!this.inTriggers) this.out(` ---> ${short(cached)}\n`);
        return storedImage(this.deps.store, cached, this.lease);
      }
    }
    const made = await commitStep(this.deps.store, parent, produce ? await produce() : change, this.lease);
    await this.deps.cache.set(key, made.id as string);
    if (!this.inTriggers) this.out(` ---> ${short(made.id as string)}\n`);
    return made;
  }

  private async dispatch(inst: Instruction, image: BuildImage, state: StageState, stageIndex: number): Promise<BuildImage> {
    if (inst.cmd === 'RUN') return this.runStep(inst, image, state);
    if (inst.cmd === 'COPY' || inst.cmd === 'ADD') return this.copyStep(inst, image, state, stageIndex);
    if (inst.cmd === 'FROM') throw invalidParameter('FROM is not allowed here');
    const before = new Set(state.args.keys());
    const result = metadataStep(inst, state);
    for (const k of state.args.keys()) if (!before.has(k)) this.consumedArgs.add(k);
    state.config = result.config;
    return this.commit(image, { config: result.config, createdBy: result.createdBy, ...(state.author ? { author: state.author } : {}) });
  }

  private async runStep(inst: Instruction, image: BuildImage, state: StageState): Promise<BuildImage> {
    // The flags parse (buildkit's parser knows them); dockerd's classic builder then refuses the first.
    for (const f of Object.keys(inst.flags)) throw requiresBuildKit(f);
    const cmd = commandLine(inst, shellOf(state.config));
    const args = runArgs(state);
    const createdBy = `${args.length > 0 ? `|${args.length} ${args.join(' ')} ` : ''}${cmd.join(' ')}`;
    const config = state.config;
    return this.commit(image, { config, createdBy }, async () => {
      if (!image.id) throw invalidParameter('Please provide a source image with `from` prior to run');
      let containerId: string | undefined;
      let removed = false;
      const removeContainer = async (): Promise<void> => {
        if (!containerId || removed) return;
        removed = true;
        await this.deps.containers.remove(containerId);
      };
      try {
        const { exitCode } = await this.deps.containers.run(
          {
            image: image.id,
            cmd,
            env: [...envOf(config), ...args],
            user: typeof config.User === 'string' ? config.User : '',
            workingDir: typeof config.WorkingDir === 'string' ? config.WorkingDir : '',
            hostConfig: this.req.runHostConfig,
            output: this.out,
            // dockerd's classic builder sends a step's stderr in the same `stream` messages, each
            // write wrapped in the terminal's bright red (streamformatter.NewStderrWriter).
            errorOutput: (text) => this.out(`\x1b[91m${text}\x1b[0m`),
            ...(this.req.signal ? { signal: this.req.signal } : {}),
          },
          (id, warnings) => {
            containerId = id;
            for (const w of warnings) this.out(` ---> [Warning] ${w}\n`);
            this.out(` ---> Running in ${short(id)}\n`);
          },
        );
        if (exitCode !== 0) throw new BuildStepError(`The command '${cmd.join(' ')}' returned a non-zero code: ${exitCode}`, exitCode);
        // Staged through hard links, so a kept container (rm=0) keeps its upper dir intact.
        const staging = await mkdtemp(join(this.workDir, 'upper-'));
        const entries = await stageUpperDir(this.deps.containers.upperDir(containerId as string), staging);
        // A step that changed nothing adds no layer: history marks it empty, as dockerd's commit does.
        const layer = entries > 0 ? await ingestDir(this.deps.store, staging, this.workDir, image.config.rootfs?.diff_ids ?? [], this.lease) : undefined;
        await rm(staging, { recursive: true, force: true });
        if (this.req.rm) {
          await removeContainer();
          this.out(`Removing intermediate container ${short(containerId as string)}\n`);
        }
        return { config, createdBy, ...(layer ? { layer } : {}) };
      } finally {
        // A failed step leaves nothing behind unless the client asked to keep containers.
        if (this.req.rm || this.req.forcerm) await removeContainer().catch(() => undefined);
      }
    });
  }

  private async copyStep(inst: Instruction, image: BuildImage, state: StageState, stageIndex: number): Promise<BuildImage> {
    const isAdd = inst.cmd === 'ADD';
    if (inst.flags.chmod !== undefined) throw requiresBuildKit('chmod');
    const look = lookupFor(state);
    const words = inst.json ? inst.json.map((w) => processWord(w, look, this.escape)) : processWords(inst.rest, look, this.escape);
    if (words.length < 2) throw invalidParameter(`${inst.cmd} requires at least two arguments, but only one was provided. Destination could not be determined.`);
    const sources = words.slice(0, -1);
    const rawDest = words[words.length - 1];
    const workdir = typeof state.config.WorkingDir === 'string' && state.config.WorkingDir !== '' ? state.config.WorkingDir : '/';
    const dest = rawDest.startsWith('/') ? rawDest : posix.join(workdir, rawDest) + (rawDest.endsWith('/') || rawDest === '.' ? '/' : '');
    const chownSpec = inst.flags.chown !== undefined ? processWord(inst.flags.chown, look, this.escape) : undefined;
    const lowerDirs = image.id ? this.deps.store.layerDirs(image.id) : [];
    const flagText = Object.entries(inst.flags).map(([k, v]) => `--${k}=${v} `).join('');

    const isUrl = (src: string): boolean => /^https?:\/\//i.test(src);
    const remote = sources.filter(isUrl);
    if (!isAdd && remote.length > 0) throw invalidParameter("COPY failed: source can't be a URL for COPY");

    const withSources = async <T>(fn: (groups: SourceGroup[]) => Promise<T>): Promise<T> => {
      const from = inst.flags.from !== undefined ? processWord(inst.flags.from, look, this.escape) : undefined;
      if (from !== undefined) {
        const src = await this.fromImage(from, stageIndex);
        const dirs = src.id ? this.deps.store.layerDirs(src.id) : [];
        return withImageRoot(dirs, this.workDir, this.deps.storageDriver, async (root) => fn([{ root, rels: await this.matchAll(root, sources), extract: false }]));
      }
      if (remote.length === 0) return fn([{ root: this.contextDir, rels: await this.matchAll(this.contextDir, sources), extract: isAdd }]);
      // ADD of URLs: each is downloaded into a directory of its own; what comes from http is never unpacked.
      const groups: SourceGroup[] = [];
      for (const src of sources) {
        if (!isUrl(src)) {
          groups.push({ root: this.contextDir, rels: await resolveSources(this.contextDir, src), extract: true });
          continue;
        }
        const dir = join(this.workDir, `download-${downloads++}`);
        await mkdir(dir);
        const rel = await downloadSource(src, dir, dest, { signal: this.req.signal, emit: this.show });
        groups.push({ root: dir, rels: [rel], extract: false });
      }
      return fn(groups);
    };

    return withSources(async (groups) => {
      const count = groups.reduce((n, g) => n + g.rels.length, 0);
      if (count > 1 && !dest.endsWith('/')) throw invalidParameter(`When using ${inst.cmd} with more than one source file, the destination must be a directory and end with a /`);
      let sum: string;
      if (groups.length === 1) {
        sum = await sourcesChecksum(groups[0].root, groups[0].rels);
      } else {
        const h = createHash('sha256');
        for (const g of groups) h.update(`${await sourcesChecksum(g.root, g.rels)}\n`);
        sum = h.digest('hex');
      }
      const kinds: ('dir' | 'file')[] = [];
      for (const g of groups) for (const r of g.rels) kinds.push((await lstat(join(g.root, r))).isDirectory() ? 'dir' : 'file');
      const createdBy = nop(`${inst.cmd} ${flagText}${sourceDigestLabel(kinds, sum)} in ${dest} `).replace('#(nop)  ', '#(nop) ');
      return this.commit(image, { config: state.config, createdBy }, async () => {
        const owner = chownSpec ? await resolveChown(chownSpec, lowerDirs) : { uid: 0, gid: 0 };
        const layerDir = await mkdtemp(join(this.workDir, 'layer-'));
        try {
          for (const g of groups) {
            await copyIntoLayer({ root: g.root, sources: g.rels, dest, owner, extractArchives: g.extract, lowerDirs, layerDir });
          }
          const layer = await ingestDir(this.deps.store, layerDir, this.workDir, image.config.rootfs?.diff_ids ?? [], this.lease);
          return { config: state.config, createdBy, layer };
        } finally {
          await rm(layerDir, { recursive: true, force: true });
        }
      });
    });
  }

  private async matchAll(root: string, sources: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const s of sources) out.push(...(await resolveSources(root, s)));
    return out;
  }

  /** COPY --from: an earlier stage by name or index, else an image. */
  private async fromImage(from: string, stageIndex: number): Promise<BuildImage> {
    const byName = this.stageNames.get(from.toLowerCase());
    if (byName !== undefined) return this.stageImages[byName];
    if (/^\d+$/.test(from)) {
      const n = Number(from);
      if (n >= stageIndex) throw invalidParameter(`invalid from flag value ${from}: refers to current or future build stage`);
      return this.stageImages[n];
    }
    return storedImage(this.deps.store, await this.imageByName(from, this.req.platform, false), this.lease);
  }
}

/** COPY/ADD sources that share a root: the context, a stage's or image's root, one download's directory. */
interface SourceGroup {
  root: string;
  rels: string[];
  /** ADD unpacks local archives; never those from --from or http. */
  extract: boolean;
}

/** Runs one build in a private directory under the image store's tmp/, removed afterwards whatever happens. */
export async function runBuild(deps: BuilderDeps, req: BuildRequest, emit: (m: JsonMessage) => void): Promise<string> {
  const workDir = await deps.store.tempDir('build');
  const lease = deps.store.lease();
  try {
    return await new Build(deps, req, emit, workDir, lease).run();
  } finally {
    await lease.release();
    await rm(workDir, { recursive: true, force: true });
  }
}
