import type { HttpErrorShape } from '../http/api-error';
import { DomainError } from '../common/domain-error';

/** The ways an `Idempotency-Key` refuses a request (named as the API's codes for them). */
export enum IdempotencyErrorCode {
  /** The key was first used with another request (method, path or body). */
  KeyReused = 'idempotency_error',
  /** The first request with this key is still running. */
  KeyInUse = 'idempotency_key_in_use',
  /** The stored response holds a sealed secret that no longer opens (the key changed). */
  ReplayUnavailable = 'idempotency_replay_unavailable',
}

const HEADER_PARAM = 'Idempotency-Key';

/** How each code answers over HTTP; exhaustive, so a new code must choose its answer. */
export function idempotencyErrorHttp(code: IdempotencyErrorCode): HttpErrorShape {
  switch (code) {
    case IdempotencyErrorCode.KeyReused:
      return {
        status: 422,
        type: 'idempotency_error',
        code: 'idempotency_error',
        param: HEADER_PARAM,
      };
    case IdempotencyErrorCode.KeyInUse:
      return {
        status: 409,
        type: 'idempotency_error',
        code: 'idempotency_key_in_use',
        param: HEADER_PARAM,
      };
    case IdempotencyErrorCode.ReplayUnavailable:
      return {
        status: 409,
        type: 'idempotency_error',
        code: 'idempotency_error',
        param: HEADER_PARAM,
      };
    default: {
      const unknown: never = code;
      throw new Error(`no HTTP shape for idempotency error code ${String(unknown)}`);
    }
  }
}

/** A request its `Idempotency-Key` refuses: `new IdempotencyError('…', IdempotencyErrorCode.X)`. */
export class IdempotencyError extends DomainError<IdempotencyErrorCode> {
  override readonly name = 'IdempotencyError';
}
