/** The parts of an OCI/Docker image config the engine reads. */
export interface ImageHistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture?: string;
  variant?: string;
  os?: string;
  'os.version'?: string;
  created?: string;
  author?: string;
  comment?: string;
  docker_version?: string;
  config?: Record<string, unknown>;
  /** The step's container and its config (dockerd's classic builder and commit record them). */
  container?: string;
  container_config?: Record<string, unknown>;
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: ImageHistoryEntry[];
}

export function parseImageConfig(bytes: Buffer): ImageConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new Error(`invalid image config: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('invalid image config: not an object');
  const cfg = parsed as ImageConfig;
  const diffIds = cfg.rootfs?.diff_ids;
  if (diffIds !== undefined && (!Array.isArray(diffIds) || diffIds.some((d) => typeof d !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(d)))) {
    throw new Error('invalid image config: bad rootfs.diff_ids');
  }
  return cfg;
}

export const diffIdsOf = (cfg: ImageConfig): string[] => cfg.rootfs?.diff_ids ?? [];
