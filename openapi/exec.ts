/** Exec request bodies (ExecConfig, ExecStartConfig) and the exec inspect reply, from the Engine API definitions. */
import { bool, consoleSize, str, strList, struct } from './types.js';
import type { Validated } from './validated.js';

/** ExecOptions.Cmd is a plain []string in Go (not a strslice): a bare string is refused. */
export const execCreateRequestSchema = {
  $id: 'ExecConfig',
  ...struct({
    User: str,
    Privileged: bool,
    Tty: bool,
    ConsoleSize: consoleSize,
    AttachStdin: bool,
    AttachStderr: bool,
    AttachStdout: bool,
    Detach: bool,
    DetachKeys: str,
    Env: strList,
    WorkingDir: str,
    Cmd: strList,
  }),
} as const;

/** ExecConfig as api/validate.ts hands it on (openapi/validated.ts). */
export type ExecCreateBody = Validated<typeof execCreateRequestSchema>;

export const execStartRequestSchema = {
  $id: 'ExecStartConfig',
  ...struct({ Detach: bool, Tty: bool, ConsoleSize: consoleSize }),
} as const;

const rstr = { type: 'string' } as const;
const rbool = { type: 'boolean' } as const;

export const execCreateResponseSchema = {
  $id: 'IDResponse',
  type: 'object',
  required: ['Id'],
  properties: { Id: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
} as const;

export const execInspectSchema = {
  $id: 'ExecInspectResponse',
  type: 'object',
  required: ['ID', 'Running', 'ExitCode', 'ProcessConfig', 'OpenStdin', 'OpenStderr', 'OpenStdout', 'CanRemove', 'ContainerID', 'DetachKeys', 'Pid'],
  properties: {
    ID: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    Running: rbool,
    // null until the process has exited, as in dockerd.
    ExitCode: { type: ['integer', 'null'] },
    ProcessConfig: {
      type: 'object',
      required: ['tty', 'entrypoint', 'arguments', 'privileged'],
      properties: { tty: rbool, entrypoint: rstr, arguments: { type: 'array', items: rstr }, privileged: rbool, user: rstr },
    },
    OpenStdin: rbool,
    OpenStderr: rbool,
    OpenStdout: rbool,
    CanRemove: rbool,
    ContainerID: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    DetachKeys: rstr,
    Pid: { type: 'integer', minimum: 0 },
  },
} as const;
