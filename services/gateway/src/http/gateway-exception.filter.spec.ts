import { BadRequestException, HttpException, Logger, NotFoundException } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { TaskTimeoutError } from '@clearline/tasks';
import { PaymentError, PaymentErrorCode } from '../payments/payments.exception';
import { GatewayExceptionFilter } from './gateway-exception.filter';
import { RequestError, RequestErrorCode } from './request.exception';

interface Sent {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

function httpHost(): { host: ArgumentsHost; sent: Sent } {
  const sent: Sent = { status: 0, body: undefined, headers: {} };
  const response = {
    headersSent: false,
    setHeader: (name: string, value: string) => (sent.headers[name] = value),
    status(code: number) {
      sent.status = code;
      return this;
    },
    json(body: unknown) {
      sent.body = body;
      return this;
    },
  };
  const request = { method: 'GET', path: '/v1/things' };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => response }),
  } as unknown as ArgumentsHost;
  return { host, sent };
}

describe('GatewayExceptionFilter', () => {
  const filter = new GatewayExceptionFilter();

  afterEach(() => jest.restoreAllMocks());

  it('answers a domain error with its status and the one error shape', () => {
    const { host, sent } = httpHost();
    filter.catch(new RequestError('slow down', RequestErrorCode.RateLimit, null, 3), host);
    expect(sent).toEqual({
      status: 429,
      headers: { 'Retry-After': '3' },
      body: {
        error: { type: 'rate_limit_error', code: 'rate_limit', message: 'slow down', param: null },
      },
    });
  });

  it("maps Nest's and Express's exceptions: unknown route, unreadable and oversized bodies", () => {
    const cases: [HttpException, number, string][] = [
      [new NotFoundException('Cannot GET /x'), 404, 'resource_missing'],
      [new HttpException('too large', 413), 413, 'body_too_large'],
      [
        new BadRequestException('Unexpected token', {
          cause: Object.assign(new SyntaxError('Unexpected token'), {
            type: 'entity.parse.failed',
          }),
        }),
        400,
        'body_malformed',
      ],
      [new HttpException('Unsupported charset', 415), 400, 'request_invalid'],
    ];
    for (const [exception, status, code] of cases) {
      const { host, sent } = httpHost();
      filter.catch(exception, host);
      expect({
        status: sent.status,
        code: (sent.body as { error: { code: string } }).error.code,
      }).toEqual({
        status,
        code,
      });
    }
  });

  it('answers anything else with 500 and an error id that is logged with the stack, not sent', () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { host, sent } = httpHost();
    const failure = Object.assign(new Error('relation "x" does not exist'), {
      parameters: ['whsec_secret'],
    });
    filter.catch(failure, host);
    const body = sent.body as { error: { type: string; code: string; message: string } };
    expect(sent.status).toBe(500);
    expect(body.error).toMatchObject({ type: 'api_error', code: 'api_error' });
    const errorId = /err_[A-Za-z0-9]{24}/.exec(body.error.message)?.[0];
    expect(errorId).toBeDefined();
    expect(JSON.stringify(body)).not.toContain('relation');
    expect(logged).toHaveBeenCalledTimes(1);
    const [fields] = logged.mock.calls[0] as [Record<string, unknown>];
    expect(fields['error_id']).toBe(errorId);
    expect(fields['err']).toMatchObject({
      message: 'relation "x" does not exist',
      stack: failure.stack,
    });
    expect(JSON.stringify(fields)).not.toContain('whsec_secret');
  });

  it('answers a domain error whose code is a fault of ours as any fault: 500, logged', () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { host, sent } = httpHost();
    filter.catch(
      new PaymentError('ledger task pay_1:ledger:authorize:0', PaymentErrorCode.LedgerTaskFailed),
      host,
    );
    const body = sent.body as { error: { type: string; code: string; message: string } };
    expect(sent.status).toBe(500);
    expect(body.error).toMatchObject({ type: 'api_error', code: 'api_error' });
    expect(body.error.message).not.toContain('ledger');
    expect(logged).toHaveBeenCalledTimes(1);
  });

  it('answers a wait that ran out (the ledger check) 503 with Retry-After, logged as a warning', () => {
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const failed = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const { host, sent } = httpHost();
    filter.catch(new TaskTimeoutError('task-1', 30_000), host);
    expect(sent.status).toBe(503);
    expect(Number(sent.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect((sent.body as { error: unknown }).error).toMatchObject({
      type: 'api_error',
      code: 'service_unavailable',
      param: null,
    });
    expect(warned).toHaveBeenCalledTimes(1);
    expect(failed).not.toHaveBeenCalled();
  });

  it('hands errors of task handlers back untouched', async () => {
    const host = { getType: () => 'rpc' } as unknown as ArgumentsHost;
    const error = new Error('transient');
    await expect(lastValueFrom(filter.catch(error, host)!)).rejects.toBe(error);
  });
});
