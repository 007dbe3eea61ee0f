/**
 * Build steps get a network namespace of their own, like dockerd's RUN on its default bridge:
 * buildkitd (in the host's network namespace, so it pulls from loopback registries as Burrow's
 * puller does) runs its OCI worker in `cni` mode, and the CNI "plugins" are two small scripts
 * written here: `loopback` brings `lo` up, `burrow-pasta` attaches a pasta to the step's namespace
 * (outbound TCP/UDP through the host's stack, without mapping the gateway to the host's loopback).
 * A step cannot reach the host's loopback services or its abstract unix sockets.
 * buildkitd keeps a small pool of such namespaces ready (cniPoolSize).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface StepNetwork {
  /** The [worker.oci] lines of buildkitd.toml. */
  workerConfig: string;
}

/** A CNI result: empty lists are valid in every version go-cni asks for. */
const result = (iface: string): string =>
  `printf '{"cniVersion":"%s","interfaces":[{"name":"${iface}","sandbox":"%s"}],"ips":[]}\\n' "$version" "$CNI_NETNS"`;

function plugin(add: string, del: string): string {
  return `#!/bin/sh
# Written by Burrow (rootless/buildkit/step-network.ts): a CNI plugin for buildkitd's build steps.
set -u
config=$(cat)
version=$(printf '%s' "$config" | sed -n 's/.*"cniVersion" *: *"\\([^"]*\\)".*/\\1/p')
[ -n "$version" ] || version=1.0.0
case "\${CNI_COMMAND:-}" in
  VERSION) echo '{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}' ;;
  ADD) ${add} ;;
  DEL) ${del} ;;
  *) exit 0 ;;
esac
`;
}

export async function prepareStepNetwork(stateDir: string, pasta: string): Promise<StepNetwork> {
  const dir = join(stateDir, 'cni');
  const bin = join(dir, 'bin');
  const pids = join(dir, 'pids');
  await mkdir(bin, { recursive: true, mode: 0o700 });
  await mkdir(pids, { recursive: true, mode: 0o700 });
  const pidFile = `${pids}/$CNI_CONTAINERID.pid`;
  const loopback = plugin(`nsenter --net="$CNI_NETNS" ip link set lo up >&2 || exit 1; ${result('lo')}`, 'exit 0');
  // pasta forks into the background once the namespace is configured; it also quits by itself
  // when buildkitd unmounts the namespace. No port forwarding in either direction.
  const pastaPlugin = plugin(
    `${pasta} --config-net --quiet --ns-ifname eth0 --no-map-gw -t none -u none -T none -U none --pid "${pidFile}" --netns "$CNI_NETNS" >>"${dir}/pasta.log" 2>&1 || { echo '{"code":100,"msg":"pasta could not configure the step network"}'; exit 1; }; ${result('eth0')}`,
    `[ -f "${pidFile}" ] && kill "$(cat "${pidFile}")" 2>/dev/null; rm -f "${pidFile}"; exit 0`,
  );
  await writeFile(join(bin, 'loopback'), loopback, { mode: 0o700 });
  await writeFile(join(bin, 'burrow-pasta'), pastaPlugin, { mode: 0o700 });
  const conflist = join(dir, 'burrow.conflist');
  await writeFile(conflist, JSON.stringify({ cniVersion: '1.0.0', name: 'burrow-buildkit', plugins: [{ type: 'burrow-pasta' }] }));
  return {
    workerConfig: `[worker.oci]\n  networkMode = "cni"\n  cniConfigPath = ${JSON.stringify(conflist)}\n  cniBinaryPath = ${JSON.stringify(bin)}\n  cniPoolSize = 2\n`,
  };
}
