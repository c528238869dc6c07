import { DomainError } from '../common/domain-error';
import {
  invalidRequest,
  resourceMissing,
  SERVICE_UNAVAILABLE_SHAPE,
  type HttpErrorShape,
} from './api-error';

/**
 * The ways a request fails before any feature looks at it: its body, its parameters,
 * its route, its rate. The HTTP edge (validation pipe, exception filter, guards,
 * interceptors) throws these; features throw their own domain errors.
 */
export enum RequestErrorCode {
  /** A parameter has the wrong type or value. */
  ParameterInvalid = 'parameter_invalid',
  /** A parameter the route does not take. */
  ParameterUnknown = 'parameter_unknown',
  /** A required parameter is absent. */
  ParameterMissing = 'parameter_missing',
  /** An amount above the documented maximum (a validation rule's own code). */
  AmountTooLarge = 'amount_too_large',
  /** The body is not valid JSON. */
  BodyMalformed = 'body_malformed',
  /** The body is larger than the gateway accepts. */
  BodyTooLarge = 'body_too_large',
  /** Any other request the gateway cannot read (an unsupported charset, say). */
  RequestInvalid = 'request_invalid',
  /** No such route, or a list cursor that names none of the caller's objects. */
  ResourceMissing = 'resource_missing',
  /** Too many requests with this API key, or failed authentications from this address. */
  RateLimit = 'rate_limit',
  /** The request's rate cannot be checked now (Redis away, RATE_LIMIT_REDIS_FAILURE=closed). */
  RateUnchecked = 'service_unavailable',
}

/**
 * The one place that decides how each request error answers over HTTP. Exhaustive (the
 * linter's switch-exhaustiveness-check and the `never` below); the parameter at fault
 * is the request's (`param`), not the code's.
 */
export function requestErrorHttp(code: RequestErrorCode, param: string | null): HttpErrorShape {
  switch (code) {
    case RequestErrorCode.ParameterInvalid:
    case RequestErrorCode.ParameterUnknown:
    case RequestErrorCode.ParameterMissing:
    case RequestErrorCode.AmountTooLarge:
    case RequestErrorCode.BodyMalformed:
    case RequestErrorCode.RequestInvalid:
      return invalidRequest(code, param);
    case RequestErrorCode.BodyTooLarge:
      return { status: 413, type: 'invalid_request_error', code, param };
    case RequestErrorCode.ResourceMissing:
      return resourceMissing(param);
    case RequestErrorCode.RateLimit:
      return { status: 429, type: 'rate_limit_error', code, param };
    case RequestErrorCode.RateUnchecked:
      return SERVICE_UNAVAILABLE_SHAPE;
    default: {
      const unknown: never = code;
      throw new Error(`no HTTP shape for request error code ${String(unknown)}`);
    }
  }
}

/** A request the gateway refuses at its edge: `new RequestError('…', RequestErrorCode.X, 'amount')`. */
export class RequestError extends DomainError<RequestErrorCode> {
  override readonly name = 'RequestError';

  constructor(
    message: string,
    code: RequestErrorCode,
    /** The request parameter at fault, if one is (`amount`, `pricing.percent_bps`). */
    readonly param: string | null = null,
    /** Seconds after which a retry may succeed (rate limits); sent as `Retry-After`. */
    readonly retryAfterS: number | null = null,
  ) {
    super(message, code);
  }
}
