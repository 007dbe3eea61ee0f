/** The answers of the registry-facing routes in dockerd's JSON: POST /auth and GET /distribution/{name}/json. Pure. */
import type { DistributionInspect, DistributionPlatform, LoginResult } from '../rootless/images/interface.js';

/** registry.AuthenticateOKBody. */
export interface LoginJson {
  Status: string;
  IdentityToken: string;
}

/** An OCI platform as dockerd's distribution inspect prints it; absent fields stay absent. */
export interface PlatformJson {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

/** registry.DistributionInspect. */
export interface DistributionInspectJson {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: PlatformJson[];
}

export function loginJson(r: LoginResult): LoginJson {
  return { Status: 'Login Succeeded', IdentityToken: r.identityToken };
}

function platformJson(p: DistributionPlatform): PlatformJson {
  return {
    architecture: p.architecture,
    os: p.os,
    ...(p.osVersion !== undefined ? { 'os.version': p.osVersion } : {}),
    ...(p.osFeatures !== undefined ? { 'os.features': [...p.osFeatures] } : {}),
    ...(p.variant !== undefined ? { variant: p.variant } : {}),
  };
}

export function distributionJson(d: DistributionInspect): DistributionInspectJson {
  return { Descriptor: { mediaType: d.descriptor.mediaType, digest: d.descriptor.digest, size: d.descriptor.size }, Platforms: d.platforms.map(platformJson) };
}
