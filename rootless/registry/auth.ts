import type { RegistryCredentials } from '../../translate/registry-auth.js';
import type { AuthChallenge } from './challenge.js';

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Fetches a token from the realm the registry named. */
export type Fetcher = (url: URL, init: RequestInit) => Promise<Response>;

/**
 * Bearer tokens per (realm, service, scope, who): a pull makes dozens of requests against one scope,
 * and token servers rate-limit. Expiry follows expires_in with a margin.
 */
export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly fetcher: Fetcher) {}

  /** `fetcher`: how to reach this registry's token server (its own TLS settings); the cache's default otherwise. */
  async token(challenge: AuthChallenge, scope: string, creds: RegistryCredentials | undefined, fetcher: Fetcher = this.fetcher): Promise<string> {
    if (creds?.registryToken) return creds.registryToken;
    const realm = challenge.params.realm;
    if (!realm) throw new Error('registry auth challenge has no realm');
    const service = challenge.params.service ?? '';
    const key = JSON.stringify([realm, service, scope, creds?.username ?? '', creds?.identityToken ?? '']);
    const hit = this.tokens.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.token;
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    const p = this.fetchToken(fetcher, realm, service, scope, creds).finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    const got = await p;
    return got;
  }

  private async fetchToken(fetcher: Fetcher, realm: string, service: string, scope: string, creds: RegistryCredentials | undefined): Promise<string> {
    const url = new URL(realm);
    let res: Response;
    if (creds?.identityToken) {
      // An identity token is an OAuth2 refresh token (docker login stores it instead of a password).
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, service, scope, client_id: 'burrow' });
      res = await fetcher(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    } else {
      if (service) url.searchParams.set('service', service);
      if (scope) url.searchParams.set('scope', scope);
      const headers: Record<string, string> = {};
      if (creds?.username !== undefined) headers.Authorization = basic(creds.username, creds.password ?? '');
      res = await fetcher(url, { method: 'GET', headers });
    }
    const text = await res.text();
    if (!res.ok) throw new Error(`failed to fetch anonymous token: unexpected status from ${res.status === 401 ? 'token server: 401 Unauthorized' : `token server: ${res.status}`}`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error('token server returned invalid JSON');
    }
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (!token) throw new Error('token server returned no token');
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    this.tokens.set(JSON.stringify([realm, service, scope, creds?.username ?? '', creds?.identityToken ?? '']), {
      token,
      expiresAt: Date.now() + Math.max(10, expiresIn - 10) * 1000,
    });
    return token;
  }
}

export function basic(username: string, password: string): string {
  return 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64');
}
