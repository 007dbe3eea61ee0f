/**
 * A container's streams: logs (followed until it stops), attach (stdin to conmon's socket, output
 * from the log), and TTY resize. Only the state check and the stdin hand-over take the container's
 * lock; the streams themselves live outside it, told of the exit by the waiters.
 */
import type { ContainerAttachParams, ContainerLogParams, InteractiveStream, LogStream, OutputStream } from './interface.js';
import { logAttributes } from '../../translate/log-attrs.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../../translate/detach-keys.js';
import { invalidParameter } from '../../translate/errors.js';
import { parseTail, parseTimeFilter } from '../../translate/log-frames.js';
import { AttachInput } from './attach-input.js';
import type { ContainerCore } from './core.js';
import { logSize, readLog } from './log-reader.js';
import { runtimeFiles } from './runtime.js';

export async function containerLogs(core: ContainerCore, ref: string, params: ContainerLogParams, signal?: AbortSignal): Promise<LogStream> {
  if (!params.stdout && !params.stderr) throw invalidParameter('Bad parameters: you must choose at least one stream');
  const rec = core.store.find(ref);
  core.logKeeper.checkReadable(rec);
  const now = new Date();
  const follow = params.follow && (rec.state.status === 'running' || core.gate.inPhase(rec.id, 'starting'));
  const chunks = readLog(rec.paths.log, {
    stdout: params.stdout,
    stderr: params.stderr,
    // The details go before each entry, as timestamps do.
    timestamps: params.timestamps || params.details === true,
    tail: parseTail(params.tail),
    since: parseTimeFilter(params.since, now),
    until: parseTimeFilter(params.until, now),
    ...(follow ? { followUntil: core.waiters.add(rec.id, 'not-running', signal) } : {}),
    ...(signal ? { signal } : {}),
  });
  if (!params.details) return { tty: rec.config.Tty === true, chunks };
  // Recorded by dockerd at each write from what the container was created with, which does not change.
  const attrs = logAttributes({
    logConfig: rec.hostConfig.LogConfig,
    labels: rec.config.Labels ?? {},
    env: rec.config.Env ?? [],
    id: rec.id,
    name: rec.name.replace(/^\//, ''),
    imageId: rec.imageId,
    imageName: rec.config.Image ?? '',
  });
  return { tty: rec.config.Tty === true, chunks, attrs };
}

export async function attachContainer(core: ContainerCore, ref: string, params: ContainerAttachParams, signal?: AbortSignal): Promise<InteractiveStream> {
  const detachKeys = parseDetachKeys(params.detachKeys || DEFAULT_DETACH_KEYS);
  // Under the lock: a start cannot slip between the look at the state and the stdin hand-over.
  const { rec, stdin, until } = await core.gate.must(ref, 'attach', async (r) => {
    let input: AttachInput | undefined;
    if (params.stdin && r.config.OpenStdin) {
      input = new AttachInput();
      if (r.state.status === 'running') input.connect(core.deps.runtime.attachSocket(runtimeFiles(core.dir(r.id))));
      else core.pendingInputs.set(r.id, [...(core.pendingInputs.get(r.id) ?? []).filter((i) => !i.closed), input]);
    }
    core.emit(r, 'attach');
    // An attach before start (docker run) follows the run that is about to begin.
    return { rec: r, stdin: input, until: core.waiters.add(r.id, 'next-exit', signal) };
  });
  const tty = rec.config.Tty === true;
  const from = params.logs ? 0 : await logSize(rec.paths.log);
  const chunks =
    params.stream || params.logs
      ? readLog(rec.paths.log, {
          stdout: params.stdout,
          stderr: params.stderr,
          timestamps: false,
          fromOffset: from,
          ...(params.stream ? { followUntil: until } : {}),
          ...(signal ? { signal } : {}),
        })
      : (async function* () {})();
  return { tty, chunks, ...(stdin ? { stdin, detachKeys } : {}) };
}

/** attach's stream (not its logs): what the container writes until its next exit. */
export async function containerOutput(core: ContainerCore, ref: string, params: { stdout: boolean; stderr: boolean }, signal?: AbortSignal): Promise<OutputStream> {
  const out = await attachContainer(core, ref, { ...params, stream: true, logs: false }, signal);
  return { tty: out.tty, chunks: out.chunks };
}

/** Under the start's lock: conmon's attach socket exists once the container is created; clients that attached early get it. */
export function connectInputs(core: ContainerCore, id: string): void {
  const inputs = core.pendingInputs.get(id) ?? [];
  core.pendingInputs.delete(id);
  const path = core.deps.runtime.attachSocket(runtimeFiles(core.dir(id)));
  for (const input of inputs) input.connect(path);
}

export async function resizeContainer(core: ContainerCore, ref: string, height: number, width: number): Promise<void> {
  await core.gate.must(ref, 'resize', async (rec) => {
    if (rec.config.Tty !== true) return;
    await core.deps.runtime.resize(runtimeFiles(core.dir(rec.id)), height, width);
  });
}
