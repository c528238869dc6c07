import type { OpenAPIObject, OperationObject } from '@nestjs/swagger';

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

const METHODS = ['get', 'post', 'patch', 'put', 'delete'] as const;

/** One operation of the document; `admin` when it takes the operators' key. */
export interface Operation {
  method: string;
  path: string;
  op: OperationObject;
  admin: boolean;
}

/** Every operation the document publishes, so a new route is covered the day it lands. */
export function operationsOf(document: OpenAPIObject): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const op = item[method];
      if (op === undefined) return [];
      const admin = (op.security ?? []).some((s) => 'admin_key' in s);
      return [{ method: method.toUpperCase(), path, op, admin }];
    }),
  );
}
