/**
 * What a container asks to have mounted, parsed from HostConfig.Binds / Mounts / Tmpfs and
 * Config.Volumes (translate/mounts.ts) but not yet resolved to host paths: the container record
 * keeps these, and the container code resolves them (translate/mounts.ts toResolvedMount).
 */
import type { MountBody } from '../openapi/containers.js';

export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
export type MountOrigin = 'binds' | 'mounts' | 'tmpfs' | 'config-volumes';

interface RequestBase {
  /** Cleaned absolute path in the container. */
  destination: string;
  readOnly: boolean;
  /** Which HostConfig/Config field it came from (inspect's Mounts and `rm -v` care). */
  origin: MountOrigin;
  /** The raw mode string of a Binds entry ("ro,Z"), "" otherwise — inspect shows it. */
  mode: string;
}

export interface VolumeMountRequest extends RequestBase {
  kind: 'volume';
  /** Undefined: an anonymous volume the container code creates (createAnonymous). */
  name?: string;
  /** Copy the image's content at the destination into the volume when it is new and empty. */
  copyUp: boolean;
  /** `:U`: chown the volume's content to the container user. */
  chown: boolean;
  /** For a volume created on first use (VolumeOptions.Labels / DriverConfig.Options). */
  labels: Record<string, string>;
  driverOpts: Record<string, string>;
  /** VolumeOptions.Subpath: relative, without "..". */
  subpath?: string;
}

export interface BindMountRequest extends RequestBase {
  kind: 'bind';
  /** Cleaned absolute host path. */
  source: string;
  propagation: Propagation;
  nonRecursive: boolean;
  /**
   * Binds entries create a missing host directory (dockerd does); Mounts entries fail unless
   * BindOptions.CreateMountpoint: "bind source path does not exist: <path>".
   */
  createSource: boolean;
  chown: boolean;
}

export interface TmpfsMountRequest extends RequestBase {
  kind: 'tmpfs';
  /** Mount options as given (size=…, mode=…, ro); oci-spec adds dockerd's defaults. */
  options: string[];
}

export type MountRequest = VolumeMountRequest | BindMountRequest | TmpfsMountRequest;

/** The Mount definition of the Engine API (HostConfig.Mounts items), derived from its schema. */
export type MountSpec = MountBody;

export interface MountRequestInput {
  binds?: string[] | null;
  mounts?: MountSpec[] | null;
  tmpfs?: Record<string, string> | null;
  /** Config.Volumes after merging the image's: each becomes an anonymous volume unless something else is mounted there. */
  configVolumes?: Record<string, unknown> | null;
  /** HostConfig.VolumeDriver: only "" or "local". */
  volumeDriver?: string;
}
