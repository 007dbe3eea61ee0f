import { Ajv, type AnySchema } from 'ajv';

const ajv = new Ajv({ allErrors: true, strict: false });

/** Throws with ajv's own words when a reply does not match what we promise to serve. */
export function assertMatchesSchema(schema: AnySchema & { $id?: string }, value: unknown): void {
  const validate = (schema.$id && ajv.getSchema(schema.$id)) || ajv.compile(schema);
  if (!validate(value)) {
    throw new Error(`reply does not match ${schema.$id ?? 'schema'}: ${ajv.errorsText(validate.errors)}`);
  }
}
