/**
 * A RUN step: a container from the step's image runs the command with the build's HostConfig, its
 * output goes to the build's stream, and its changes (the container's upper dir) become the layer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { commandLine } from '../../translate/dockerfile/arguments.js';
import { envOf, runArgs, shellOf, type StageState } from '../../translate/dockerfile/config-steps.js';
import type { Instruction } from '../../translate/dockerfile/parser.js';
import { invalidParameter } from '../../translate/errors.js';
import { stageUpperDir } from '../containers/commit-layer.js';
import { short, type StepContext } from './build-context.js';
import { ingestDir } from './ingest-dir.js';
import type { BuildImage } from './step-image.js';
import { requiresBuildKit } from '../../translate/dockerfile/instruction-flags.js';

/** A step that failed with an exit code, which the stream's errorDetail carries. */
export class BuildStepError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

/** RUN: the step's container runs, its changes become the layer (or the cache has the result already). */
export async function runStep(build: StepContext, inst: Instruction, image: BuildImage, state: StageState): Promise<BuildImage> {
  // The flags parse (buildkit's parser knows them); dockerd's classic builder then refuses the first.
  for (const f of Object.keys(inst.flags)) throw requiresBuildKit(f);
  const cmd = commandLine(inst, shellOf(state.config));
  const args = runArgs(state);
  const createdBy = `${args.length > 0 ? `|${args.length} ${args.join(' ')} ` : ''}${cmd.join(' ')}`;
  const config = state.config;
  return build.commit(image, { config, createdBy }, async () => {
    if (!image.id) throw invalidParameter('Please provide a source image with `from` prior to run');
    let containerId: string | undefined;
    let removed = false;
    const removeContainer = async (): Promise<void> => {
      if (!containerId || removed) return;
      removed = true;
      await build.deps.containers.remove(containerId);
    };
    try {
      const { exitCode } = await build.deps.containers.run(
        {
          image: image.id,
          cmd,
          env: [...envOf(config), ...args],
          user: typeof config.User === 'string' ? config.User : '',
          workingDir: typeof config.WorkingDir === 'string' ? config.WorkingDir : '',
          hostConfig: build.req.runHostConfig,
          output: build.out,
          // dockerd's classic builder sends a step's stderr in the same `stream` messages, each
          // write wrapped in the terminal's bright red (streamformatter.NewStderrWriter).
          errorOutput: (text) => build.out(`\x1b[91m${text}\x1b[0m`),
          ...(build.req.signal ? { signal: build.req.signal } : {}),
        },
        (id, warnings) => {
          containerId = id;
          for (const w of warnings) build.out(` ---> [Warning] ${w}\n`);
          build.out(` ---> Running in ${short(id)}\n`);
        },
      );
      if (exitCode !== 0) throw new BuildStepError(`The command '${cmd.join(' ')}' returned a non-zero code: ${exitCode}`, exitCode);
      // Staged through hard links, so a kept container (rm=0) keeps its upper dir intact.
      const staging = await mkdtemp(join(build.workDir, 'upper-'));
      const entries = await stageUpperDir(build.deps.containers.upperDir(containerId as string), staging);
      // A step that changed nothing adds no layer: history marks it empty, as dockerd's commit does.
      const layer = entries > 0 ? await ingestDir(build.deps.store, staging, build.workDir, image.config.rootfs?.diff_ids ?? [], build.lease) : undefined;
      await rm(staging, { recursive: true, force: true });
      if (build.req.rm) {
        await removeContainer();
        build.out(`Removing intermediate container ${short(containerId as string)}\n`);
      }
      const run = { cmd: [...(args.length > 0 ? [`|${args.length}`, ...args] : []), ...cmd], container: containerId as string };
      return { config, createdBy, run, ...(layer ? { layer } : {}) };
    } finally {
      // A failed step leaves nothing behind unless the client asked to keep containers.
      if (build.req.rm || build.req.forcerm) await removeContainer().catch(() => undefined);
    }
  });
}
