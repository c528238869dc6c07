import { buildMessage, ValidateBy, type ValidationOptions } from 'class-validator';

/** The largest amount a `bigint` column holds: the ceiling of every amount on the wire. */
export const MINOR_UNITS_MAX = 2n ** 63n - 1n;

const DIGITS = /^[1-9]\d{0,18}$/;

/**
 * A positive amount in minor units, as a string of digits (never a float), no larger
 * than PostgreSQL's `bigint`: what every money field of a task payload carries.
 */
export function isMinorUnits(value: unknown): value is string {
  return typeof value === 'string' && DIGITS.test(value) && BigInt(value) <= MINOR_UNITS_MAX;
}

/** class-validator decorator for {@link isMinorUnits}. */
export function IsMinorUnits(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isMinorUnits',
      validator: {
        validate: (value: unknown) => isMinorUnits(value),
        defaultMessage: buildMessage(
          (each) =>
            `${each}$property must be a positive amount in minor units: a string of digits no larger than ${MINOR_UNITS_MAX}`,
          options,
        ),
      },
    },
    options,
  );
}
