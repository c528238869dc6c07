import { HttpException } from '@nestjs/common';
import { BrokerUnavailableError, PublishTimeoutError, TaskTimeoutError } from '@clearline/tasks';
import { QueryFailedError } from 'typeorm';
import { AuthError, AuthErrorCode } from '../auth/auth.exception';
import { EventError, EventErrorCode } from '../events/events.exception';
import { IdempotencyError, IdempotencyErrorCode } from '../idempotency/idempotency.exception';
import { MerchantError, MerchantErrorCode } from '../merchants/merchants.exception';
import { OperationsError, OperationsErrorCode } from '../operations/operations.exception';
import { PaymentError, PaymentErrorCode } from '../payments/payments.exception';
import { RefundRequestError, RefundRequestErrorCode } from '../refunds/refunds.exception';
import { API_ERROR_CODES } from './api-error';
import { knownErrorAnswer } from './error-answers';
import { RequestError, RequestErrorCode } from './request.exception';

const request = { method: 'GET', path: '/v1/things' };

/** Status, type, code and param of the answer to `error`, as one line of a table. */
function answered(error: Error): string {
  const answer = knownErrorAnswer(error, request);
  if (answer === null) return 'unknown';
  const { type, code, param } = answer.body.error;
  return `${answer.status} ${type} ${code} ${String(param)}`;
}

function table<C extends string>(codes: Record<string, C>, error: (code: C) => Error) {
  return Object.fromEntries(Object.values(codes).map((code) => [code, answered(error(code))]));
}

describe('the HTTP answer of every error code', () => {
  it('answers each feature code with the status, type, code and param the API documents', () => {
    expect({
      request: table(RequestErrorCode, (code) => new RequestError('m', code, 'field')),
      auth: table(AuthErrorCode, (code) => new AuthError('m', code)),
      idempotency: table(IdempotencyErrorCode, (code) => new IdempotencyError('m', code)),
      merchants: table(MerchantErrorCode, (code) => new MerchantError('m', code)),
      payments: table(PaymentErrorCode, (code) => new PaymentError('m', code)),
      refunds: table(RefundRequestErrorCode, (code) => new RefundRequestError('m', code)),
      events: table(EventErrorCode, (code) => new EventError('m', code)),
      operations: table(OperationsErrorCode, (code) => new OperationsError('m', code)),
    }).toEqual({
      request: {
        parameter_invalid: '400 invalid_request_error parameter_invalid field',
        parameter_unknown: '400 invalid_request_error parameter_unknown field',
        parameter_missing: '400 invalid_request_error parameter_missing field',
        amount_too_large: '400 invalid_request_error amount_too_large field',
        body_malformed: '400 invalid_request_error body_malformed field',
        body_too_large: '413 invalid_request_error body_too_large field',
        request_invalid: '400 invalid_request_error request_invalid field',
        resource_missing: '404 invalid_request_error resource_missing field',
        rate_limit: '429 rate_limit_error rate_limit field',
        service_unavailable: '503 api_error service_unavailable null',
      },
      auth: {
        api_key_missing: '401 authentication_error api_key_missing null',
        api_key_invalid: '401 authentication_error api_key_invalid null',
      },
      idempotency: {
        idempotency_error: '422 idempotency_error idempotency_error Idempotency-Key',
        idempotency_key_in_use: '409 idempotency_error idempotency_key_in_use Idempotency-Key',
        idempotency_replay_unavailable: '409 idempotency_error idempotency_error Idempotency-Key',
      },
      merchants: {
        merchant_not_found: '404 invalid_request_error resource_missing id',
        webhook_url_refused: '400 invalid_request_error parameter_invalid webhook_url',
      },
      payments: {
        payment_not_found: '404 invalid_request_error resource_missing id',
        source_unknown: '400 invalid_request_error parameter_invalid source',
        unexpected_state: '400 invalid_request_error payment_unexpected_state null',
        amount_to_capture_too_large: '400 invalid_request_error amount_too_large amount_to_capture',
        card_declined: '402 card_error card_declined null',
        insufficient_funds: '402 card_error insufficient_funds null',
        processing_error: '402 card_error processing_error null',
        // Only a payment task meets these: a fault if a request ever does.
        processor_unavailable: '500 api_error api_error null',
        ledger_unavailable: '500 api_error api_error null',
        ledger_not_ready: '500 api_error api_error null',
        ledger_task_failed: '500 api_error api_error null',
        ledger_refused: '500 api_error api_error null',
      },
      refunds: {
        payment_not_found: '404 invalid_request_error resource_missing payment',
        refund_not_found: '404 invalid_request_error resource_missing id',
        payment_not_captured: '400 invalid_request_error payment_unexpected_state payment',
        payment_refunded: '400 invalid_request_error charge_already_refunded payment',
        amount_too_large: '400 invalid_request_error amount_too_large amount',
      },
      events: { event_not_found: '404 invalid_request_error resource_missing id' },
      operations: { dead_letter_not_found: '404 invalid_request_error resource_missing id' },
    });
  });

  it('answers only with codes of the documented vocabulary', () => {
    const errors = [
      ...Object.values(PaymentErrorCode).map((code) => new PaymentError('m', code)),
      ...Object.values(RefundRequestErrorCode).map((code) => new RefundRequestError('m', code)),
      ...Object.values(RequestErrorCode).map((code) => new RequestError('m', code)),
    ];
    for (const error of errors) {
      const code = knownErrorAnswer(error, request)?.body.error.code;
      expect(API_ERROR_CODES).toContain(code);
    }
  });

  it("renders a card error's payment and decline code, and a rate limit's Retry-After", () => {
    const declined = new PaymentError('Declined.', PaymentErrorCode.CardDeclined, {
      paymentId: 'pay_1',
    });
    expect(knownErrorAnswer(declined, request)?.body).toEqual({
      error: {
        type: 'card_error',
        code: 'card_declined',
        message: 'Declined.',
        param: null,
        payment: 'pay_1',
        decline_code: 'generic_decline',
      },
    });
    const failed = new PaymentError('Failed.', PaymentErrorCode.ProcessingError, {
      paymentId: 'pay_2',
    });
    expect(knownErrorAnswer(failed, request)?.body.error).toEqual({
      type: 'card_error',
      code: 'processing_error',
      message: 'Failed.',
      param: null,
      payment: 'pay_2',
    });
    const limited = new RequestError('slow down', RequestErrorCode.RateLimit, null, 3);
    expect(knownErrorAnswer(limited, request)?.retryAfterS).toBe(3);
    expect(knownErrorAnswer(PaymentError.notFound('pay_x'), request)?.body.error.message).toBe(
      "No such payment: 'pay_x'",
    );
  });

  it("knows Nest's 401 as an invalid key, and nothing of a 5xx or of any other error", () => {
    expect(answered(new HttpException('no', 401))).toBe(
      '401 authentication_error api_key_invalid null',
    );
    expect(knownErrorAnswer(new HttpException('boom', 502), request)).toBeNull();
    expect(knownErrorAnswer(new Error('boom'), request)).toBeNull();
  });

  it('answers 503 service_unavailable with Retry-After when a wait ran out or a backing service is away', () => {
    const statementTimeout = new QueryFailedError('SELECT 1', [], {
      code: '57014',
      message: 'canceling statement due to statement timeout',
    } as unknown as Error);
    const unavailable = [
      new BrokerUnavailableError('the broker is unavailable'),
      new PublishTimeoutError('clearline.tasks', 'ledger', 5_000),
      new TaskTimeoutError('t1', 5_000),
      statementTimeout,
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated unexpectedly'),
    ];
    for (const error of unavailable) {
      const answer = knownErrorAnswer(error, request);
      expect(answer?.status).toBe(503);
      expect(answer?.body.error).toMatchObject({ type: 'api_error', code: 'service_unavailable' });
      expect(answer?.retryAfterS).toBeGreaterThanOrEqual(1);
      // Nothing of the cause reaches the client.
      expect(answer?.body.error.message).not.toMatch(/t1|57014|ledger|terminated/);
    }
    expect(API_ERROR_CODES).toContain('service_unavailable');
  });
});
