/**
 * `docker login` as dockerd checks it: GET /v2/ with the credentials, following the registry's
 * challenge (basic, or a bearer token fetched from its realm). Nothing is stored: the client keeps
 * the credentials and sends them with each pull/push.
 */
import { DEFAULT_DOMAIN } from '../../translate/image-ref.js';
import { EngineError } from '../../translate/errors.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';
import type { RegistryAccess } from './access.js';
import { basic } from './auth.js';
import { parseChallenge } from './challenge.js';
import { fetchFor } from './transport.js';

const LOGIN_TIMEOUT_MS = 30_000;

const unauthorized = (message: string): EngineError => new EngineError('unauthorized', message);

/** registry.ConvertToHostname plus Hub's aliases: "https://index.docker.io/v1/" → "docker.io". */
export function loginDomain(serverAddress: string | undefined): string {
  const raw = (serverAddress ?? '').trim();
  if (raw === '') return DEFAULT_DOMAIN;
  const host = raw.replace(/^[a-z]+:\/\//i, '').split('/')[0];
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === DEFAULT_DOMAIN) return DEFAULT_DOMAIN;
  return host;
}

/** Resolves with the identity token to hand back ("" for basic auth); throws unauthorized on bad credentials. */
export async function checkLogin(access: RegistryAccess, creds: RegistryCredentials): Promise<string> {
  const domain = loginDomain(creds.serverAddress);
  const insecure = access.isInsecure(domain);
  const signal = AbortSignal.timeout(LOGIN_TIMEOUT_MS);
  // An insecure registry's scheme (unverified HTTPS, else plain HTTP) is probed once and remembered.
  const base = `${(await access.endpoint(domain, signal)).origin}/v2/`;
  // Docker Hub never accepts an anonymous login (its /v2/ answers 401 to an anonymous token), so a
  // request with no credentials at all gets that answer without a round trip that may not be possible.
  if (domain === DEFAULT_DOMAIN && !creds.username && !creds.password) throw unauthorized(`login attempt to ${base} failed with status: 401 Unauthorized`);
  const get = async (url: string, headers: Record<string, string> = {}): Promise<Response> => {
    try {
      return await fetchFor(insecure, new URL(url))(url, { headers: { 'User-Agent': 'burrow', ...headers }, signal });
    } catch (err) {
      if (err instanceof TypeError) access.forgetEndpoint(domain);
      throw err;
    }
  };
  const first = await get(base);
  await first.arrayBuffer().catch(() => undefined);
  if (first.ok) return '';
  const challenge = parseChallenge(first.headers.get('www-authenticate'));
  if (first.status !== 401 || !challenge) throw new Error(`login attempt to ${base} failed with status: ${first.status} ${first.statusText}`);
  if (challenge.scheme === 'basic') {
    const res = await get(base, { Authorization: basic(creds.username ?? '', creds.password ?? '') });
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return '';
    throw unauthorized(`login attempt to ${base} failed with status: ${res.status} ${res.statusText}`);
  }
  if (challenge.scheme === 'bearer' && challenge.params.realm) {
    const url = new URL(challenge.params.realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    if (creds.username) url.searchParams.set('account', creds.username);
    url.searchParams.set('client_id', 'burrow');
    const res = await get(url.href, { Authorization: basic(creds.username ?? '', creds.password ?? '') });
    const text = await res.text().catch(() => '');
    if (!res.ok) throw unauthorized(`Get "${url.origin}${url.pathname}": unauthorized: incorrect username or password`);
    try {
      const body = JSON.parse(text) as { refresh_token?: unknown };
      return typeof body.refresh_token === 'string' ? body.refresh_token : '';
    } catch {
      return '';
    }
  }
  throw new Error(`login attempt to ${base}: unsupported authentication scheme ${challenge.scheme}`);
}
