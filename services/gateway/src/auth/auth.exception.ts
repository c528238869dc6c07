import type { HttpErrorShape } from '../http/api-error';
import { DomainError } from '../common/domain-error';

/** The ways authentication fails. */
export enum AuthErrorCode {
  /** No `Authorization` header. */
  ApiKeyMissing = 'api_key_missing',
  /** A header that is not `Bearer <key>`, or a key that is not (or no longer) valid. */
  ApiKeyInvalid = 'api_key_invalid',
}

/** How each code answers over HTTP; exhaustive, so a new code must choose its answer. */
export function authErrorHttp(code: AuthErrorCode): HttpErrorShape {
  switch (code) {
    case AuthErrorCode.ApiKeyMissing:
    case AuthErrorCode.ApiKeyInvalid:
      return { status: 401, type: 'authentication_error', code, param: null };
    default: {
      const unknown: never = code;
      throw new Error(`no HTTP shape for auth error code ${String(unknown)}`);
    }
  }
}

/** The caller is not who the route needs: `new AuthError('…', AuthErrorCode.ApiKeyInvalid)`. */
export class AuthError extends DomainError<AuthErrorCode> {
  override readonly name = 'AuthError';
}
