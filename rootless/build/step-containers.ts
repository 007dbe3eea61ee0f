/**
 * How a RUN step gets its container: created from the step's parent image with the build's
 * network (the host's for now), started with its output attached, waited for. The builder only
 * sees this small interface, so container commit can replace the upper-dir reading later.
 */
import { join } from 'node:path';
import type { ContainerService } from '../../api/services.js';

export interface StepRunRequest {
  image: string;
  /** The full process: shell + command, or the exec form. */
  cmd: string[];
  env: string[];
  user: string;
  workingDir: string;
  output: (text: string) => void;
}

export interface StepContainers {
  /** Creates and runs the container; the container is left for the caller to commit and remove. */
  run(req: StepRunRequest, created: (id: string) => void): Promise<{ id: string; exitCode: number }>;
  /** The container's overlay upper dir (its changes once it has exited). */
  upperDir(id: string): string;
  remove(id: string): Promise<void>;
}

/** Splits Docker's multiplexed stream (8-byte headers) back into text. */
export function demuxer(out: (text: string) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      out(pending.subarray(8, 8 + size).toString('utf8'));
      pending = pending.subarray(8 + size);
    }
  };
}

export class ServiceStepContainers implements StepContainers {
  constructor(
    private readonly containers: ContainerService,
    /** <dataRoot>/containers: where each container's dir (and upper/) lives. */
    private readonly containersRoot: string,
  ) {}

  async run(req: StepRunRequest, created: (id: string) => void): Promise<{ id: string; exitCode: number }> {
    const { Id: id } = await this.containers.create({
      body: {
        Image: req.image,
        Cmd: req.cmd,
        Entrypoint: [''],
        Env: req.env,
        User: req.user,
        WorkingDir: req.workingDir,
        AttachStdout: true,
        AttachStderr: true,
        Labels: {},
        HostConfig: { NetworkMode: 'host' },
      },
    });
    created(id);
    const exit = await this.containers.wait(id, 'next-exit');
    const attached = await this.containers.attach(id, { stdout: true, stderr: true, stream: true, logs: false });
    const feed = attached.tty ? (b: Buffer): void => req.output(b.toString('utf8')) : demuxer(req.output);
    const pumping = (async () => {
      for await (const chunk of attached.chunks) feed(chunk);
    })();
    await this.containers.start(id);
    const result = await exit.result;
    await pumping.catch(() => undefined);
    return { id, exitCode: result.StatusCode };
  }

  upperDir(id: string): string {
    return join(this.containersRoot, id, 'upper');
  }

  async remove(id: string): Promise<void> {
    await this.containers.remove(id, { force: true, volumes: true });
  }
}
