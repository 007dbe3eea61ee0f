/** JSON Schema for the Volume Burrow serves, written from the Engine API's Volume definition. Tests check replies against it. */
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
