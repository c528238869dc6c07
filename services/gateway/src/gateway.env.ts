import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  Matches,
  Max,
  Min,
  Validate,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { CommonEnvironment } from '@clearline/platform';
import {
  MoneyDestinationInProduction,
  PROCESSOR_NAMES,
  type ProcessorName,
} from '@clearline/processor';
import { decodeSecretBoxKey } from './common/secret-box';
import { parseTrustProxy, TRUST_PROXY_HOPS_MAX } from './rate-limit/client-address';

/** What `REDIS_KEY_PREFIX` may hold. */
export const REDIS_KEY_PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The longest a request may wait for a payment's outcome (`PAYMENT_WAIT_MS`, `Prefer: wait`). */
export const PAYMENT_WAIT_MS_MAX = 30_000;

/** The longest a webhook attempt may be given (`WEBHOOK_TIMEOUT_MS`). */
export const WEBHOOK_TIMEOUT_MS_MAX = 30_000;

/** The longest an operator's request may wait for a settlement run to start (`SETTLEMENT_RUN_WAIT_MS`). */
export const SETTLEMENT_RUN_WAIT_MS_MAX = 60_000;

/** The longest `OPERATION_RESUME_AFTER_MS` (a day). */
export const OPERATION_RESUME_AFTER_MS_MAX = 24 * 3_600_000;

/** The shortest `ADMIN_API_KEY`: 32 characters, so it cannot be guessed. */
export const ADMIN_API_KEY_LENGTH_MIN = 32;

/** `TRUST_PROXY`: what `parseTrustProxy` reads. */
@ValidatorConstraint({ name: 'trustProxy' })
class TrustProxyValue implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && parseTrustProxy(value) !== null;
  }

  defaultMessage(): string {
    return (
      `must be a number of proxies (1 to ${TRUST_PROXY_HOPS_MAX}) or a comma list of ` +
      'proxy addresses, subnets (10.0.0.0/8) and loopback, linklocal, uniquelocal'
    );
  }
}

/** `SECRETS_ENCRYPTION_KEY`: 32 bytes in base64 when set; required with NODE_ENV=production. */
@ValidatorConstraint({ name: 'secretsEncryptionKey' })
class SecretsEncryptionKey implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    if (value === undefined) return (args.object as GatewayEnvironment).NODE_ENV !== 'production';
    return typeof value === 'string' && decodeSecretBoxKey(value) !== null;
  }

  defaultMessage(): string {
    return 'must be 32 random bytes in base64 (openssl rand -base64 32); required with NODE_ENV=production';
  }
}

export class GatewayEnvironment extends CommonEnvironment {
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  GATEWAY_PORT = 3000;

  /**
   * The operators' bearer key for `/v1/admin`, at least 32 characters. Required: `npm
   * start` generates one in development; production takes it from a secret. There is no
   * default on purpose.
   */
  @Matches(new RegExp(`^\\S{${ADMIN_API_KEY_LENGTH_MIN},512}$`), {
    message: `must be set: ${ADMIN_API_KEY_LENGTH_MIN} to 512 characters, no spaces (openssl rand -hex 24)`,
  })
  ADMIN_API_KEY!: string;

  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /**
   * Put before every Redis key this deployment writes, so deployments (and test runs)
   * sharing a Redis never count each other's requests. No braces: the prefix must not
   * become a key's Cluster hash tag.
   */
  @Matches(REDIS_KEY_PREFIX_PATTERN, {
    message: 'must be 1 to 64 letters, digits or _ . : - (no braces or spaces)',
  })
  REDIS_KEY_PREFIX = 'clearline:';

  /** Sustained requests per second per API key; bursts of twice this are allowed. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  RATE_LIMIT_PER_S = 100;

  /**
   * What rate limits do when Redis cannot answer within 250 ms: `closed` answers 503
   * `service_unavailable` with `Retry-After`, `open` lets the request through and logs a
   * warning (at most every 10 s). Unset: closed with NODE_ENV=production, else open.
   */
  @IsIn(['open', 'closed'], { message: 'must be open or closed' })
  @IsOptional()
  RATE_LIMIT_REDIS_FAILURE?: 'open' | 'closed';

  /**
   * Failed merchant authentications (no key, a malformed, unknown or revoked key) one
   * client address may make per minute; past it the address answers 429 on merchant
   * routes for a minute, except for keys this process has just verified.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100_000)
  AUTH_FAILURE_LIMIT_PER_MIN = 30;

  /**
   * Failed authentications on `/v1/admin` one client address may make per minute; past
   * it every admin request from the address answers 429 for a minute, the right key too.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  ADMIN_AUTH_FAILURE_LIMIT_PER_MIN = 10;

  /**
   * Which proxies in front of the gateway name the client in `X-Forwarded-For` (the
   * address failed authentications are counted against): unset trusts none (the socket's
   * peer is the client); a number trusts that many proxies; a comma list trusts proxies
   * at those addresses or subnets.
   */
  @Validate(TrustProxyValue)
  @IsOptional()
  TRUST_PROXY?: string;

  /**
   * The card processor payments go to; `sandbox` knows the test tokens. Unset: the
   * sandbox, except with NODE_ENV=production, which must name it (see
   * `MoneyDestinationInProduction`).
   */
  @Validate(MoneyDestinationInProduction, [PROCESSOR_NAMES])
  PAYMENT_PROCESSOR?: ProcessorName;

  /** Lets a production-like deployment (staging) run on the sandbox processor and rail. */
  @IsIn(['0', '1'])
  ALLOW_SANDBOX_IN_PRODUCTION: '0' | '1' = '0';

  /**
   * How long a payment request waits for its outcome before answering 202 (the client
   * may choose with `Prefer: wait=N` or `respond-async`).
   */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(PAYMENT_WAIT_MS_MAX)
  PAYMENT_WAIT_MS = 10_000;

  /**
   * A webhook attempt fails unless the merchant's endpoint is connected within this
   * (DNS lookup included); it counts within `WEBHOOK_TIMEOUT_MS`.
   */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(WEBHOOK_TIMEOUT_MS_MAX)
  WEBHOOK_CONNECT_TIMEOUT_MS = 2_000;

  /**
   * A webhook attempt fails unless the endpoint's answer (status and headers) arrives
   * within this, from the start of the attempt; the body is never read.
   */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(WEBHOOK_TIMEOUT_MS_MAX)
  WEBHOOK_TIMEOUT_MS = 5_000;

  /**
   * Webhook deliveries of one merchant in flight at once, per gateway process: more are
   * put back for later (not an attempt), so one merchant's slow endpoint holds at most
   * this many of the webhook lane's handler slots.
   */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000)
  WEBHOOK_MERCHANT_IN_FLIGHT_MAX = 4;

  /**
   * `1` lets merchants register `http://` webhook URLs (development, tests); `0`, the
   * default, takes `https://` only.
   */
  @IsIn(['0', '1'], { message: 'must be 0 (https webhook URLs only) or 1 (http allowed too)' })
  WEBHOOK_ALLOW_HTTP: '0' | '1' = '0';

  /**
   * `1` lets webhook URLs name loopback, private (RFC 1918, fc00::/7), link-local and
   * CGNAT hosts, for development and tests whose endpoints are local; `0`, the default,
   * refuses them at registration and at every delivery. Never metadata, multicast,
   * broadcast, unspecified or documentation addresses. Warned about in production.
   */
  @IsIn(['0', '1'], { message: 'must be 0 (public webhook hosts only) or 1 (private allowed)' })
  WEBHOOK_ALLOW_PRIVATE: '0' | '1' = '0';

  /**
   * Seals secrets kept at rest for idempotent replays (API keys, webhook secrets):
   * AES-256-GCM, 32 bytes in base64. Required in production; elsewhere a key is generated
   * per process (with a warning), so such replays fail after a restart.
   */
  @Validate(SecretsEncryptionKey)
  SECRETS_ENCRYPTION_KEY?: string;

  /**
   * A payment's authorization, capture or cancel, or a refund, still in flight this long
   * after it began (or was last resumed) is resumed by the sweeper (`resume-operations`,
   * every 30 s).
   */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(OPERATION_RESUME_AFTER_MS_MAX)
  OPERATION_RESUME_AFTER_MS = 60_000;

  /**
   * How long `POST /v1/admin/settlement_runs` waits for the settlement service to start
   * (or find) the run, publish and answer together; past it the request answers 503
   * `service_unavailable` with `Retry-After`.
   */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(SETTLEMENT_RUN_WAIT_MS_MAX)
  SETTLEMENT_RUN_WAIT_MS = 15_000;
}

/** `RATE_LIMIT_REDIS_FAILURE`, or its default: closed in production, open elsewhere. */
export function rateLimitRedisFailure(
  env: Pick<GatewayEnvironment, 'NODE_ENV' | 'RATE_LIMIT_REDIS_FAILURE'>,
): 'open' | 'closed' {
  return env.RATE_LIMIT_REDIS_FAILURE ?? (env.NODE_ENV === 'production' ? 'closed' : 'open');
}
