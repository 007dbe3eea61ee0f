/**
 * X-Registry-Config: base64 (either alphabet, padding optional) of a JSON map from registry
 * address to auth config. Entries that do not decode are skipped, and an undecodable header
 * means no credentials, as dockerd goes on anonymously. Pure.
 */
import { decodeRegistryAuth, type RegistryCredentials } from './registry-auth.js';

/** "https://index.docker.io/v1/", "registry-1.docker.io", "host:5000/path" → the domain image refs carry. */
export function registryKey(address: string): string {
  const host = address.trim().replace(/^[a-z]+:\/\//i, '').split('/')[0].toLowerCase();
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'docker.io' || host === '') return 'docker.io';
  return host;
}

export function decodeRegistryConfig(header: string | string[] | undefined): Map<string, RegistryCredentials> {
  const out = new Map<string, RegistryCredentials>();
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || !/^[A-Za-z0-9+/_=-]+$/.test(value.trim())) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    return out;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return out;
  for (const [address, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) continue;
    const creds = decodeRegistryAuth(Buffer.from(JSON.stringify(entry)).toString('base64'));
    if (creds) out.set(registryKey(address), creds);
  }
  return out;
}
