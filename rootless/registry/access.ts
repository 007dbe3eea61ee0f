/**
 * How the engine reaches registries, per the config file: which hosts are insecure (unverified
 * HTTPS, or plain HTTP when they do not speak TLS), which mirrors stand in for Docker Hub. Every
 * registry client is made here, and all share one memory of which scheme each insecure host speaks.
 */
import { DEFAULT_DOMAIN, isLoopbackRegistry, registryHost } from '../../translate/image-ref.js';
import { EMPTY_REGISTRY_SETTINGS, isListedInsecure, type RegistrySettings } from '../../translate/registry-config.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';
import { RegistryClient } from './client.js';
import { RegistryEndpoints, type Endpoint } from './transport.js';

export class RegistryAccess {
  private readonly endpoints = new RegistryEndpoints();

  constructor(readonly settings: RegistrySettings = EMPTY_REGISTRY_SETTINGS) {}

  /**
   * Loopback (as dockerd treats 127.0.0.0/8 and ::1) or listed in insecure-registries. Docker Hub
   * never is: dockerd always verifies it.
   */
  isInsecure(domain: string): boolean {
    if (domain === DEFAULT_DOMAIN) return false;
    return isLoopbackRegistry(domain) || isListedInsecure(domain, this.settings.insecureRegistries);
  }

  /** Where `domain`'s API lives and what speaks to it; probes an insecure host's scheme on first contact. */
  endpoint(domain: string, signal?: AbortSignal): Promise<Endpoint> {
    return this.endpoints.resolve(registryHost(domain), this.isInsecure(domain), signal);
  }

  /** After a transport failure talking to `domain`: probe its scheme again next time. */
  forgetEndpoint(domain: string): void {
    this.endpoints.forget(registryHost(domain));
  }

  client(domain: string, repository: string, creds: RegistryCredentials | undefined, opts: { push?: boolean } = {}): RegistryClient {
    return new RegistryClient(domain, repository, creds, { insecure: this.isInsecure(domain), endpoints: this.endpoints, ...(opts.push ? { push: true } : {}) });
  }

  /**
   * Clients to try in order for a pull: configured mirrors first for Docker Hub, then the registry
   * itself. Mirrors get no credentials: Hub credentials are not theirs to see. A mirror's scheme is
   * the one configured; an insecure mirror's certificate goes unverified (dockerd's tlsConfigForMirror).
   */
  pullClients(domain: string, repository: string, creds: RegistryCredentials | undefined): RegistryClient[] {
    const own = this.client(domain, repository, creds);
    if (domain !== DEFAULT_DOMAIN) return [own];
    const mirrors = this.settings.registryMirrors.map(
      (m) => new RegistryClient(domain, repository, undefined, { base: `${m}/v2/`, insecure: this.isInsecure(new URL(m).host) }),
    );
    return [...mirrors, own];
  }
}
