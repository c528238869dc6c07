import { HttpException } from '@nestjs/common';
import { isTransientDatabaseError } from '@clearline/persistence';
import { BrokerUnavailableError, PublishTimeoutError, TaskTimeoutError } from '@clearline/tasks';
import { AuthError, AuthErrorCode, authErrorHttp } from '../auth/auth.exception';
import type { DomainError } from '../common/domain-error';
import { EventError, eventErrorHttp } from '../events/events.exception';
import { IdempotencyError, idempotencyErrorHttp } from '../idempotency/idempotency.exception';
import { MerchantError, merchantErrorHttp } from '../merchants/merchants.exception';
import { OperationsError, operationsErrorHttp } from '../operations/operations.exception';
import { PaymentError, paymentErrorHttp } from '../payments/payments.exception';
import {
  ReconciliationError,
  reconciliationErrorHttp,
} from '../reconciliations/reconciliations.exception';
import { RefundRequestError, refundRequestErrorHttp } from '../refunds/refunds.exception';
import { SettlementError, settlementErrorHttp } from '../settlements/settlements.exception';
import {
  errorAnswer,
  SERVICE_UNAVAILABLE_RETRY_AFTER_S,
  SERVICE_UNAVAILABLE_SHAPE,
  type ErrorAnswer,
  type HttpErrorShape,
} from './api-error';
import type { GatewayRequest } from './http-types';
import { RequestError, RequestErrorCode, requestErrorHttp } from './request.exception';

/** body-parser's error kinds (http-errors `type`), kept on the HttpException's cause. */
function parserErrorType(exception: HttpException): string | null {
  const cause: unknown = exception.cause;
  if (typeof cause !== 'object' || cause === null || !('type' in cause)) return null;
  return typeof cause.type === 'string' ? cause.type : null;
}

/**
 * Nest and Express raise HttpExceptions of their own (no route, unreadable body, body
 * too large); they become the gateway's errors so every answer has the same shape.
 */
function fromHttpException(
  exception: HttpException,
  request: Pick<GatewayRequest, 'method' | 'path'>,
): RequestError | AuthError | null {
  const status = exception.getStatus();
  if (status >= 500) return null;
  if (status === 404) {
    return new RequestError(
      `Unrecognized request URL (${request.method}: ${request.path})`,
      RequestErrorCode.ResourceMissing,
    );
  }
  if (status === 413) {
    return new RequestError('The request body is too large', RequestErrorCode.BodyTooLarge);
  }
  if (parserErrorType(exception) === 'entity.parse.failed') {
    return new RequestError('The request body is not valid JSON', RequestErrorCode.BodyMalformed);
  }
  if (status === 401) return new AuthError(exception.message, AuthErrorCode.ApiKeyInvalid);
  if (status === 429) return new RequestError(exception.message, RequestErrorCode.RateLimit);
  return new RequestError(exception.message, RequestErrorCode.RequestInvalid);
}

/** A feature's error class with its HTTP switch: the answer to one of its errors, or null. */
function answeredBy<Code extends string>(
  errorClass: abstract new (...args: never[]) => DomainError<Code>,
  httpShape: (code: Code) => HttpErrorShape,
): (exception: unknown) => ErrorAnswer | null {
  return (exception) =>
    exception instanceof errorClass
      ? errorAnswer(httpShape(exception.code), exception.message)
      : null;
}

/** The features whose errors answer with their shape and message alone. */
const FEATURE_ANSWERS = [
  answeredBy(RefundRequestError, refundRequestErrorHttp),
  answeredBy(MerchantError, merchantErrorHttp),
  answeredBy(EventError, eventErrorHttp),
  answeredBy(IdempotencyError, idempotencyErrorHttp),
  answeredBy(AuthError, authErrorHttp),
  answeredBy(OperationsError, operationsErrorHttp),
  answeredBy(SettlementError, settlementErrorHttp),
  answeredBy(ReconciliationError, reconciliationErrorHttp),
];

/** What a client reads when a backing service did not answer in time: no internals. */
function unavailableMessage(exception: unknown): string | null {
  if (exception instanceof BrokerUnavailableError || exception instanceof PublishTimeoutError) {
    return 'The request could not be queued in time; try again shortly';
  }
  if (exception instanceof TaskTimeoutError) {
    return 'The request was not answered in time; try again shortly';
  }
  // Connection lost or refused, pool exhausted, statement or lock timeout, failover.
  if (isTransientDatabaseError(exception)) {
    return 'The service is temporarily unavailable; try again shortly';
  }
  return null;
}

/**
 * The answer to an error that says "not now" rather than "no": a deadline passed or a
 * backing service is away. 503 `service_unavailable` with `Retry-After`; null otherwise.
 */
export function unavailableAnswer(exception: unknown): ErrorAnswer | null {
  const message = unavailableMessage(exception);
  if (message === null) return null;
  return errorAnswer(SERVICE_UNAVAILABLE_SHAPE, message, {
    retryAfterS: SERVICE_UNAVAILABLE_RETRY_AFTER_S,
  });
}

/**
 * How a known error answers over HTTP: a request error of the edge, a domain error of a
 * feature (its own exhaustive switch gives status, type, code and param), one of
 * Nest's HttpExceptions, or a deadline or an outage (503). Null for anything else, which is a fault of ours. The one place
 * that knows every feature's error class; the exception filter and the idempotency
 * interceptor (which stores client errors as a key's response) both ask it.
 */
export function knownErrorAnswer(
  exception: unknown,
  request: Pick<GatewayRequest, 'method' | 'path'>,
): ErrorAnswer | null {
  if (exception instanceof RequestError) {
    return errorAnswer(requestErrorHttp(exception.code, exception.param), exception.message, {
      retryAfterS: exception.retryAfterS,
    });
  }
  if (exception instanceof PaymentError) {
    // A card error names its payment.
    return errorAnswer(paymentErrorHttp(exception.code), exception.message, {
      payment: exception.paymentId,
    });
  }
  for (const answer of FEATURE_ANSWERS) {
    const answered = answer(exception);
    if (answered) return answered;
  }
  if (exception instanceof HttpException) {
    const known = fromHttpException(exception, request);
    return known === null ? null : knownErrorAnswer(known, request);
  }
  return unavailableAnswer(exception);
}
