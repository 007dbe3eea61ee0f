/**
 * The TTY side of `crun exec --tty`: crun hands the pty master over `--console-socket` by
 * SCM_RIGHTS, which Node cannot receive, so a small python3 relay takes it, copies its stdin to
 * the pty and the pty to its stdout, and applies window sizes written to its fd 3 ("rows cols\n").
 * It exits when the pty's last slave closes (EIO), i.e. when the exec'd process and its children are gone.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { internal } from '../../translate/errors.js';
import { spawnTool } from '../exec.js';

const RELAY_SOURCE = String.raw`
import array, fcntl, os, select, socket, struct, sys, termios
path = sys.argv[1]
os.chdir(os.path.dirname(path))
name = os.path.basename(path)
try:
    os.unlink(name)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(name)
srv.listen(1)
sys.stderr.write("ready\n")
sys.stderr.flush()
conn, _ = srv.accept()
fds = array.array("i")
_, anc, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(fds.itemsize))
for level, kind, data in anc:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
conn.close()
srv.close()
os.unlink(name)
if not fds:
    sys.exit(2)
master = fds[0]
def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]
watch = [master, 0, 3]
ctl = b""
while True:
    ready, _, _ = select.select(watch, [], [])
    if master in ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if not data:
            break
        write_all(1, data)
    if 0 in ready:
        data = os.read(0, 65536)
        if data:
            write_all(master, data)
        else:
            watch.remove(0)
    if 3 in ready:
        data = os.read(3, 4096)
        if not data:
            watch.remove(3)
        ctl += data
        while b"\n" in ctl:
            line, ctl = ctl.split(b"\n", 1)
            try:
                rows, cols = (int(x) for x in line.split())
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            except (ValueError, OSError):
                pass
`;

export interface ConsoleRelay {
  child: ChildProcess;
  input: Writable;
  output: Readable;
  resize(rows: number, cols: number): void;
}

/** Starts the relay listening on `socketPath` and resolves once crun may connect. */
export function startConsoleRelay(socketPath: string, python = 'python3'): Promise<ConsoleRelay> {
  const child = spawnTool(python, ['-c', RELAY_SOURCE, socketPath], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], detached: true, display: `${python} -c <console relay> ${socketPath}` });
  const [input, output, err, ctl] = [child.stdin, child.stdout, child.stderr, child.stdio[3] as Writable | null];
  if (!input || !output || !err || !ctl) throw internal('console relay: missing stdio');
  input.on('error', () => undefined);
  ctl.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (b: Buffer): void => {
      text += b.toString();
      if (!text.includes('ready\n')) return;
      err.off('data', onData);
      err.resume();
      resolve({ child, input, output, resize: (rows, cols) => void ctl.write(`${rows} ${cols}\n`) });
    };
    err.on('data', onData);
    child.once('error', (e) => reject(internal(`console relay (${python}): ${e.message}`)));
    child.once('exit', (code) => reject(internal(`console relay exited (${code}) before it listened: ${text.trim()}`)));
  });
}
