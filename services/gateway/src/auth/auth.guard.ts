import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import type { GatewayEnvironment } from '../gateway.env';
import type { GatewayRequest } from '../http/http-types';
import { ApiKeysRepository } from '../merchants/api-keys.repository';
import { API_KEY_PREFIX, hashApiKey, secretsEqual } from './api-key';
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

/** Enough of a key to recognise it in a message, never enough to use it. */
function masked(token: string): string {
  return token.length <= 12 ? '****' : `${token.slice(0, 8)}****${token.slice(-4)}`;
}

/**
 * Authenticates every route that declares `@MerchantAuth()` or `@OperatorAuth()` and
 * puts the caller on the request (`request.auth`). Routes without either (health,
 * metrics) are public. It runs before the rate limit, which counts per key.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysRepository,
    private readonly cache: ApiKeyCache,
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
    const token = bearerToken(request);
    request.auth = kind === 'operator' ? this.operator(token) : await this.merchant(token);
    return true;
  }

  private operator(token: string): RequestAuth {
    if (!secretsEqual(token, this.config.get('ADMIN_API_KEY', { infer: true }))) {
      throw new AuthError(
        `Invalid admin API key provided: ${masked(token)}`,
        AuthErrorCode.ApiKeyInvalid,
      );
    }
    return { kind: 'operator' };
  }

  private async merchant(token: string): Promise<RequestAuth> {
    const found = token.startsWith(API_KEY_PREFIX)
      ? await this.lookup(hashApiKey(token))
      : undefined;
    if (!found) {
      throw new AuthError(
        `Invalid API key provided: ${masked(token)}`,
        AuthErrorCode.ApiKeyInvalid,
      );
    }
    return { kind: 'merchant', merchantId: found.merchant_id, apiKeyId: found.id };
  }

  /** The active key with this digest: from the cache, or the database (then cached). */
  private lookup(keyHash: string): Promise<ActiveApiKey | undefined> {
    return this.cache.lookup(keyHash, (hash) => this.apiKeys.findActive(hash));
  }
}
