import { plainToInstance, Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  validateSync,
  type ValidationError,
} from 'class-validator';

/** Variables every Clearline service reads. */
export class CommonEnvironment {
  @IsIn(['development', 'test', 'production'])
  @IsOptional()
  NODE_ENV: 'development' | 'test' | 'production' = 'development';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  @IsOptional()
  LOG_LEVEL = 'info';

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
