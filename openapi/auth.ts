/** POST /auth's body (AuthConfig), from the Engine API definition plus the fields Go's registry.AuthConfig also decodes. */
import { str, struct } from './types.js';

export const authConfigSchema = {
  $id: 'AuthConfig',
  ...struct({
    username: str,
    password: str,
    auth: str,
    email: str,
    serveraddress: str,
    identitytoken: str,
    registrytoken: str,
  }),
} as const;
