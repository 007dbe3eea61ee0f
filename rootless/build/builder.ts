/**
 * One classic-builder build: receive the context, parse the Dockerfile, run each stage's steps
 * (every step's result is an image, reused from the cache when its key matches), then tag. The
 * output is dockerd's: "Step n/N : …", " ---> <id>", " ---> Using cache", "Running in …".
 * RUN is run-step.ts, COPY/ADD copy-step.ts; the other instructions only change the config.
 */
import { rm } from 'node:fs/promises';
import { buildCacheKey } from '../../translate/build-cache-key.js';
import { argDeclarations } from '../../translate/dockerfile/arguments.js';
import { metadataStep, type StageState } from '../../translate/dockerfile/config-steps.js';
import { parseDockerfile, parseInstruction, type Instruction } from '../../translate/dockerfile/parser.js';
import { processWord } from '../../translate/dockerfile/shell-lex.js';
import { planStages, stepCount, type Stage } from '../../translate/dockerfile/stages.js';
import { invalidParameter } from '../../translate/errors.js';
import type { ImageContainerConfig } from '../../translate/image-changes.js';
import { familiarString, parseNormalizedNamed, withDefaultTag, type ImageRef } from '../../translate/image-ref.js';
import { parsePlatform, type Platform } from '../../translate/platform.js';
import { streamMessage, type JsonMessage } from '../../translate/pull-progress.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';
import type { Lease } from '../images/leases.js';
import { short, type BuildRequest, type BuilderDeps, type StepContext } from './build-context.js';
import { CacheSources } from './cache-from.js';
import { receiveContext } from './context.js';
import { readDockerfile, removeIgnoredBuildFiles } from './context-files.js';
import { copyStep } from './copy-step.js';
import { receiveRemoteContext } from './remote-context.js';
import { runStep } from './run-step.js';
import { BuildCancelledError } from './step-containers.js';
import { commitStep, scratchImage, storedImage, type BuildImage, type StepChange } from './step-image.js';

export type { BuildRequest, BuilderDeps } from './build-context.js';
export { BuildStepError } from './run-step.js';

class Build implements StepContext {
  /** What the client sees: everything but the image ID stays silent for a quiet build. */
  readonly show: (m: JsonMessage) => void;
  readonly out: (text: string) => void;
  private readonly stageImages: BuildImage[] = [];
  private readonly stageNames = new Map<string, number>();
  escape = '\\';
  contextDir = '';
  private consumedArgs = new Set<string>();
  /** The build's cache_from images, when it names any (and uses the cache). */
  private cacheSources: CacheSources | undefined;
  /** Running a base image's ONBUILD triggers: their steps don't print their image IDs. */
  private inTriggers = false;

  constructor(
    readonly deps: BuilderDeps,
    readonly req: BuildRequest,
    private readonly emit: (m: JsonMessage) => void,
    readonly workDir: string,
    /** Holds the base images, the images COPY --from reads and every step's image and layers until the build ends. */
    readonly lease: Lease,
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
  async commit(parent: BuildImage, change: StepChange, produce?: () => Promise<StepChange>): Promise<BuildImage> {
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
    if (inst.cmd === 'RUN') return runStep(this, inst, image, state);
    if (inst.cmd === 'COPY' || inst.cmd === 'ADD') return copyStep(this, inst, image, state, stageIndex);
    if (inst.cmd === 'FROM') throw invalidParameter('FROM is not allowed here');
    const before = new Set(state.args.keys());
    const result = metadataStep(inst, state);
    for (const k of state.args.keys()) if (!before.has(k)) this.consumedArgs.add(k);
    state.config = result.config;
    return this.commit(image, { config: result.config, createdBy: result.createdBy, ...(state.author ? { author: state.author } : {}) });
  }

  /** COPY --from: an earlier stage by name or index, else an image. */
  async fromImage(from: string, stageIndex: number): Promise<BuildImage> {
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
