import { ValidateBy, type ValidationOptions } from 'class-validator';

/** Stripe's limits on metadata: keys per object, and characters per key and per value. */
export const METADATA_KEYS_MAX = 50;
export const METADATA_KEY_LENGTH_MAX = 40;
export const METADATA_VALUE_LENGTH_MAX = 500;

/** Why `value` is not valid metadata, or null if it is. */
export function metadataProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'must be an object of string values';
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > METADATA_KEYS_MAX) return `must have at most ${METADATA_KEYS_MAX} keys`;
  for (const [key, item] of entries) {
    if (key.length === 0 || key.length > METADATA_KEY_LENGTH_MAX || /[[\]]/.test(key)) {
      return `keys must be 1 to ${METADATA_KEY_LENGTH_MAX} characters without square brackets`;
    }
    if (typeof item !== 'string') return `the value of '${key}' must be a string`;
    if (item.length > METADATA_VALUE_LENGTH_MAX) {
      return `the value of '${key}' must be at most ${METADATA_VALUE_LENGTH_MAX} characters`;
    }
  }
  return null;
}

/** Key-value metadata within Stripe's limits (a flat object of strings). */
export function IsMetadata(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isMetadata',
      validator: {
        validate: (value: unknown) => metadataProblem(value) === null,
        defaultMessage: (args) => metadataProblem(args?.value) ?? 'must be valid metadata',
      },
    },
    options,
  );
}
