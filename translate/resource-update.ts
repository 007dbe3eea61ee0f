/**
 * POST /containers/{id}/update as dockerd merges it (container.UpdateContainer): zero fields leave
 * the stored value alone, NanoCpus and CpuPeriod/CpuQuota exclude each other across updates, and
 * the restart policy is replaced when given.
 */
import type { ContainerUpdateBody } from '../openapi/containers.js';
import { conflict, invalidParameter } from './errors.js';
import type { ResourceRequest } from './oci-limits.js';
import { validateRestartPolicy, type RestartPolicy } from './restart-policy.js';

/** The update body's fields an update applies (of the validated body, openapi/containers.ts). */
const UPDATE_FIELDS = [
  'Memory', 'MemorySwap', 'MemoryReservation', 'KernelMemory', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'BlkioWeight',
  'CpuRealtimePeriod', 'CpuRealtimeRuntime', 'PidsLimit', 'CpusetCpus', 'CpusetMems', 'RestartPolicy',
] as const satisfies readonly (keyof ContainerUpdateBody)[];

export type UpdateRequest = Pick<ContainerUpdateBody, (typeof UPDATE_FIELDS)[number]>;

/** The stored HostConfig fields an update reads and replaces. */
export interface UpdatableHostConfig extends ResourceRequest {
  AutoRemove?: boolean;
  RestartPolicy?: RestartPolicy;
}

export interface MergedUpdate<T extends UpdatableHostConfig> {
  hostConfig: T;
  /** The update set PidsLimit to unlimited, which the OCI resources cannot say on their own. */
  pidsUnlimited: boolean;
  warnings: string[];
}

/** The fields of a validated update body that an update applies; the schema has checked their types. */
export function parseUpdateRequest(body: ContainerUpdateBody | undefined): UpdateRequest {
  const out: Record<string, unknown> = {};
  for (const k of UPDATE_FIELDS) if (body?.[k] !== undefined) out[k] = body[k];
  return out as UpdateRequest;
}

/**
 * dockerd stores MemorySwap = 2 × Memory at create; Burrow's records keep the request's 0 and
 * double at spec time, so "the swap limit in force" is derived here.
 */
function swapInForce(hc: UpdatableHostConfig): number | undefined {
  const swap = hc.MemorySwap ?? 0;
  if (swap !== 0) return swap < 0 ? undefined : swap;
  const mem = hc.Memory ?? 0;
  return mem > 0 ? mem * 2 : undefined;
}

export function mergeUpdate<T extends UpdatableHostConfig>(current: T, u: UpdateRequest): MergedUpdate<T> {
  const hc: T = { ...current };
  const warnings: string[] = [];
  const nano = u.NanoCpus ?? 0;
  if (nano > 0 && (hc.CpuPeriod ?? 0) > 0 && !u.CpuPeriod) throw conflict('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if (nano > 0 && (hc.CpuQuota ?? 0) > 0 && !u.CpuQuota) throw conflict('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
  if ((u.CpuPeriod ?? 0) > 0 && (hc.NanoCpus ?? 0) > 0 && !nano) throw conflict('Conflicting options: NanoCPUs cannot be updated as CPU Period has already been set');
  if ((u.CpuQuota ?? 0) > 0 && (hc.NanoCpus ?? 0) > 0 && !nano) throw conflict('Conflicting options: NanoCPUs cannot be updated as CPU Quota has already been set');
  if (u.BlkioWeight) hc.BlkioWeight = u.BlkioWeight;
  if (u.CpuShares) hc.CpuShares = u.CpuShares;
  if (nano) hc.NanoCpus = nano;
  if (u.CpuPeriod) hc.CpuPeriod = u.CpuPeriod;
  if (u.CpuQuota) hc.CpuQuota = u.CpuQuota;
  if (u.CpusetCpus) hc.CpusetCpus = u.CpusetCpus;
  if (u.CpusetMems) hc.CpusetMems = u.CpusetMems;
  if (u.Memory) {
    const swap = swapInForce(current);
    if (swap !== undefined && u.Memory > swap && !u.MemorySwap) {
      throw conflict('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    // Keep the swap in force: left at 0 the spec would double the new memory instead.
    if (!u.MemorySwap && (current.MemorySwap ?? 0) === 0 && swap !== undefined) hc.MemorySwap = swap;
    hc.Memory = u.Memory;
  }
  if (u.MemorySwap) hc.MemorySwap = u.MemorySwap;
  if (u.MemoryReservation) hc.MemoryReservation = u.MemoryReservation;
  if (u.KernelMemory) warnings.push('Kernel memory limits are not supported: KernelMemory discarded.');
  let pidsUnlimited = false;
  if (u.PidsLimit !== undefined && u.PidsLimit !== null) {
    hc.PidsLimit = u.PidsLimit;
    pidsUnlimited = u.PidsLimit <= 0;
  }
  if (u.RestartPolicy && (u.RestartPolicy.Name ?? '') !== '') {
    if (u.RestartPolicy.Name !== 'no' && current.AutoRemove) {
      throw invalidParameter('Restart policy cannot be updated because AutoRemove is enabled for the container');
    }
    validateRestartPolicy(u.RestartPolicy, false);
    hc.RestartPolicy = u.RestartPolicy;
  }
  return { hostConfig: hc, pidsUnlimited, warnings };
}
