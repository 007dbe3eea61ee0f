/**
 * The systemd user unit `burrow install` writes. Pure. KillMode=process: stopping or restarting the
 * service signals the daemon alone, as with dockerd's unit; the namespace holder, conmon and the
 * containers it runs stay up and the next daemon adopts them.
 */
export interface UnitParams {
  /** Absolute path of bin/burrow. */
  burrowBin: string;
  /** PATH for the daemon: where crun, conmon, pasta and python3 are found. */
  path: string;
  /** Extra `burrow daemon` arguments, already validated. */
  args?: readonly string[];
}

/** systemd's quoting for one ExecStart word: double quotes when it needs any, with \\ and " escaped. */
function execWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/[\\"]/g, '\\$&')}"`;
}

export function userUnit(p: UnitParams): string {
  const exec = [p.burrowBin, 'daemon', ...(p.args ?? [])].map(execWord).join(' ');
  return `[Unit]
Description=Burrow, a rootless Docker Engine API server

[Service]
Type=simple
ExecStart=${exec}
Environment=${execWord(`PATH=${p.path}`)}
Restart=on-failure
RestartSec=2
TimeoutStopSec=60
KillMode=process
Delegate=yes
# newuidmap/newgidmap are setuid: the holder needs them, so no NoNewPrivileges.

[Install]
WantedBy=default.target
`;
}
