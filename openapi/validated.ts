/**
 * The static type of a request body after api/validate.ts has checked it, computed from its schema
 * (the building blocks of types.ts), so that a schema change changes the type routes and services
 * share. It follows what checkBody guarantees, not the schema's `null`s: a null struct field is
 * dropped (so every field is optional and none is null), a null scalar inside a list or map becomes
 * Go's zero value, a null struct inside a list an empty one; other nulls inside lists and maps stay
 * (Go's nil pointer/slice/map). Unknown fields pass validation and are not in the type.
 * A small mapper rather than json-schema-to-ts: the schemas use five shapes, and FromSchema would
 * keep the nulls validate.ts removes.
 */

type Types<S> = S extends { readonly type: infer T } ? (T extends readonly (infer U)[] ? U : T) : never;

/** A schema whose values api/validate.ts turns into Go's zero value when null inside a list or map. */
type IsScalar<S> = [Exclude<Types<S>, 'null'>] extends ['string' | 'integer' | 'number' | 'boolean'] ? true : false;
type IsStruct<S> = S extends { readonly properties: object } ? true : false;

type Scalar<T> = T extends 'string' ? string : T extends 'integer' | 'number' ? number : T extends 'boolean' ? boolean : never;

/** A list element: a null scalar becomes its zero value, a null struct `{}`; anything else may stay null. */
type Element<S> = IsScalar<S> extends true ? Validated<S> : IsStruct<S> extends true ? Validated<S> : Validated<S> | null;
/** A map value: a null scalar becomes its zero value; anything else (structs included) may stay null. */
type MapValue<S> = IsScalar<S> extends true ? Validated<S> : Validated<S> | null;

type Structured<S, T> = T extends 'array'
  ? S extends { readonly items: infer I }
    ? Element<I>[]
    : unknown[]
  : T extends 'object'
    ? S extends { readonly properties: infer P }
      ? { -readonly [K in keyof P]?: Validated<P[K]> }
      : S extends { readonly additionalProperties: infer A extends object }
        ? Record<string, MapValue<A>>
        : Record<string, unknown>
    : Scalar<T>;

/** The value of a present field (or of the body itself), nulls resolved as checkBody resolves them. */
export type Validated<S> = Types<S> extends infer T ? (T extends 'null' ? never : Structured<S, T>) : never;

