/**
 * Building blocks for request-body schemas. dockerd decodes bodies with Go's encoding/json, which
 * ignores unknown fields and accepts `null` for every field (a nil pointer/slice/map, or "leave
 * the zero value" for plain strings, numbers and booleans), so every type here admits null.
 * api/validate.ts then drops those nulls the way Go would.
 */
export const str = { type: ['string', 'null'] } as const;
export const bool = { type: ['boolean', 'null'] } as const;
/** Go int/int64: fractions and strings are refused by encoding/json. */
export const int = { type: ['integer', 'null'] } as const;
/** Go uint/uint16/uint64: a negative number is refused too. */
export const uint = { type: ['integer', 'null'], minimum: 0 } as const;
export const strList = { type: ['array', 'null'], items: str } as const;
/** Go's strslice (Cmd, Entrypoint, CapAdd…): a bare string stands for a one-element list. */
export const strSlice = { type: ['array', 'string', 'null'], items: str } as const;
export const strMap = { type: ['object', 'null'], additionalProperties: str } as const;
/** map[string]struct{} (ExposedPorts, Volumes): values must be objects (or null). */
export const emptyObjectMap = { type: ['object', 'null'], additionalProperties: { type: ['object', 'null'] } } as const;
/** Go [2]uint (ConsoleSize): extra elements are discarded by encoding/json, so no length limit. */
export const consoleSize = { type: ['array', 'null'], items: uint } as const;

/** A struct: known fields typed, unknown ones ignored as dockerd does. */
export function struct<const P extends Record<string, object>>(properties: P) {
  return { type: ['object', 'null'], properties } as const;
}

export function listOf<const S extends object>(items: S) {
  return { type: ['array', 'null'], items } as const;
}

export function mapOf<const S extends object>(values: S) {
  return { type: ['object', 'null'], additionalProperties: values } as const;
}
