export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
} as const;

/** The OCI media type for a layer blob compressed this way. */
export const ociLayerType = (c: Compression): string => (c === 'gzip' ? MEDIA.ociLayerGzip : c === 'zstd' ? MEDIA.ociLayerZstd : MEDIA.ociLayer);

export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerManifestList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', ');

export const isIndexType = (t: string): boolean => t === MEDIA.ociIndex || t === MEDIA.dockerManifestList;
export const isManifestType = (t: string): boolean => t === MEDIA.ociManifest || t === MEDIA.dockerManifest;

export type Compression = 'gzip' | 'zstd' | 'none';

/** How a layer blob is compressed, from its media type (docker and OCI names, foreign layers included). */
export function layerCompression(mediaType: string): Compression | undefined {
  if (/\.tar\.gzip$|\+gzip$|\.tar\+gzip$/.test(mediaType) || mediaType === 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip') return 'gzip';
  if (/\+zstd$/.test(mediaType)) return 'zstd';
  if (/\.diff\.tar$|\.layer\.v1\.tar$/.test(mediaType)) return 'none';
  return undefined;
}
