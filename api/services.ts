/** What the HTTP layer needs from the engine; routes only parse, call one of these and shape the reply. */
export interface SystemService {
  info(): Promise<Record<string, unknown>>;
  version(): Record<string, unknown>;
}

export interface ApiServices {
  system: SystemService;
}
