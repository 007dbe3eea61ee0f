/**
 * The container engine's interfaces (containers, exec), beside the engine they describe. api/
 * imports them (api/services.ts re-exports them for the routes); the engine and the builder never
 * import from api/. Inputs are domain types: a container is created from a ContainerSpec
 * (translate/container-spec.ts), not from a Docker request body.
 */
import type { ContainerRecord } from '../../translate/container-record.js';
import type { ExecRequest } from '../../translate/exec-process.js';
import type { ContainerSpec } from '../../translate/container-spec.js';
import type { ExecCreateBody } from '../../openapi/exec.js';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface WaitResult {
  StatusCode: number;
  Error: { Message: string } | null;
}

/**
 * One stream's bytes as the container wrote them (a TTY container's output is all `stdout`).
 * From the log (logs, attach) a chunk holds whole log entries: lines, each with its newline, and
 * at most one partial entry (a write without a newline), which then ends the chunk; an empty
 * partial entry is a chunk of its own. Consecutive entries of one stream share a chunk unless
 * `time` is asked for. Process output (exec) is chunked as the process wrote it.
 */
export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
  /** When the entry was logged, RFC 3339 with nanoseconds as conmon recorded it; only on a logs stream with timestamps, one entry a chunk. */
  time?: string;
}

/**
 * A container's (or an exec's) output, in order. Each item is a batch (what one read gave), so a
 * fast reader does not pay a wake-up per chunk; api/ turns it into Docker's stream bytes.
 */
export interface OutputStream {
  /** Whether the output is a terminal's (Docker's raw stream) rather than two streams (multiplexed). */
  tty: boolean;
  chunks: AsyncIterable<readonly OutputChunk[]>;
}

/** A logs stream; with `details`, one entry a chunk and the attributes recorded with every entry. */
export interface LogStream extends OutputStream {
  attrs?: Record<string, string>;
}

export interface ContainerLogParams {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  timestamps: boolean;
  /** Each entry with the attributes its driver recorded (`docker logs --details`). */
  details?: boolean;
  /** "all" or a number of lines. */
  tail?: string;
  since?: string;
  until?: string;
}

export interface ContainerAttachParams {
  stdout: boolean;
  stderr: boolean;
  stream: boolean;
  logs: boolean;
  /** Forward the client's input to the container's stdin (needs OpenStdin). */
  stdin?: boolean;
  /** The `detachKeys` query; the container's or the default keys otherwise. */
  detachKeys?: string;
}

/** The input side of a hijacked stream. */
export interface SessionInput {
  write(data: Buffer): void;
  /** The client half-closed: the process's stdin is closed. */
  end(): void;
  /** The client detached (detach keys) or went away: stop forwarding; the process's stdin stays as its StdinOnce says. */
  detach(): void;
}

/** Output plus, when stdin is attached, where the client's bytes go and the keys that detach. */
export interface InteractiveStream extends OutputStream {
  stdin?: SessionInput;
  detachKeys?: Buffer;
}

export interface ExecStartOptions {
  detach: boolean;
  tty?: boolean;
  /** [height, width] */
  consoleSize?: [number, number];
}

/** An exec instance as GET /exec/{id}/json shows it (translate/exec-process.ts shapes it). */
export interface ExecDetails {
  id: string;
  containerId: string;
  running: boolean;
  /** Null until it has exited. */
  exitCode: number | null;
  /** The host pid while it runs, 0 otherwise. */
  pid: number;
  /** What exec create asked for. */
  request: ExecRequest;
}

export interface ExecService {
  /** The new exec instance's ID. */
  create(containerRef: string, body: ExecCreateBody | undefined): Promise<string>;
  /** Detached: resolves once the process runs. Attached: the stream ends when the process has exited and its output is flushed. */
  start(id: string, opts: ExecStartOptions, signal?: AbortSignal): Promise<InteractiveStream | undefined>;
  resize(id: string, height: number, width: number): Promise<void>;
  inspect(id: string): Promise<ExecDetails>;
}

export interface ContainerCreateParams {
  /** As the client gave it; generated when absent. */
  name?: string;
  spec: ContainerSpec;
}

/** dockerd's SizeRw (the writable layer) and SizeRootFs (that plus the image's layers), in bytes. */
export interface ContainerSizes {
  rw: number;
  rootFs: number;
}

/**
 * A container as list and inspect answer it: the engine's record (read, never changed, by
 * translate/container-json.ts), with its sizes when asked for.
 */
export interface ContainerView {
  record: ContainerRecord;
  sizes?: ContainerSizes;
}

export interface ContainerDetails extends ContainerView {
  /** Its exec instances that still exist, oldest first. */
  execIds: string[];
}

export interface ContainerPruneResult {
  /** Container IDs, in the order removed. */
  deleted: string[];
  spaceReclaimed: number;
}

export interface ContainerService {
  /** Every check dockerd makes at create (the OCI spec's dry run included) runs here; `warnings` as dockerd gives them. */
  create(params: ContainerCreateParams): Promise<{ id: string; warnings: string[] }>;
  /** Throws not-modified when the container already runs. */
  start(ref: string): Promise<void>;
  /** Validates at once; the returned promise settles when the condition is met. */
  wait(ref: string, condition: WaitCondition, signal?: AbortSignal): Promise<{ result: Promise<WaitResult> }>;
  attach(ref: string, params: ContainerAttachParams, signal?: AbortSignal): Promise<InteractiveStream>;
  /**
   * The output the container writes from now until its next exit (attach's `stream` without
   * `logs`); call it before start to see everything the run writes.
   */
  output(ref: string, params: { stdout: boolean; stderr: boolean }, signal?: AbortSignal): Promise<OutputStream>;
  /** TTY containers only; others answer as dockerd does. */
  resize(ref: string, height: number, width: number): Promise<void>;
  logs(ref: string, params: ContainerLogParams, signal?: AbortSignal): Promise<LogStream>;
  /** Newest first. `size` adds the sizes, which cost a walk of each writable layer. */
  list(params: { all: boolean; limit?: number; filters?: string; size?: boolean }): Promise<ContainerView[]>;
  inspect(ref: string, opts?: { size?: boolean }): Promise<ContainerDetails>;
  stop(ref: string, opts: { timeout?: number; signal?: string }): Promise<void>;
  kill(ref: string, signal?: string): Promise<void>;
  remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void>;
  /** `?link=true`: removes the legacy link named `parent/alias`, not a container. */
  removeLink(ref: string): Promise<void>;
  restart(ref: string, opts: { timeout?: number; signal?: string }): Promise<void>;
  rename(ref: string, name: string): Promise<void>;
  prune(filters?: string): Promise<ContainerPruneResult>;
}
