/** JSON Schemas for the image replies Burrow serves (ImageSummary, ImageInspect), from the Engine API definitions. Tests check replies against them. */
const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const imageId = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const;
const strList = { type: 'array', items: str } as const;
const strMap = { type: 'object', additionalProperties: str } as const;

export const imageSummarySchema = {
  $id: 'ImageSummary',
  type: 'object',
  required: ['Id', 'ParentId', 'RepoTags', 'RepoDigests', 'Created', 'Size', 'SharedSize', 'Labels', 'Containers'],
  properties: {
    Id: imageId,
    ParentId: str,
    RepoTags: strList,
    RepoDigests: strList,
    Created: int,
    Size: { type: 'integer', minimum: 0 },
    SharedSize: int,
    Labels: strMap,
    Containers: int,
  },
} as const;

export const imageInspectSchema = {
  $id: 'ImageInspect',
  type: 'object',
  required: ['Id', 'RepoTags', 'RepoDigests', 'Created', 'Config', 'Architecture', 'Os', 'Size', 'GraphDriver', 'RootFS'],
  properties: {
    Id: imageId,
    RepoTags: strList,
    RepoDigests: strList,
    Parent: str,
    Comment: str,
    Created: str,
    DockerVersion: str,
    Author: str,
    Config: {
      type: 'object',
      properties: {
        User: str,
        Env: { type: ['array', 'null'], items: str },
        Cmd: { type: ['array', 'null'], items: str },
        Entrypoint: { type: ['array', 'null'], items: str },
        WorkingDir: str,
        Labels: { type: ['object', 'null'], additionalProperties: str },
      },
    },
    Architecture: str,
    Variant: str,
    Os: str,
    OsVersion: str,
    Size: { type: 'integer', minimum: 0 },
    GraphDriver: { type: 'object', required: ['Name', 'Data'], properties: { Name: str, Data: { type: ['object', 'null'], additionalProperties: str } } },
    RootFS: { type: 'object', required: ['Type'], properties: { Type: { const: 'layers' }, Layers: { type: 'array', items: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } } } },
    Metadata: { type: 'object', properties: { LastTagTime: str } },
  },
} as const;
