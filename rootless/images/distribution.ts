/** GET /distribution/{name}/json: what the registry holds under a reference, without pulling it. */
import type { ImageRef } from '../../translate/image-ref.js';
import { familiarString, withDefaultTag } from '../../translate/image-ref.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';
import { parseImageConfig } from '../../translate/image-config.js';
import type { RegistryAccess } from '../registry/access.js';
import type { FetchedManifest, RegistryClient } from '../registry/client.js';
import { isIndexType } from '../registry/media-types.js';
import type { DistributionInspect, DistributionPlatform } from './interface.js';

/** A platform as OCI indexes and image configs spell it. */
interface OciPlatform {
  architecture?: string;
  os?: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

function platformOf(p: OciPlatform): DistributionPlatform {
  return {
    architecture: p.architecture ?? '',
    os: p.os ?? '',
    ...(p['os.version'] ? { osVersion: p['os.version'] } : {}),
    ...(p['os.features']?.length ? { osFeatures: p['os.features'] } : {}),
    ...(p.variant ? { variant: p.variant } : {}),
  };
}

export async function inspectDistribution(access: RegistryAccess, name: ImageRef, creds: RegistryCredentials | undefined): Promise<DistributionInspect> {
  const ref = withDefaultTag(name);
  const display = familiarString(ref);
  const reference = ref.digest ?? (ref.tag as string);
  let lastErr: unknown;
  let found: { client: RegistryClient; manifest: FetchedManifest } | undefined;
  for (const client of access.pullClients(ref.domain, ref.path, creds)) {
    try {
      found = { client, manifest: await client.manifest(reference, display) };
      break;
    } catch (err) {
      lastErr = err;
    }
  }
  if (!found) throw lastErr;
  const { client, manifest } = found;
  const body = JSON.parse(manifest.bytes.toString('utf8')) as { manifests?: { platform?: OciPlatform }[]; config?: { digest?: string } };
  let platforms: DistributionPlatform[] = [];
  if (isIndexType(manifest.mediaType)) {
    platforms = (body.manifests ?? []).filter((m) => m.platform).map((m) => platformOf(m.platform as OciPlatform));
  } else if (body.config?.digest) {
    platforms = [platformOf(parseImageConfig(await client.blobBytes(body.config.digest)))];
  }
  return { descriptor: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length }, platforms };
}
