import { afterAll, describe, expect, it } from 'vitest';
import { dockerCli, runProcess } from './harness/clients.js';
import { isolatedTestbed } from './harness/isolated.js';

// docker-py 7.x from PyPI, in the virtualenv scripts/install-python-clients.sh makes, run through the
// `burrow-tools-python` wrapper it puts on PATH. Debian's docker-py 5 keeps its own tests elsewhere.
const bed = await isolatedTestbed();
const docker = dockerCli(bed.dockerHost);
const busybox = bed.images.busybox.reference;
const name = `py7-${process.pid}`;

afterAll(async () => {
  await docker(['rm', '-f', name]);
});

const py7 = (script: string) => runProcess('burrow-tools-python', ['-c', script], { env: { DOCKER_HOST: bed.dockerHost }, timeoutMs: 120_000 });

describe('docker-py 7', () => {
  it('is the 7.x from PyPI, and talks to Burrow: version and ping', async () => {
    const r = await py7(`
import docker
c = docker.from_env()
print(docker.__version__)
print(c.ping(), c.version()['ApiVersion'])
`);
    expect(r.stderr).toBe('');
    const [version, ping] = r.stdout.trim().split('\n');
    expect(version).toMatch(/^7\./);
    expect(ping).toMatch(/^True 1\.\d+$/);
  });

  it('pulls from the local registry, runs, reads logs, exec_run, put/get archive, and removes', async () => {
    const repo = busybox.slice(0, busybox.lastIndexOf(':'));
    const tag = busybox.slice(busybox.lastIndexOf(':') + 1);
    const r = await py7(`
import docker, io, tarfile, json
c = docker.from_env()
img = c.images.pull(${JSON.stringify(repo)}, tag=${JSON.stringify(tag)})
print('pulled', ${JSON.stringify(busybox)} in img.tags)
ctr = c.containers.run(${JSON.stringify(busybox)}, ['sh', '-c', 'echo hello-py7; echo to-err >&2; exec sleep 300'],
                       name=${JSON.stringify(name)}, detach=True, labels={'client': 'docker-py7'})
ctr.reload()
print('status', ctr.status, ctr.labels['client'])
import time
for _ in range(50):
    if b'to-err' in ctr.logs(): break
    time.sleep(0.1)
print('logs', json.dumps(ctr.logs(stdout=True, stderr=False).decode()), json.dumps(ctr.logs(stdout=False, stderr=True).decode()))
# sleep: docker-py loses frames that arrive with the 101 head (docker/docker-py#3332), dockerd or not.
res = ctr.exec_run(['sh', '-c', 'sleep 0.2; echo $GREETING from $(pwd); exit 3'], environment={'GREETING': 'hi'}, workdir='/tmp')
print('exec', res.exit_code, res.output.decode().strip())
out, err = ctr.exec_run(['sh', '-c', 'sleep 0.2; echo o; echo e >&2'], demux=True).output
print('demux', out.decode().strip(), err.decode().strip())
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode='w') as t:
    data = b'from docker-py 7\\n'
    info = tarfile.TarInfo('py7.txt'); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
print('put', ctr.put_archive('/tmp', buf.getvalue()))
stream, stat = ctr.get_archive('/tmp/py7.txt')
with tarfile.open(fileobj=io.BytesIO(b''.join(stream))) as t:
    print('get', stat['name'], stat['size'], t.extractfile('py7.txt').read().decode().strip())
print('listed', [x.name for x in c.containers.list(filters={'label': 'client=docker-py7'})])
ctr.stop(timeout=1)
ctr.reload()
print('stopped', ctr.status, ctr.attrs['State']['ExitCode'])
ctr.remove()
try:
    c.containers.get(${JSON.stringify(name)})
    print('still there')
except docker.errors.NotFound:
    print('removed')
`);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      'pulled True',
      'status running docker-py7',
      'logs "hello-py7\\n" "to-err\\n"',
      'exec 3 hi from /tmp',
      'demux o e',
      'put True',
      'get py7.txt 17 from docker-py 7',
      `listed ['${name}']`,
      'stopped exited 137',
      'removed',
    ]);
  });
});
