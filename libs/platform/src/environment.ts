import { plainToInstance, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  Validate,
  validateSync,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidationError,
  type ValidatorConstraintInterface,
} from 'class-validator';

/** How a service writes its logs: one JSON object per line, or readable lines for a terminal. */
export type LogFormat = 'json' | 'pretty';

/** Readable logs are for a developer's terminal; production logs are read by machines. */
@ValidatorConstraint({ name: 'notInProduction' })
class NotPrettyInProduction implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return value !== 'pretty' || (args.object as CommonEnvironment).NODE_ENV !== 'production';
  }

  defaultMessage(): string {
    return 'pretty is for development; with NODE_ENV=production logs are JSON (unset it or set json)';
  }
}

/** Variables every Clearline service reads. */
export class CommonEnvironment {
  @IsIn(['development', 'test', 'production'])
  @IsOptional()
  NODE_ENV: 'development' | 'test' | 'production' = 'development';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  @IsOptional()
  LOG_LEVEL = 'info';

  /**
   * Unset: pretty when NODE_ENV=development and stdout is a terminal, else JSON. A test
   * or production process always writes JSON (see `logFormat`).
   */
  @IsIn(['json', 'pretty'])
  @Validate(NotPrettyInProduction)
  @IsOptional()
  LOG_FORMAT?: LogFormat;

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' })
  DATABASE_URL = 'postgres://clearline:clearline@127.0.0.1:5432/clearline';

  @Matches(/^amqps?:\/\/.+/, { message: 'must be an amqp:// URL' })
  AMQP_URL = 'amqp://clearline:clearline@127.0.0.1:5672/clearline';

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  TASK_PREFETCH = 200;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  TASK_CONCURRENCY = 100;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  DATABASE_POOL_SIZE = 20;

  /** A statement running longer is cancelled (57014); a job that needs more uses SET LOCAL. */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  DATABASE_STATEMENT_TIMEOUT_MS = 15_000;

  /** A statement waiting longer for a lock gives up (55P03, retried as transient). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600_000)
  DATABASE_LOCK_TIMEOUT_MS = 5_000;

  /**
   * A session idle this long inside a transaction is ended by the server. At least 10 s:
   * the outbox relay waits for publish confirms (5 s) inside its transaction.
   */
  @Type(() => Number)
  @IsInt()
  @Min(10_000)
  @Max(3_600_000)
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;

  /** How long a query waits for a pool connection before it fails (503 at the API). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  DATABASE_POOL_TIMEOUT_MS = 5_000;

  @IsString()
  @IsOptional()
  HOSTNAME?: string;
}

function messages(errors: ValidationError[]): string[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((text) => `  ${error.property}: ${text}`),
  );
}

/**
 * Validates `raw` (normally process.env) into a typed object, or throws an error
 * naming every bad variable. Values are never echoed: some are secrets.
 */
export function validateEnvironment<T extends object>(
  schema: new () => T,
  raw: Record<string, unknown>,
): T {
  const defined = Object.fromEntries(
    Object.entries(raw).filter(([, value]) => value !== undefined && value !== ''),
  );
  const env = plainToInstance(schema, defined, {
    enableImplicitConversion: false,
    exposeDefaultValues: true,
  });
  const errors = validateSync(env, { whitelist: false, skipMissingProperties: false });
  if (errors.length > 0) {
    throw new Error(`Invalid environment:\n${messages(errors).join('\n')}`);
  }
  return env;
}
