/**
 * Request bodies checked against the schemas in openapi/ the way dockerd's encoding/json treats
 * them: unknown fields pass, a wrong type is a 400 naming the field, and `null` means "not set".
 * A helper rather than fastify's `schema.body`, so the content-type rule of jsonBody() runs
 * first and bodies streamed under other content types never reach ajv.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifyRequest } from 'fastify';
import { invalidParameter } from '../translate/errors.js';
import type { Validated } from '../openapi/validated.js';
import { jsonBody } from './body.js';

/** The subset of JSON Schema the request schemas use; enough to walk a value alongside. */
export type BodySchema = {
  readonly $id?: string;
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, BodySchema>>;
  readonly additionalProperties?: BodySchema | boolean;
  readonly items?: BodySchema;
};

const ajv = new Ajv({ allErrors: false, allowUnionTypes: true, coerceTypes: false, removeAdditional: false });
const compiled = new WeakMap<BodySchema, ValidateFunction>();

function validatorFor(schema: BodySchema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `/HostConfig/Memory` → `HostConfig.Memory`, `/Cmd/0` → `Cmd[0]`, `/Labels/a.b` → `Labels["a.b"]`. */
export function fieldPath(instancePath: string): string {
  if (instancePath === '') return '';
  let out = '';
  for (const raw of instancePath.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(seg)) out += `[${seg}]`;
    else if (IDENT.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

function describe(err: ErrorObject): string {
  const field = fieldPath(err.instancePath) || 'request body';
  if (err.keyword === 'type') {
    const t = (err.params as { type: string | string[] }).type;
    const types = (Array.isArray(t) ? t : String(t).split(',')).filter((x) => x !== 'null');
    return `${field} must be ${types.join(' or ')}`;
  }
  return `${field} ${err.message ?? 'is invalid'}`;
}

function nonNullTypes(schema: BodySchema): string[] {
  const t = schema.type;
  return (t === undefined ? [] : typeof t === 'string' ? [t] : [...t]).filter((x) => x !== 'null');
}

/** Go's zero value for a scalar element; undefined when the element is not a plain scalar. */
function zeroOf(schema: BodySchema): string | number | boolean | undefined {
  const [only, ...more] = nonNullTypes(schema);
  if (more.length > 0) return undefined;
  if (only === 'string') return '';
  if (only === 'integer' || only === 'number') return 0;
  if (only === 'boolean') return false;
  return undefined;
}

/** A struct schema (an object with named fields), as opposed to a map or a scalar. */
function isStruct(schema: BodySchema): boolean {
  return schema.properties !== undefined && nonNullTypes(schema).every((t) => t === 'object');
}

/**
 * Go leaves a struct field untouched when the JSON says null, so a null field is dropped (our
 * services then see "absent", as dockerd does); a null scalar inside a list or map becomes the
 * zero value Go would store there, and a null struct in a list an empty one. Null objects inside
 * maps, and null lists inside lists, stay (Go's nil pointer/slice).
 */
function dropNulls(value: unknown, schema: BodySchema): void {
  if (Array.isArray(value)) {
    const items = schema.items;
    if (!items) return;
    const zero = zeroOf(items);
    const struct = isStruct(items);
    value.forEach((item: unknown, i) => {
      if (item === null) {
        if (zero !== undefined) value[i] = zero;
        // Go stores a zero struct for null in a []Struct (HostConfig.Mounts: [null]), so the
        // services see an empty object and refuse it with dockerd's words, never a TypeError.
        else if (struct) value[i] = {};
      } else dropNulls(item, items);
    });
    return;
  }
  if (!value || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  for (const key of Object.keys(obj)) {
    const known = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
    const sub = known ?? extra;
    if (!sub) continue;
    if (obj[key] === null) {
      if (known) delete obj[key];
      else {
        const zero = zeroOf(sub);
        if (zero !== undefined) obj[key] = zero;
      }
    } else dropNulls(obj[key], sub);
  }
}

/**
 * Checks a parsed body and returns it with nulls resolved; a top-level null is no body at all.
 * Throws a 400 naming the first wrong field, with dockerd's "invalid JSON" prefix.
 */
export function checkBody<S extends BodySchema>(schema: S, body: unknown): Validated<S> | undefined {
  if (body === undefined || body === null) return undefined;
  const validate = validatorFor(schema);
  if (!validate(body)) {
    const first = validate.errors?.[0];
    throw invalidParameter(`invalid JSON: ${first ? describe(first) : 'request body is invalid'}`);
  }
  dropNulls(body, schema);
  // What the schema checked and dropNulls resolved is what Validated<S> describes (openapi/validated.ts).
  return body as Validated<S>;
}

/** jsonBody() (dockerd's content-type rule) followed by checkBody(). */
export async function validatedJsonBody<S extends BodySchema>(request: FastifyRequest, schema: S): Promise<Validated<S> | undefined> {
  return checkBody(schema, await jsonBody(request));
}
