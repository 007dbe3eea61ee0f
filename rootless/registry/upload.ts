/**
 * The push half of the distribution API: blob existence, cross-repository mounts, monolithic
 * uploads and manifest PUTs, on top of RegistryClient's auth and retries.
 */
import type { RegistryClient } from './client.js';
import { registryErrorText } from './client.js';

export type UploadStart = { mounted: true } | { mounted: false; location: string };

async function failed(what: string, res: Response): Promise<Error> {
  return new Error(`${what}: ${await registryErrorText(res)}`);
}

export async function blobExists(client: RegistryClient, digest: string, signal?: AbortSignal): Promise<boolean> {
  const res = await client.request(`${client.repository}/blobs/${digest}`, { method: 'HEAD', signal });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  // 401/403 here mean no pull right on the target; the upload will tell the real story.
  return false;
}

/**
 * POST an upload session; with `mount`, ask the registry to link the blob from another repository.
 * 201 means mounted; 202 means the registry declined and gave a session to upload into instead.
 */
export async function startUpload(client: RegistryClient, mount?: { digest: string; from: string }, signal?: AbortSignal): Promise<UploadStart> {
  const query = mount ? `?${new URLSearchParams({ mount: mount.digest, from: mount.from }).toString()}` : '';
  const res = await client.request(`${client.repository}/blobs/uploads/${query}`, { method: 'POST', signal, redirect: 'manual' });
  if (res.status === 201 && mount) {
    await res.arrayBuffer().catch(() => undefined);
    return { mounted: true };
  }
  if (res.status !== 202) throw await failed(`starting a blob upload to ${client.domain}/${client.repository}`, res);
  await res.arrayBuffer().catch(() => undefined);
  const location = res.headers.get('location');
  if (!location) throw new Error(`registry ${client.domain} gave no upload location`);
  return { mounted: false, location: new URL(location, client.base).href };
}

/** One PUT with the whole blob; the registry checks the digest. */
export async function completeUpload(client: RegistryClient, location: string, digest: string, size: number, body: () => BodyInit, signal?: AbortSignal): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  const res = await client.request(url, {
    method: 'PUT',
    signal,
    body,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
    redirect: 'manual',
  });
  if (res.status !== 201 && res.status !== 204) throw await failed(`uploading blob ${digest}`, res);
  await res.arrayBuffer().catch(() => undefined);
}

/** PUT a manifest under a tag; returns the digest the registry reports (or undefined when it reports none). */
export async function putManifest(client: RegistryClient, reference: string, mediaType: string, bytes: Buffer, signal?: AbortSignal): Promise<string | undefined> {
  const res = await client.request(`${client.repository}/manifests/${reference}`, {
    method: 'PUT',
    signal,
    headers: { 'Content-Type': mediaType },
    body: () => new Uint8Array(bytes),
  });
  if (res.status !== 201 && res.status !== 200) throw await failed(`pushing manifest ${client.repository}:${reference}`, res);
  await res.arrayBuffer().catch(() => undefined);
  return res.headers.get('docker-content-digest') ?? undefined;
}
