/**
 * The `container_config` and `container` dockerd's classic builder records in each step's image
 * (API < 1.45 shows them as ContainerConfig and Container): the step's config with the command the
 * step ran as Cmd and the parent image as Image. A RUN step records the command it ran (with the
 * build args in front, `|N K=V…`, as in its history line) and its container; any other step a
 * `#(nop) ` comment command and no container, as moby's withCmdCommentString makes it. Pure.
 */
import type { ImageContainerConfig } from './image-changes.js';

const NOP_PREFIX = '/bin/sh -c #(nop) ';

export interface StepRecord {
  container_config: ImageContainerConfig;
  container?: string;
}

export interface StepRun {
  /** The command the RUN step's container ran, build args in front. */
  cmd: string[];
  container: string;
}

export function stepContainerConfig(config: ImageContainerConfig, parentId: string | undefined, createdBy: string, run?: StepRun): StepRecord {
  const base = { ...config, Image: parentId ?? '' };
  if (run) return { container_config: { ...base, Cmd: run.cmd, Entrypoint: null }, container: run.container };
  // The history line is the comment command joined with spaces: "/bin/sh -c #(nop)  ENV a=b".
  const comment = createdBy.startsWith(NOP_PREFIX) ? createdBy.slice(NOP_PREFIX.length).replace(/^ /, '') : createdBy;
  return { container_config: { ...base, Cmd: ['/bin/sh', '-c', '#(nop) ', comment] } };
}
