/**
 * How a RUN step gets its container: created from the step's parent image with the HostConfig the
 * build asked for (network, extra hosts, resources: dockerd's hostConfigFromOptions), started with
 * its output attached, waited for. A cancelled build kills and removes the running container, as
 * dockerd's containerManager.Run does. The builder only sees this small interface, so container
 * commit can replace the upper-dir reading later.
 */
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { ContainerService, OutputChunk } from '../containers/interface.js';
import type { HostConfigSpec } from '../../translate/container-spec.js';

/**
 * The HostConfig of RUN containers, from POST /build's query as dockerd's hostConfigFromOptions
 * builds it: only what was asked for is set, so the container service's defaults apply otherwise.
 */
export type RunHostConfig = Pick<
  HostConfigSpec,
  'ExtraHosts' | 'Memory' | 'MemorySwap' | 'CpuShares' | 'CpuPeriod' | 'CpuQuota' | 'CpusetCpus' | 'CpusetMems' | 'CgroupParent' | 'ShmSize' | 'Ulimits'
> & {
  /** "" (the default bridge), "default", "host", "none", a network name or ID, "container:<id>". */
  NetworkMode: string;
};

export interface StepRunRequest {
  image: string;
  /** The full process: shell + command, or the exec form. */
  cmd: string[];
  env: string[];
  user: string;
  workingDir: string;
  hostConfig: RunHostConfig;
  /** The step's stdout, as it comes. */
  output: (text: string) => void;
  /** The step's stderr, as it comes. */
  errorOutput: (text: string) => void;
  /** The build's lifetime: aborted when the client went away. */
  signal?: AbortSignal;
}

/** The build was cancelled (the client disconnected); dockerd's errCancelled. */
export class BuildCancelledError extends Error {
  constructor() {
    super('build cancelled');
  }
}

export interface StepContainers {
  /**
   * Creates and runs the container; the container is left for the caller to commit and remove,
   * unless the build is cancelled meanwhile: then it is removed here and BuildCancelledError thrown.
   */
  run(req: StepRunRequest, created: (id: string, warnings: string[]) => void): Promise<{ id: string; exitCode: number }>;
  /** The container's overlay upper dir (its changes once it has exited). */
  upperDir(id: string): string;
  remove(id: string): Promise<void>;
}

/** Text from a container's output chunks, each stream decoded on its own so a character split across chunks survives. */
export function textOutput(out: (text: string) => void, err: (text: string) => void = out): (chunk: OutputChunk) => void {
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  return (chunk) => {
    const text = decoders[chunk.stream].write(chunk.data);
    if (text === '') return;
    if (chunk.stream === 'stderr') err(text);
    else out(text);
  };
}

export class ServiceStepContainers implements StepContainers {
  constructor(
    private readonly containers: ContainerService,
    /** <dataRoot>/containers: where each container's dir (and upper/) lives. */
    private readonly containersRoot: string,
  ) {}

  async run(req: StepRunRequest, created: (id: string, warnings: string[]) => void): Promise<{ id: string; exitCode: number }> {
    const { signal } = req;
    if (signal?.aborted) throw new BuildCancelledError();
    const { id, warnings } = await this.containers.create({
      spec: {
        config: {
          Image: req.image,
          Cmd: req.cmd,
          Entrypoint: [''],
          Env: req.env,
          User: req.user,
          WorkingDir: req.workingDir,
          AttachStdout: true,
          AttachStderr: true,
          Labels: {},
        },
        hostConfig: { ...req.hostConfig },
        networkingConfig: null,
      },
    });
    created(id, warnings);
    let onAbort: (() => void) | undefined;
    const cancelled = new Promise<'cancelled'>((resolve) => {
      onAbort = () => resolve('cancelled');
      if (signal?.aborted) resolve('cancelled');
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      if (signal?.aborted) throw new BuildCancelledError();
      const exit = await this.containers.wait(id, 'next-exit');
      exit.result.catch(() => undefined);
      const output = await this.containers.output(id, { stdout: true, stderr: true });
      const feed = textOutput(req.output, req.errorOutput);
      const pumping = (async () => {
        for await (const batch of output.chunks) for (const chunk of batch) feed(chunk);
      })();
      pumping.catch(() => undefined);
      await this.containers.start(id);
      const result = await Promise.race([exit.result, cancelled]);
      if (result === 'cancelled') throw new BuildCancelledError();
      await pumping.catch(() => undefined);
      return { id, exitCode: result.StatusCode };
    } catch (err) {
      if (!(err instanceof BuildCancelledError)) throw err;
      // dockerd kills and removes the step's container on cancel, whatever rm/forcerm say.
      await this.remove(id).catch(() => undefined);
      throw err;
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  upperDir(id: string): string {
    return join(this.containersRoot, id, 'upper');
  }

  async remove(id: string): Promise<void> {
    await this.containers.remove(id, { force: true, volumes: true });
  }
}
