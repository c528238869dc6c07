import { ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { ApiSchema } from '@nestjs/swagger';
import type { ValidationError } from 'class-validator';
import { RequestError, RequestErrorCode } from './request.exception';

interface Located {
  path: string;
  error: ValidationError;
}

/** The first error that has constraints of its own, depth first, with its dotted path. */
function firstLeaf(errors: readonly ValidationError[], parent = ''): Located | null {
  for (const error of errors) {
    const path = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints && Object.keys(error.constraints).length > 0) return { path, error };
    const nested = firstLeaf(error.children ?? [], path);
    if (nested) return nested;
  }
  return null;
}

/**
 * Turns class-validator's findings into one Stripe-style error naming the parameter:
 * an unknown field is `parameter_unknown`, an absent required one `parameter_missing`,
 * anything else `parameter_invalid`.
 */
export function toValidationError(errors: readonly ValidationError[]): RequestError {
  const found = firstLeaf(errors);
  if (!found) {
    return new RequestError('The request is invalid', RequestErrorCode.ParameterInvalid);
  }
  const { path, error } = found;
  const constraints = error.constraints ?? {};
  if ('whitelistValidation' in constraints) {
    return new RequestError(
      `Received unknown parameter: ${path}`,
      RequestErrorCode.ParameterUnknown,
      path,
    );
  }
  if (error.value === undefined) {
    return new RequestError(
      `Missing required param: ${path}`,
      RequestErrorCode.ParameterMissing,
      path,
    );
  }
  const [rule, message] = Object.entries(constraints)[0] ?? [];
  return new RequestError(
    `Invalid ${path}: ${message ?? 'invalid value'}`,
    ruleCode(error, rule) ?? RequestErrorCode.ParameterInvalid,
    path,
  );
}

/**
 * The error code a rule names for itself, through class-validator's `context`
 * (`@Max(n, { context: { code: RequestErrorCode.AmountTooLarge } })`); otherwise the
 * finding is a plain `parameter_invalid`.
 */
function ruleCode(error: ValidationError, rule: string | undefined): RequestErrorCode | null {
  if (rule === undefined) return null;
  const context: unknown = error.contexts?.[rule];
  if (typeof context !== 'object' || context === null || !('code' in context)) return null;
  const { code } = context;
  return Object.values(RequestErrorCode).find((known) => known === code) ?? null;
}

/**
 * The body of a route that takes no parameters (`@Body() _: NoParameters`): any field is
 * unknown. (class-validator refuses to validate a class without rules at all.)
 */
@ApiSchema({ name: 'NoParameters', description: 'This route takes no parameters.' })
export class NoParameters {}

const VALIDATED: readonly ArgumentMetadata['type'][] = ['body', 'query', 'param'];

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function noParameters(value: unknown): NoParameters {
  const [unknown] = Object.keys(value ?? {});
  if (unknown !== undefined) {
    throw new RequestError(
      `Received unknown parameter: ${unknown}`,
      RequestErrorCode.ParameterUnknown,
      unknown,
    );
  }
  return new NoParameters();
}

/**
 * Nest's ValidationPipe, strict: unknown fields are rejected (not dropped), values
 * are not coerced (a string is not an amount), and a body must be a JSON object.
 */
export class GatewayValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      stopAtFirstError: true,
      transformOptions: { enableImplicitConversion: false },
      exceptionFactory: (errors) => toValidationError(errors),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (!VALIDATED.includes(metadata.type)) return value;
    if (metadata.type === 'body' && value !== undefined && !isPlainObject(value)) {
      throw new RequestError(
        'The request body must be a JSON object',
        RequestErrorCode.ParameterInvalid,
      );
    }
    if (metadata.metatype === NoParameters) return noParameters(value);
    return (await super.transform(value, metadata)) as unknown;
  }
}
