import { errorBody, errorShape, GatewayError, GatewayErrorCode } from './gateway.exception';

describe('error codes', () => {
  it('gives every code a status and a type', () => {
    const table = Object.fromEntries(
      Object.values(GatewayErrorCode).map((code) => [code, errorShape(code)]),
    );
    expect(table).toEqual({
      parameter_invalid: { status: 400, type: 'invalid_request_error' },
      parameter_unknown: { status: 400, type: 'invalid_request_error' },
      parameter_missing: { status: 400, type: 'invalid_request_error' },
      body_malformed: { status: 400, type: 'invalid_request_error' },
      body_too_large: { status: 413, type: 'invalid_request_error' },
      request_invalid: { status: 400, type: 'invalid_request_error' },
      resource_missing: { status: 404, type: 'invalid_request_error' },
      api_key_missing: { status: 401, type: 'authentication_error' },
      api_key_invalid: { status: 401, type: 'authentication_error' },
      idempotency_error: { status: 422, type: 'idempotency_error' },
      idempotency_key_in_use: { status: 409, type: 'idempotency_error' },
      rate_limit: { status: 429, type: 'rate_limit_error' },
      amount_too_large: { status: 400, type: 'invalid_request_error' },
      payment_unexpected_state: { status: 400, type: 'invalid_request_error' },
      charge_already_refunded: { status: 400, type: 'invalid_request_error' },
      card_declined: { status: 402, type: 'card_error' },
      insufficient_funds: { status: 402, type: 'card_error' },
      processing_error: { status: 402, type: 'card_error' },
      api_error: { status: 500, type: 'api_error' },
    });
  });

  it('refuses a code it does not know', () => {
    expect(() => errorShape('nope' as unknown as GatewayErrorCode)).toThrow(/no HTTP shape/);
  });

  it("renders type, code, message and param, and a card error's payment and decline code", () => {
    expect(
      errorBody(
        new GatewayError('Missing required param: name', GatewayErrorCode.ParameterMissing, 'name'),
      ),
    ).toEqual({
      error: {
        type: 'invalid_request_error',
        code: 'parameter_missing',
        message: 'Missing required param: name',
        param: 'name',
      },
    });
    expect(
      errorBody(
        new GatewayError('Declined.', GatewayErrorCode.CardDeclined, null, null, {
          payment: 'pay_1',
          decline_code: 'generic_decline',
        }),
      ),
    ).toEqual({
      error: {
        type: 'card_error',
        code: 'card_declined',
        message: 'Declined.',
        param: null,
        payment: 'pay_1',
        decline_code: 'generic_decline',
      },
    });
    expect(errorBody(GatewayError.notFound('event', 'evt_1')).error).toEqual({
      type: 'invalid_request_error',
      code: 'resource_missing',
      message: "No such event: 'evt_1'",
      param: 'id',
    });
  });
});
