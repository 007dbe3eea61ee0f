/**
 * docker search against a registry's v1 search API (Docker Hub's index, or any registry that has
 * one). Plain distribution registries have none: any failure answers an empty list, as the
 * command is informational and clients must not crash on it.
 */
import { DEFAULT_DOMAIN } from '../../translate/image-ref.js';
import type { RegistryAccess } from './access.js';
import { verifiedFetch } from './transport.js';

/** One repository an index found (translate/image-json.ts writes dockerd's snake_case entry). */
export interface SearchResult {
  name: string;
  description: string;
  starCount: number;
  isOfficial: boolean;
  isAutomated: boolean;
}

export interface SearchFilters {
  isOfficial?: boolean;
  isAutomated?: boolean;
  minStars?: number;
}

const SEARCH_TIMEOUT_MS = 10_000;

/** Which index to ask and what to ask it: "host:5000/foo" searches host:5000 for "foo". */
export function searchTarget(term: string): { domain: string; query: string } {
  const slash = term.indexOf('/');
  const first = slash === -1 ? '' : term.slice(0, slash);
  if (first !== '' && (/[.:]/.test(first) || first === 'localhost')) {
    const domain = first === 'index.docker.io' ? DEFAULT_DOMAIN : first;
    return { domain, query: term.slice(slash + 1) };
  }
  return { domain: DEFAULT_DOMAIN, query: term };
}

export async function searchRegistry(access: RegistryAccess, term: string, limit: number, filters: SearchFilters, signal?: AbortSignal): Promise<SearchResult[]> {
  const { domain, query } = searchTarget(term);
  let body: unknown;
  try {
    const timeout = AbortSignal.timeout(SEARCH_TIMEOUT_MS);
    const bounded = signal ? AbortSignal.any([signal, timeout]) : timeout;
    // Hub's index is verified HTTPS; another registry is reached as for pulls (an insecure one's scheme probed once).
    const endpoint = domain === DEFAULT_DOMAIN ? { origin: 'https://index.docker.io', fetch: verifiedFetch } : await access.endpoint(domain, bounded);
    const url = new URL('/v1/search', endpoint.origin);
    url.searchParams.set('q', query);
    url.searchParams.set('n', String(limit));
    const res = await endpoint.fetch(url, { headers: { 'User-Agent': 'burrow' }, signal: bounded });
    if (!res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      return [];
    }
    body = await res.json();
  } catch (err) {
    if (err instanceof TypeError && domain !== DEFAULT_DOMAIN) access.forgetEndpoint(domain);
    return [];
  }
  const results = (body as { results?: unknown }).results;
  if (!Array.isArray(results)) return [];
  const out: SearchResult[] = [];
  for (const r of results as Record<string, unknown>[]) {
    if (typeof r.name !== 'string') continue;
    const item: SearchResult = {
      name: domain === DEFAULT_DOMAIN ? r.name : `${domain}/${r.name}`,
      description: typeof r.description === 'string' ? r.description : '',
      starCount: typeof r.star_count === 'number' ? r.star_count : 0,
      isOfficial: r.is_official === true,
      isAutomated: r.is_automated === true,
    };
    if (filters.isOfficial !== undefined && item.isOfficial !== filters.isOfficial) continue;
    if (filters.isAutomated !== undefined && item.isAutomated !== filters.isAutomated) continue;
    if (filters.minStars !== undefined && item.starCount < filters.minStars) continue;
    out.push(item);
  }
  return out.slice(0, limit);
}
