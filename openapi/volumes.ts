/** JSON Schemas for the Volume Burrow serves (tests check replies against it) and the create body, from the Engine API definitions. */
import { str as nstr, strMap as nstrMap, struct } from './types.js';

const str = { type: 'string' } as const;
const stringMap = { type: 'object', additionalProperties: str } as const;

export const volumeSchema = {
  $id: 'Volume',
  type: 'object',
  required: ['Name', 'Driver', 'Mountpoint', 'Labels', 'Scope', 'Options'],
  properties: {
    Name: str,
    Driver: str,
    Mountpoint: str,
    CreatedAt: { type: 'string', pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)$' },
    Status: { type: 'object' },
    Labels: stringMap,
    Scope: { enum: ['local', 'global'] },
    Options: stringMap,
    UsageData: {
      type: ['object', 'null'],
      required: ['Size', 'RefCount'],
      properties: { Size: { type: 'integer' }, RefCount: { type: 'integer' } },
    },
  },
} as const;

/** POST /volumes/create's body (VolumeCreateOptions); ClusterVolumeSpec is swarm-only and only needs to be an object. */
export const volumeCreateRequestSchema = {
  $id: 'VolumeCreateOptions',
  ...struct({ Name: nstr, Driver: nstr, DriverOpts: nstrMap, Labels: nstrMap, ClusterVolumeSpec: { type: ['object', 'null'] } }),
} as const;
