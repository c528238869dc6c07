import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import type { GatewayEnvironment } from '../gateway.env';
import type { GatewayRequest } from '../http/http-types';
import { ApiKeysRepository } from '../merchants/api-keys.repository';
import { AuthFailureLimiter } from '../rate-limit/auth-failure-limiter';
import { API_KEY_PATTERN, API_KEY_PREFIX, hashApiKey, secretsEqual } from './api-key';
import { ApiKeyCache, type ActiveApiKey } from './api-key-cache';
import { AuthError, AuthErrorCode } from './auth.exception';
import { AUTH_METADATA, type AuthKind } from './auth.decorators';
import type { RequestAuth } from './request-auth';

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const TOKEN_LENGTH_MAX = 512;

function bearerToken(request: GatewayRequest): string {
  const header = request.headers.authorization;
  if (header === undefined || header === '') {
    throw new AuthError(
      "You did not provide an API key. Send it as 'Authorization: Bearer <key>'",
      AuthErrorCode.ApiKeyMissing,
    );
  }
  const match = BEARER.exec(header);
  const token = match?.[1];
  if (token === undefined || token.length > TOKEN_LENGTH_MAX) {
    throw new AuthError(
      "Invalid Authorization header. Send 'Authorization: Bearer <key>'",
      AuthErrorCode.ApiKeyInvalid,
    );
  }
  return token;
}

/**
 * A well-formed key that is not (or no longer) valid, named by its prefix and last four
 * characters so its owner can tell which one it was; never more of it.
 */
function invalidKey(token: string): AuthError {
  return new AuthError(
    `Invalid API key provided: ${API_KEY_PREFIX}****${token.slice(-4)}`,
    AuthErrorCode.ApiKeyInvalid,
  );
}

/** A token that cannot be a key: nothing of it is echoed (it may be anything at all). */
function malformedKey(): AuthError {
  return new AuthError(
    `Invalid API key provided: a key is ${API_KEY_PREFIX} followed by 32 letters and digits`,
    AuthErrorCode.ApiKeyInvalid,
  );
}

/**
 * Authenticates every route that declares `@MerchantAuth()` or `@OperatorAuth()` and
 * puts the caller on the request (`request.auth`). Routes without either (health,
 * metrics) are public. It runs before the rate limit, which counts per key.
 *
 * Every failure (no key, a malformed, unknown or revoked key, a wrong admin key) answers
 * 401 and is counted against the client's address (AuthFailureLimiter); past the
 * address's limit it answers 429. A merchant token is checked for the shape of a key
 * first, then against the cache (keys known active, digests known unknown), and only
 * then, if the address is not blocked, against the database: a flood of bad keys never
 * costs a query each. An address blocked for admin failures is refused before its key is
 * compared, so guessing the admin key stops at the limit.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysRepository,
    private readonly cache: ApiKeyCache,
    private readonly failures: AuthFailureLimiter,
    private readonly config: ConfigService<GatewayEnvironment, true>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const kind = this.reflector.getAllAndOverride<AuthKind | undefined>(AUTH_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (kind === undefined) return true;
    const request = context.switchToHttp().getRequest<GatewayRequest>();
    try {
      request.auth =
        kind === 'operator' ? await this.operator(request) : await this.merchant(request);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      throw await this.failures.failed(request, kind, error);
    }
    return true;
  }

  private async operator(request: GatewayRequest): Promise<RequestAuth> {
    await this.failures.assertNotBlocked(request, 'operator');
    const token = bearerToken(request);
    if (!secretsEqual(token, this.config.get('ADMIN_API_KEY', { infer: true }))) {
      throw new AuthError('Invalid admin API key provided', AuthErrorCode.ApiKeyInvalid);
    }
    return { kind: 'operator' };
  }

  private async merchant(request: GatewayRequest): Promise<RequestAuth> {
    const token = bearerToken(request);
    if (!API_KEY_PATTERN.test(token)) throw malformedKey();
    const keyHash = hashApiKey(token);
    const cached = this.cache.get(keyHash);
    let key: ActiveApiKey | undefined;
    if (cached === undefined) {
      await this.failures.assertNotBlocked(request, 'merchant');
      key = await this.lookup(keyHash);
    } else if (cached.state === 'active') {
      key = cached.key;
    }
    if (!key) throw invalidKey(token);
    return { kind: 'merchant', merchantId: key.merchant_id, apiKeyId: key.id };
  }

  /** The active key with this digest: from the cache, or the database (then cached). */
  private lookup(keyHash: string): Promise<ActiveApiKey | undefined> {
    return this.cache.lookup(keyHash, (hash) => this.apiKeys.findActive(hash));
  }
}
