/**
 * crun's words for a process it could not start, in the form dockerd reports them (runc's
 * "exec: \"cmd\": …" text, prefixed as dockerd's containerd path does). The docker CLI picks `run`'s
 * exit status from these strings (127 for "executable file not found" / "no such file or
 * directory", 126 for "permission denied" / "is a directory"), and dockerd answers 400 for them.
 */

export interface StartFailure {
  message: string;
  /** The exit code dockerd records for the container (or exec): 127 not found, 126 not runnable. */
  exitCode: 127 | 126;
}

const NOT_FOUND = /executable file `([^`]*)` not found in \$PATH/;
const NOT_RUNNABLE = /open executable: (Permission denied|Operation not permitted)/;
const IS_DIR = /open executable: Is a directory/;

/** How dockerd would word crun's start failure; undefined for failures that are not about the command. */
export function startFailure(crunMessage: string, command: string, prefix = 'OCI runtime create failed: unable to start container process'): StartFailure | undefined {
  const wrap = (what: string): string => `${prefix}: exec: ${JSON.stringify(command)}: ${what}: unknown`;
  const notFound = NOT_FOUND.exec(crunMessage);
  if (notFound) {
    const cmd = notFound[1] || command;
    // runc looks a name up in $PATH, but stats a path: its words differ.
    const what = cmd.includes('/') ? `stat ${cmd}: no such file or directory` : 'executable file not found in $PATH';
    return { message: wrap(what).replace(JSON.stringify(command), JSON.stringify(cmd)), exitCode: 127 };
  }
  if (IS_DIR.test(crunMessage)) return { message: wrap('is a directory'), exitCode: 126 };
  if (NOT_RUNNABLE.test(crunMessage)) return { message: wrap('permission denied'), exitCode: 126 };
  return undefined;
}

/**
 * The exit code dockerd records for a container whose start failed: 127 and 126 as above for any
 * runtime message that says so (a missing mount source too), 128 for the rest.
 */
export function startExitCode(crunMessage: string, command: string): number {
  const failure = startFailure(crunMessage, command);
  if (failure) return failure.exitCode;
  return /not found|no such file/i.test(crunMessage) ? 127 : /permission denied/i.test(crunMessage) ? 126 : 128;
}

/**
 * An exec whose command could not be started: dockerd writes the runtime's words (with its exec
 * prefix) into the exec's stdout and records 126 whatever the cause — its exec start marks every
 * failed start 126, unlike a container's start (127 for a missing command).
 */
export function execStartFailure(crunMessage: string, command = ''): StartFailure | undefined {
  const failure = startFailure(crunMessage, command, 'OCI runtime exec failed: exec failed: unable to start container process');
  return failure ? { message: failure.message, exitCode: 126 } : undefined;
}
