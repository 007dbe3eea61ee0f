/**
 * crun compiles a container's seccomp profile with libseccomp on every `crun create`: 10-15 ms of
 * CPU for dockerd's default profile, most of what create costs. It also accepts a compiled filter
 * in the `run.oci.seccomp_bpf_data` annotation (base64) and then only writes it out. So the first
 * container with a given profile pays the compile; the filter crun leaves in its state directory
 * (`<state root>/<id>/seccomp.bpf`, which `crun exec` applies too) is handed to every later
 * container whose profile is the same, byte for byte. Kept in memory only: a new daemon, which may
 * run a new crun, libseccomp or kernel, compiles again.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OciSpec } from '../../translate/oci-types.js';

export const SECCOMP_BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';

/** Distinct profiles a daemon sees are few (the default one per capability set, a custom one now and then). */
const MAX_PROFILES = 32;
/** A classic BPF instruction is 8 bytes; the kernel takes at most 4096 of them. */
const BPF_INSN = 8;
const MAX_BPF_BYTES = 4096 * BPF_INSN;

export class SeccompCache {
  private readonly filters = new Map<string, string>();

  constructor(private readonly stateRoot: string) {}

  /**
   * Gives `spec` the compiled filter of its profile when one is known; returns the profile's key
   * when the filter is still to be learnt after the create (see `learn`), else undefined.
   */
  prepare(spec: OciSpec): string | undefined {
    const profile = spec.linux.seccomp;
    // A filter the user passed stays theirs (their annotation wins, as crun reads only that one).
    if (!profile || spec.annotations?.[SECCOMP_BPF_ANNOTATION] !== undefined) return undefined;
    const key = createHash('sha256').update(JSON.stringify(profile)).digest('hex');
    const known = this.filters.get(key);
    if (known === undefined) return key;
    spec.annotations = { ...spec.annotations, [SECCOMP_BPF_ANNOTATION]: known };
    return undefined;
  }

  /** After a successful `crun create` of `id`: keeps the filter crun compiled for the profile `key`. */
  async learn(key: string, id: string): Promise<void> {
    if (this.filters.has(key)) return;
    const bpf = await readFile(join(this.stateRoot, id, 'seccomp.bpf')).catch(() => undefined);
    if (!bpf || bpf.length === 0 || bpf.length % BPF_INSN !== 0 || bpf.length > MAX_BPF_BYTES) return;
    if (this.filters.size >= MAX_PROFILES) this.filters.delete(this.filters.keys().next().value as string);
    this.filters.set(key, bpf.toString('base64'));
  }
}
