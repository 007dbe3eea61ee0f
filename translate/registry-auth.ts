/**
 * X-Registry-Auth decoding. dockerd ignores decode errors on the pull path and goes on
 * anonymously, and clients disagree on the base64 alphabet and padding, so this never throws.
 */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** OAuth refresh token from `docker login` against a token server. */
  identityToken?: string;
  /** A bearer token to send to the registry as-is. */
  registryToken?: string;
  serverAddress?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Credentials from the header value, or undefined for anonymous (absent, empty, `{}`, garbage). */
export function decodeRegistryAuth(header: string | string[] | undefined): RegistryCredentials | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '' || !/^[A-Za-z0-9+/_=-]+$/.test(trimmed)) return undefined;
  const normalised = trimmed.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(normalised, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const o = parsed as Record<string, unknown>;
  let username = str(o.username);
  let password = str(o.password);
  // The legacy "auth" field carries base64("user:pass") like ~/.docker/config.json.
  const legacy = str(o.auth);
  if (username === undefined && legacy !== undefined) {
    const plain = Buffer.from(legacy, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon > 0) {
      username = plain.slice(0, colon);
      password = plain.slice(colon + 1);
    }
  }
  const creds: RegistryCredentials = {};
  if (username !== undefined) creds.username = username;
  if (password !== undefined) creds.password = password;
  const identityToken = str(o.identitytoken);
  if (identityToken !== undefined) creds.identityToken = identityToken;
  const registryToken = str(o.registrytoken);
  if (registryToken !== undefined) creds.registryToken = registryToken;
  const serverAddress = str(o.serveraddress);
  if (serverAddress !== undefined) creds.serverAddress = serverAddress;
  const meaningful = creds.username !== undefined || creds.identityToken !== undefined || creds.registryToken !== undefined;
  return meaningful ? creds : undefined;
}

/**
 * POST /auth's body (an AuthConfig, already checked against openapi/auth.ts) as the credentials to
 * try: an identity token stands in for the password, "" counts as not given.
 */
export function loginCredentials(body: unknown): RegistryCredentials {
  const o = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const creds: RegistryCredentials = {};
  const username = str(o.username);
  const password = str(o.password) ?? str(o.identitytoken);
  const serverAddress = str(o.serveraddress);
  if (username !== undefined) creds.username = username;
  if (password !== undefined) creds.password = password;
  if (serverAddress !== undefined) creds.serverAddress = serverAddress;
  return creds;
}
