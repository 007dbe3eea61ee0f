/**
 * How the engine reaches registries, per the config file: which hosts speak plain HTTP, which
 * mirrors stand in for Docker Hub. Every registry client is made here.
 */
import { DEFAULT_DOMAIN, isLoopbackRegistry } from '../../translate/image-ref.js';
import { EMPTY_REGISTRY_SETTINGS, isListedInsecure, type RegistrySettings } from '../../translate/registry-config.js';
import type { RegistryCredentials } from '../../translate/registry-auth.js';
import { RegistryClient } from './client.js';

export class RegistryAccess {
  constructor(readonly settings: RegistrySettings = EMPTY_REGISTRY_SETTINGS) {}

  /** Plain HTTP: loopback (as dockerd treats 127.0.0.0/8 and ::1) or listed in insecure-registries. */
  isInsecure(domain: string): boolean {
    return isLoopbackRegistry(domain) || isListedInsecure(domain, this.settings.insecureRegistries);
  }

  client(domain: string, repository: string, creds: RegistryCredentials | undefined, opts: { push?: boolean } = {}): RegistryClient {
    return new RegistryClient(domain, repository, creds, { insecure: this.isInsecure(domain), ...(opts.push ? { push: true } : {}) });
  }

  /**
   * Clients to try in order for a pull: configured mirrors first for Docker Hub, then the registry
   * itself. Mirrors get no credentials: Hub credentials are not theirs to see.
   */
  pullClients(domain: string, repository: string, creds: RegistryCredentials | undefined): RegistryClient[] {
    const own = this.client(domain, repository, creds);
    if (domain !== DEFAULT_DOMAIN) return [own];
    const mirrors = this.settings.registryMirrors.map((m) => new RegistryClient(domain, repository, undefined, { base: `${m}/v2/` }));
    return [...mirrors, own];
  }
}
