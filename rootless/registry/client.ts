/**
 * A minimal OCI distribution v2 client over fetch: manifests and blobs of one repository,
 * anonymous, basic or bearer auth driven by the registry's challenge, retries of transient failures.
 * The scheme comes from transport.ts: verified HTTPS, or for an insecure registry whichever of
 * unverified HTTPS and plain HTTP it speaks.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EngineError, notFound } from '../../translate/errors.js';
import { isLoopbackRegistry, registryHost } from '../../translate/image-ref.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';
import { basic, TokenCache } from './auth.js';
import { parseChallenge } from './challenge.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import { describeFetchError, fetchFor, RegistryEndpoints, RegistryUnreachableError, verifiedFetch, type FetchLike } from './transport.js';

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

const MAX_ATTEMPTS = 3;
const RETRY_BASE_MS = 250;

/** Shared by every client of the engine so pulls of one repository reuse tokens. */
export const sharedTokenCache = new TokenCache(verifiedFetch);

/** For clients made without one (the engine's RegistryAccess passes its own). */
const defaultEndpoints = new RegistryEndpoints();

class TransientError extends Error {}

/** distribution's errcode text: "manifest unknown: manifest unknown". */
export async function registryErrorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = body.errors?.[0];
    if (first?.code) return `${first.code.toLowerCase().replace(/_/g, ' ')}: ${first.message ?? ''}`.trim();
  } catch {
    // not an errcode body
  }
  return `unexpected status ${res.status} ${res.statusText}`.trim();
}

export interface ClientOptions {
  /** The API root to talk to ("http://mirror:5000/v2/"), scheme and all; default from the domain. */
  base?: string;
  /**
   * An insecure registry (listed in insecure-registries; loopback always is): HTTPS without
   * certificate verification, or plain HTTP when the host does not speak TLS.
   */
  insecure?: boolean;
  /** Where the scheme that worked for each insecure host is remembered. */
  endpoints?: RegistryEndpoints;
  /** Ask for push rights as well as pull (bearer scope). */
  push?: boolean;
  tokens?: TokenCache;
}

/** Request options; `body` is a factory so a request retried after an auth challenge can send it again. */
export interface RequestOptions {
  method?: string;
  accept?: string;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  body?: () => BodyInit;
  redirect?: RequestRedirect;
}

export class RegistryClient {
  private resolvedBase: string | undefined;
  private authorization: string | undefined;
  private readonly tokens: TokenCache;
  private readonly insecure: boolean;
  private readonly host: string;
  private readonly endpoints: RegistryEndpoints;

  constructor(
    readonly domain: string,
    readonly repository: string,
    private readonly creds: RegistryCredentials | undefined,
    private readonly opts: ClientOptions = {},
  ) {
    this.host = opts.base !== undefined ? new URL(opts.base).host : registryHost(domain);
    this.insecure = opts.insecure === true || isLoopbackRegistry(this.host);
    this.resolvedBase = opts.base;
    this.tokens = opts.tokens ?? sharedTokenCache;
    this.endpoints = opts.endpoints ?? defaultEndpoints;
  }

  /** The API root ("https://host/v2/"); known once the first request has found the scheme. */
  get base(): string {
    if (this.resolvedBase === undefined) throw new Error(`no endpoint resolved yet for registry ${this.host}`);
    return this.resolvedBase;
  }

  /** The API root, probing an insecure host's scheme on first contact. */
  private async endpoint(signal?: AbortSignal): Promise<string> {
    if (this.resolvedBase !== undefined) return this.resolvedBase;
    const { origin } = await this.endpoints.resolve(this.host, this.insecure, signal);
    this.resolvedBase = `${origin}/v2/`;
    return this.resolvedBase;
  }

  /** A transport failure: an insecure host found through a probe is probed again on the next attempt. */
  private forgetEndpoint(): void {
    if (this.opts.base !== undefined || !this.insecure) return;
    this.endpoints.forget(this.host);
    this.resolvedBase = undefined;
  }

  private fetcher(url: URL): FetchLike {
    return fetchFor(this.insecure, url);
  }

  private get scope(): string {
    return `repository:${this.repository}:${this.opts.push ? 'pull,push' : 'pull'}`;
  }

  private async authorize(res: Response): Promise<boolean> {
    const challenge = parseChallenge(res.headers.get('www-authenticate'));
    if (!challenge) return false;
    if (challenge.scheme === 'basic') {
      if (this.creds?.username === undefined) return false;
      this.authorization = basic(this.creds.username, this.creds.password ?? '');
      return true;
    }
    if (challenge.scheme === 'bearer') {
      this.authorization = `Bearer ${await this.tokens.token(challenge, this.scope, this.creds, (url, init) => this.fetcher(url)(url, init))}`;
      return true;
    }
    return false;
  }

  /**
   * One request with auth and retries; the caller consumes the body. `path` is relative to the API
   * root ("repo/manifests/latest") or absolute (an upload location).
   */
  async request(path: string | URL, init: RequestOptions = {}): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      let url: URL | undefined;
      try {
        url = new URL(path, await this.endpoint(init.signal));
        return await this.once(url, init);
      } catch (err) {
        if (!(err instanceof TransientError) && !(err instanceof TypeError) && !(err instanceof RegistryUnreachableError)) throw err;
        if (err instanceof TypeError) this.forgetEndpoint();
        if (init.signal?.aborted || attempt >= MAX_ATTEMPTS) throw err instanceof TypeError ? new Error(`${init.method ?? 'GET'} ${url?.href ?? String(path)}: ${describeFetchError(err)}`) : err;
        await sleep(RETRY_BASE_MS * 2 ** (attempt - 1), undefined, { signal: init.signal });
      }
    }
  }

  private async once(url: URL, init: RequestOptions): Promise<Response> {
    const send = (): Promise<Response> => {
      const headers: Record<string, string> = { 'User-Agent': 'burrow', ...init.headers };
      if (init.accept) headers.Accept = init.accept;
      if (this.authorization) headers.Authorization = this.authorization;
      const body = init.body?.();
      // Streamed request bodies need half-duplex in undici.
      const extra = body !== undefined ? { body, duplex: 'half' } : {};
      return this.fetcher(url)(url, { method: init.method ?? 'GET', headers, signal: init.signal, redirect: init.redirect ?? 'follow', ...extra } as RequestInit);
    };
    let res = await send();
    if (res.status === 401 && (await this.retryAuth(res))) res = await send();
    if (res.status >= 500 || res.status === 429) {
      const text = await registryErrorText(res);
      throw new TransientError(`${init.method ?? 'GET'} ${url.href}: ${text}`);
    }
    return res;
  }

  private async retryAuth(res: Response): Promise<boolean> {
    await res.arrayBuffer().catch(() => undefined);
    const had = this.authorization;
    const ok = await this.authorize(res);
    return ok && this.authorization !== had;
  }

  private accessDenied(detail: string): EngineError {
    return notFound(`pull access denied for ${this.domain}/${this.repository}, repository does not exist or may require 'docker login': ${detail}`);
  }

  async manifest(reference: string, display: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const res = await this.request(`${this.repository}/manifests/${reference}`, { accept: MANIFEST_ACCEPT, signal });
    if (res.status === 401 || res.status === 403) throw this.accessDenied(await registryErrorText(res));
    if (res.status === 404) throw notFound(`manifest for ${display} not found: ${await registryErrorText(res)}`);
    if (!res.ok) throw new Error(`fetching manifest for ${display}: ${await registryErrorText(res)}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
    if (reference.startsWith('sha256:') && reference !== digest) throw new Error(`manifest verification failed for digest ${reference}`);
    const mediaType = (res.headers.get('content-type') ?? '').split(';')[0].trim() || mediaTypeFromBody(bytes);
    return { bytes, mediaType: mediaTypeFromBody(bytes) || mediaType, digest };
  }

  /** A blob's response, status checked; the body is left to stream. */
  async blob(digest: string, signal?: AbortSignal): Promise<Response> {
    const res = await this.request(`${this.repository}/blobs/${digest}`, { signal });
    if (res.status === 401 || res.status === 403) throw this.accessDenied(await registryErrorText(res));
    if (!res.ok || !res.body) throw new Error(`fetching blob ${digest}: ${await registryErrorText(res)}`);
    return res;
  }

  async blobBytes(digest: string, signal?: AbortSignal): Promise<Buffer> {
    const res = await this.blob(digest, signal);
    const bytes = Buffer.from(await res.arrayBuffer());
    const got = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
    if (got !== digest) throw new Error(`blob verification failed for digest ${digest}: got ${got}`);
    return bytes;
  }
}

/** A manifest's own mediaType field wins over Content-Type, which some registries get wrong. */
function mediaTypeFromBody(bytes: Buffer): string {
  try {
    const body = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; config?: unknown };
    if (typeof body.mediaType === 'string') return body.mediaType;
    if (Array.isArray(body.manifests)) return 'application/vnd.oci.image.index.v1+json';
    if (body.config) return 'application/vnd.oci.image.manifest.v1+json';
  } catch {
    // caller reports the unparsable manifest
  }
  return '';
}
