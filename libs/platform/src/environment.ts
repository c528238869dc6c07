import { plainToInstance, Type } from 'class-transformer';
import { TASK_LANE_DEFAULTS, TASK_LANES, type TaskLane } from '@clearline/contracts';
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

/** `TASK_LANES`: a comma list of lanes, or `none` (a process that consumes no lane). */
@ValidatorConstraint({ name: 'taskLanes' })
class TaskLanesList implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && parseTaskLanes(value) !== null;
  }

  defaultMessage(): string {
    return `must be a comma list of lanes (${TASK_LANES.join(', ')}) or none`;
  }
}

/** The lanes a `TASK_LANES` value names (`none`: no lane); null when it names an unknown one. */
export function parseTaskLanes(value: string): TaskLane[] | null {
  if (value.trim() === 'none') return [];
  const lanes = value.split(',').map((lane) => lane.trim());
  const known = (lane: string): lane is TaskLane =>
    (TASK_LANES as readonly string[]).includes(lane);
  return lanes.every(known) ? [...new Set(lanes)] : null;
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

  /** The realtime lane's prefetch (unless TASK_PREFETCH_REALTIME is set), as before lanes. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  TASK_PREFETCH = TASK_LANE_DEFAULTS.realtime.prefetch;

  /** The realtime lane's concurrency (unless TASK_CONCURRENCY_REALTIME is set), as before lanes. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  TASK_CONCURRENCY = TASK_LANE_DEFAULTS.realtime.concurrency;

  /** The lanes this process consumes: a comma list, or `none`; unset: every lane. */
  @Validate(TaskLanesList)
  @IsOptional()
  TASK_LANES?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  @IsOptional()
  TASK_PREFETCH_REALTIME?: number;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  @IsOptional()
  TASK_CONCURRENCY_REALTIME?: number;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  TASK_PREFETCH_WEBHOOKS = TASK_LANE_DEFAULTS.webhooks.prefetch;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  TASK_CONCURRENCY_WEBHOOKS = TASK_LANE_DEFAULTS.webhooks.concurrency;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  TASK_PREFETCH_BATCH = TASK_LANE_DEFAULTS.batch.prefetch;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  TASK_CONCURRENCY_BATCH = TASK_LANE_DEFAULTS.batch.concurrency;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  DATABASE_POOL_SIZE = 20;

  /**
   * How long a publish waits for the broker's confirm (or, while the broker is away, to be
   * sent at all) before it fails: `PublishTimeoutError` (outcome unknown) or
   * `BrokerUnavailableError` (never sent). The API answers 503 within it.
   */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(600_000)
  TASK_CONFIRM_TIMEOUT_MS = 5_000;

  /** Publishes held in memory while the broker is away; past it a publish is refused at once. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  TASK_PUBLISH_BACKLOG_MAX = 10_000;

  /**
   * Celery's monitoring events (task-sent … task-revoked, worker heartbeats on the
   * `celeryev` exchange, for `celery events` and Flower): `1` (the default) or `0` for
   * none. Celery's remote control (`celery inspect`, `control revoke`) answers either way.
   */
  @IsIn(['0', '1'], { message: 'must be 0 (no Celery events) or 1' })
  TASK_EVENTS: '0' | '1' = '1';

  /**
   * How long a graceful shutdown (SIGTERM) waits for tasks in flight to finish and be
   * acknowledged; the broker redelivers what still runs then. A pod's
   * terminationGracePeriodSeconds must cover its preStop pause, this, and ~10 s to flush
   * results and close (docs/operations.md).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1_000)
  @Max(600_000)
  TASK_DRAIN_TIMEOUT_MS = 15_000;

  /**
   * How long a stopping service (SIGTERM) lets HTTP requests in flight finish before it
   * closes every connection that is still open. From the start of the shutdown, requests
   * that arrive are refused (503, `Connection: close`), so clients that keep connections
   * alive move to another replica instead of holding this one open for ever. Within the
   * ~10 s a pod's terminationGracePeriodSeconds allows to close (docs/operations.md).
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  HTTP_DRAIN_TIMEOUT_MS = 10_000;

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

  /**
   * Unset: Prometheus metrics at `/metrics` on the service's HTTP port. Set: on this port
   * only, served by a second listener of the process, and the HTTP port's `/metrics`
   * answers 404, so the public API never shows them (the `prod` overlay sets 9464).
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  @IsOptional()
  METRICS_PORT?: number;

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
