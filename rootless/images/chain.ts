import { createHash } from 'node:crypto';

/** Layer identity as dockerd computes it: each layer's ID covers every layer beneath it. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : 'sha256:' + createHash('sha256').update(`${prev} ${d}`).digest('hex'));
  }
  return out;
}

export const hexOf = (digest: string): string => digest.replace(/^sha256:/, '');
