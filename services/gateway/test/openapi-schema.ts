import type { OpenAPIObject } from '@nestjs/swagger';

/** A JSON schema of the gateway's OpenAPI document, as the tests read it. */
export type Schema = Record<string, unknown>;

/** Resolves `$ref` and a single `allOf` to the schema they name. */
export function resolveSchema(document: OpenAPIObject, schema: Schema): Schema {
  const ref = schema['$ref'];
  if (typeof ref === 'string') {
    const name = ref.split('/').pop() ?? '';
    return resolveSchema(document, (document.components?.schemas?.[name] ?? {}) as Schema);
  }
  const allOf = schema['allOf'] as Schema[] | undefined;
  if (allOf?.length === 1 && allOf[0]) return resolveSchema(document, allOf[0]);
  return schema;
}
