/** Burrow's own release; reported as the engine version and in the Server header. */
export const BURROW_VERSION = '0.1.0';

/** Docker Engine API versions served: every version clients in the wild still pin, up to docker CLI 28's default. */
export const MIN_API_VERSION = '1.24';
export const MAX_API_VERSION = '1.50';
