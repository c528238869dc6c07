import { ValidateIf } from 'class-validator';

/**
 * An optional parameter: leaving it out is fine, sending `null` is not. class-validator's
 * `@Optional()` skips every rule for `null` as well, so `{"amount": null}` reached the
 * code as a value no rule had checked; here `null` is validated like any other value, and
 * refused with a 400 naming the parameter.
 */
export function Optional(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}
