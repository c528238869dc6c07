/** What a merchant sees in `error.type`: the family of the error (Stripe's types). */
export const API_ERROR_TYPES = [
  'invalid_request_error',
  'authentication_error',
  'idempotency_error',
  'rate_limit_error',
  'card_error',
  'api_error',
] as const;
export type ApiErrorType = (typeof API_ERROR_TYPES)[number];

/**
 * What a merchant sees in `error.code`: one value per way a request can fail (Stripe's
 * codes). This list is the API's whole vocabulary: every feature's HTTP switch answers
 * each of its domain codes with one of these.
 */
export const API_ERROR_CODES = [
  'parameter_invalid',
  'parameter_unknown',
  'parameter_missing',
  'body_malformed',
  'csv_malformed',
  'body_too_large',
  'request_invalid',
  'resource_missing',
  'api_key_missing',
  'api_key_invalid',
  'idempotency_error',
  'idempotency_key_in_use',
  'rate_limit',
  'amount_too_large',
  'payment_unexpected_state',
  'charge_already_refunded',
  'card_declined',
  'insufficient_funds',
  'processing_error',
  'api_error',
  'service_unavailable',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/**
 * Why an issuer declined a card, in `error.decline_code` of a `card_error` (Stripe's
 * decline codes; a decline without a more precise reason is `generic_decline`).
 */
export const DECLINE_CODES = ['generic_decline', 'insufficient_funds'] as const;
export type DeclineCode = (typeof DECLINE_CODES)[number];

/** How an error code answers over HTTP: what each feature's switch gives for each of its codes. */
export interface HttpErrorShape {
  status: number;
  type: ApiErrorType;
  code: ApiErrorCode;
  /** The request parameter at fault, if one is (`amount`, `pricing.percent_bps`). */
  param: string | null;
  /** For a card the issuer declined: why, as `error.decline_code`. */
  declineCode?: DeclineCode;
}

/** The shape of a fault of ours: whatever the code, the client learns no more than this. */
export const API_ERROR_SHAPE: HttpErrorShape = {
  status: 500,
  type: 'api_error',
  code: 'api_error',
  param: null,
};

/**
 * The shape of a request that could not be served in time: the broker or the database
 * is away or slow, or a result did not come within its wait. Not a fault of the request
 * nor a verdict on it: answered 503 with `Retry-After`, never left hanging nor 500.
 */
export const SERVICE_UNAVAILABLE_SHAPE: HttpErrorShape = {
  status: 503,
  type: 'api_error',
  code: 'service_unavailable',
  param: null,
};

/** `Retry-After` of a 503: long enough for a reconnect, short enough to feel like a blip. */
export const SERVICE_UNAVAILABLE_RETRY_AFTER_S = 2;

/**
 * Fields an error object carries only where they apply, named as on the wire: the
 * payment a `card_error` is about (Stripe's `payment_intent`) and why its issuer
 * declined.
 */
export interface ErrorFields {
  payment?: string;
  decline_code?: DeclineCode;
}

/** The wire form of every error the gateway answers. */
export interface ErrorBody {
  error: {
    type: ApiErrorType;
    code: ApiErrorCode;
    message: string;
    param: string | null;
  } & ErrorFields;
}

/** An error as the gateway answers it: status, body, and `Retry-After` when it applies. */
export interface ErrorAnswer {
  status: number;
  body: ErrorBody;
  /** Seconds after which a retry may succeed (rate limits, 503); sent as `Retry-After`. */
  retryAfterS: number | null;
}

/** The answer of an error of this shape and message; `payment` names a card error's payment. */
export function errorAnswer(
  shape: HttpErrorShape,
  message: string,
  extra: { payment?: string | null; retryAfterS?: number | null } = {},
): ErrorAnswer {
  const fields: ErrorFields = {};
  if (shape.type === 'card_error' && extra.payment) fields.payment = extra.payment;
  if (shape.declineCode !== undefined) fields.decline_code = shape.declineCode;
  return {
    status: shape.status,
    body: { error: { type: shape.type, code: shape.code, message, param: shape.param, ...fields } },
    retryAfterS: extra.retryAfterS ?? null,
  };
}

/**
 * An id that names nothing of the caller's (or a route that does not exist): 404
 * `resource_missing`, naming the parameter that held the id.
 */
export function resourceMissing(param: string | null): HttpErrorShape {
  return { status: 404, type: 'invalid_request_error', code: 'resource_missing', param };
}

/** A request the API refuses as asked (a parameter, a state, an amount): 400. */
export function invalidRequest(code: ApiErrorCode, param: string | null): HttpErrorShape {
  return { status: 400, type: 'invalid_request_error', code, param };
}
