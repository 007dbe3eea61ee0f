/**
 * A validated ContainerCreate body (openapi/containers.ts, api/validate.ts) → the engine's container
 * spec, once: Config, HostConfig and NetworkingConfig apart, Image required, and Go's strslices in
 * HostConfig (CapAdd, CapDrop) as the lists dockerd stores and echoes in inspect. Routes and the
 * builder hand the engine this; nothing downstream looks at the raw body again. Pure.
 */
import type { ContainerConfigBody, ContainerCreateBody, HostConfigBody, NetworkingConfigBody } from '../openapi/containers.js';
import { invalidParameter } from './errors.js';

/** HostConfig as the engine keeps it: the validated body with its strslices as lists. */
export type HostConfigSpec = Omit<HostConfigBody, 'CapAdd' | 'CapDrop' | 'Links'> & {
  CapAdd?: string[];
  CapDrop?: string[];
  /** null once `docker rm --link` took the last one, as dockerd shows it. */
  Links?: string[] | null;
};

export interface ContainerSpec {
  /** Config as the request gave it (merged with the image's at create). */
  config: ContainerConfigBody & { Image: string };
  hostConfig: HostConfigSpec;
  networkingConfig: NetworkingConfigBody | null;
}

const list = (v: string | string[] | undefined): string[] | undefined => (typeof v === 'string' ? [v] : v);

/** The body split into the spec; a missing (or empty) Image is dockerd's 400. */
export function containerSpec(body: ContainerCreateBody | undefined): ContainerSpec {
  const { HostConfig, NetworkingConfig, ...config } = body ?? {};
  const { Image } = config;
  if (!Image) throw invalidParameter('config.Image is required');
  const { CapAdd, CapDrop, ...host } = HostConfig ?? {};
  const hostConfig: HostConfigSpec = host;
  if (CapAdd !== undefined) hostConfig.CapAdd = list(CapAdd);
  if (CapDrop !== undefined) hostConfig.CapDrop = list(CapDrop);
  return { config: { ...config, Image }, hostConfig, networkingConfig: NetworkingConfig ?? null };
}
