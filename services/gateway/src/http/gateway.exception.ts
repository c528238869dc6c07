/** What a merchant sees in `error.type`: the family of the error (Stripe's types). */
export const GATEWAY_ERROR_TYPES = [
  'invalid_request_error',
  'authentication_error',
  'idempotency_error',
  'rate_limit_error',
  'card_error',
  'api_error',
] as const;
export type GatewayErrorType = (typeof GATEWAY_ERROR_TYPES)[number];

/**
 * Why an issuer declined a card, in `error.decline_code` of a `card_error` (Stripe's
 * decline codes; a decline without a more precise reason is `generic_decline`).
 */
export const DECLINE_CODES = ['generic_decline', 'insufficient_funds'] as const;
export type DeclineCode = (typeof DECLINE_CODES)[number];

/** What a merchant sees in `error.code`: one value per way a request can fail. */
export enum GatewayErrorCode {
  /** A parameter has the wrong type or value. */
  ParameterInvalid = 'parameter_invalid',
  /** A parameter the route does not take. */
  ParameterUnknown = 'parameter_unknown',
  /** A required parameter is absent. */
  ParameterMissing = 'parameter_missing',
  /** The body is not valid JSON. */
  BodyMalformed = 'body_malformed',
  /** The body is larger than the gateway accepts. */
  BodyTooLarge = 'body_too_large',
  /** Any other request the gateway cannot read (an unsupported method, say). */
  RequestInvalid = 'request_invalid',
  /** No such object for this merchant, or no such route. */
  ResourceMissing = 'resource_missing',
  ApiKeyMissing = 'api_key_missing',
  ApiKeyInvalid = 'api_key_invalid',
  /** The Idempotency-Key was first used with another request. */
  IdempotencyError = 'idempotency_error',
  /** The first request with this Idempotency-Key is still running. */
  IdempotencyKeyInUse = 'idempotency_key_in_use',
  RateLimit = 'rate_limit',
  /** An amount above the documented maximum (or above what can still be captured). */
  AmountTooLarge = 'amount_too_large',
  /** The payment is not in a state that allows this (capture after cancel, say). */
  PaymentUnexpectedState = 'payment_unexpected_state',
  /** The payment has been refunded in full already. */
  ChargeAlreadyRefunded = 'charge_already_refunded',
  /** The issuer declined the card (also the payment's `failure_code`). */
  CardDeclined = 'card_declined',
  /** The issuer declined for insufficient funds (also the payment's `failure_code`). */
  InsufficientFunds = 'insufficient_funds',
  /** The processor could not be reached after the retries; the payment failed. */
  ProcessingError = 'processing_error',
  /** A fault of ours; the message carries an error id that is in the logs. */
  ApiError = 'api_error',
}

export interface GatewayErrorShape {
  status: number;
  type: GatewayErrorType;
}

/**
 * The one place that decides how each error code answers over HTTP. The switch is
 * exhaustive (the linter's switch-exhaustiveness-check and the `never` below), so a
 * new code cannot be added without choosing its status.
 */
export function errorShape(code: GatewayErrorCode): GatewayErrorShape {
  switch (code) {
    case GatewayErrorCode.ParameterInvalid:
    case GatewayErrorCode.ParameterUnknown:
    case GatewayErrorCode.ParameterMissing:
    case GatewayErrorCode.BodyMalformed:
    case GatewayErrorCode.RequestInvalid:
    case GatewayErrorCode.AmountTooLarge:
    case GatewayErrorCode.PaymentUnexpectedState:
    case GatewayErrorCode.ChargeAlreadyRefunded:
      return { status: 400, type: 'invalid_request_error' };
    // A payment that failed is answered as Stripe does: 402 Payment Required.
    case GatewayErrorCode.CardDeclined:
    case GatewayErrorCode.InsufficientFunds:
    case GatewayErrorCode.ProcessingError:
      return { status: 402, type: 'card_error' };
    case GatewayErrorCode.BodyTooLarge:
      return { status: 413, type: 'invalid_request_error' };
    case GatewayErrorCode.ResourceMissing:
      return { status: 404, type: 'invalid_request_error' };
    case GatewayErrorCode.ApiKeyMissing:
    case GatewayErrorCode.ApiKeyInvalid:
      return { status: 401, type: 'authentication_error' };
    case GatewayErrorCode.IdempotencyError:
      return { status: 422, type: 'idempotency_error' };
    case GatewayErrorCode.IdempotencyKeyInUse:
      return { status: 409, type: 'idempotency_error' };
    case GatewayErrorCode.RateLimit:
      return { status: 429, type: 'rate_limit_error' };
    case GatewayErrorCode.ApiError:
      return { status: 500, type: 'api_error' };
    default: {
      const unknown: never = code;
      throw new Error(`no HTTP shape for error code ${String(unknown)}`);
    }
  }
}

/**
 * Fields an error object carries only where they apply, named as on the wire: the
 * payment a `card_error` is about (Stripe's `payment_intent`) and why its issuer
 * declined.
 */
export interface GatewayErrorFields {
  payment?: string;
  decline_code?: DeclineCode;
}

/**
 * A domain error of the gateway. Services throw this (never an HttpException); the
 * exception filter turns it into `{"error": {type, code, message, param, …}}` with the
 * status `errorShape` gives its code.
 */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';

  constructor(
    message: string,
    readonly code: GatewayErrorCode,
    /** The request parameter at fault, if one is (`amount`, `pricing.percent_bps`). */
    readonly param: string | null = null,
    /** Seconds after which a retry may succeed (rate limits); sent as `Retry-After`. */
    readonly retryAfterS: number | null = null,
    readonly fields: Readonly<GatewayErrorFields> = {},
  ) {
    super(message);
  }

  static notFound(what: string, id: string, param: string | null = 'id'): GatewayError {
    return new GatewayError(`No such ${what}: '${id}'`, GatewayErrorCode.ResourceMissing, param);
  }
}

/** The wire form of every error the gateway answers. */
export interface ErrorBody {
  error: {
    type: GatewayErrorType;
    code: GatewayErrorCode;
    message: string;
    param: string | null;
  } & GatewayErrorFields;
}

export function errorBody(error: GatewayError): ErrorBody {
  return {
    error: {
      type: errorShape(error.code).type,
      code: error.code,
      message: error.message,
      param: error.param,
      ...error.fields,
    },
  };
}
