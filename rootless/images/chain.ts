import { createHash } from 'node:crypto';

/** The chain ID of a layer `diffId` on top of the chain `parent` ("" for a base layer). */
export function nextChainId(parent: string, diffId: string): string {
  return parent === '' ? diffId : 'sha256:' + createHash('sha256').update(`${parent} ${diffId}`).digest('hex');
}

/** Layer identity as dockerd computes it: each layer's ID covers every layer beneath it. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(nextChainId(out[out.length - 1] ?? '', d));
  return out;
}

export const hexOf = (digest: string): string => digest.replace(/^sha256:/, '');
