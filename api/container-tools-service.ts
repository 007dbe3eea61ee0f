import type { Readable } from 'node:stream';

/** What the archive/export/changes/commit routes need from the engine. */
export interface FilesystemChangeJson {
  Path: string;
  /** 0 modified, 1 added, 2 deleted. */
  Kind: 0 | 1 | 2;
}

export interface PutArchiveOptions {
  noOverwriteDirNonDir: boolean;
  copyUIDGID: boolean;
}

export interface CommitParams {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  pause: boolean;
  changes: string[];
  /** The JSON body (a container config), undefined or null when none was sent. */
  config?: unknown;
}

export interface ContainerToolsService {
  /** The X-Docker-Container-Path-Stat header value; 404 for a missing path. */
  statPath(ref: string, path: string): Promise<string>;
  /** Checks everything before the first byte: errors here are ordinary HTTP errors. */
  getArchive(ref: string, path: string): Promise<{ stat: string; content: Readable }>;
  /** Consumes the whole body, also when it fails. */
  putArchive(ref: string, path: string, body: Readable, opts: PutArchiveOptions): Promise<void>;
  exportRootfs(ref: string): Promise<Readable>;
  changes(ref: string): Promise<FilesystemChangeJson[]>;
  commit(params: CommitParams): Promise<{ Id: string }>;
}
