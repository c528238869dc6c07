import {
  createParamDecorator,
  Injectable,
  Logger,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { catchError, from, mergeMap, of, throwError, type Observable } from 'rxjs';
import { idempotencyScope } from '../auth/request-auth';
import type { ApiErrorCode, ErrorAnswer } from '../http/api-error';
import { knownErrorAnswer } from '../http/error-answers';
import { HttpReply } from '../http/http-reply';
import type { GatewayRequest, GatewayResponse } from '../http/http-types';
import { RequestError, RequestErrorCode } from '../http/request.exception';
import { IdempotencyService, type IdempotencyClaim } from './idempotency.service';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;
/**
 * The methods that take an `Idempotency-Key` (Stripe's rule: POST). GET is safe, and a
 * PATCH sets fields to given values, so repeating it changes nothing further.
 */
export const IDEMPOTENT_METHODS = ['POST'] as const;
/** Printable ASCII: keys are opaque client tokens (UUIDs, typically). */
const KEY_PATTERN = /^[\x21-\x7e]+$/;

/** Answers that mean the request was refused before it ran: nothing to remember. */
const NOT_RUN: readonly ApiErrorCode[] = [
  'parameter_invalid',
  'parameter_unknown',
  'parameter_missing',
  'amount_too_large',
];

/** Whether an error's answer is a stored outcome of the request (replayed), or frees the key. */
function keepsResponse(answer: ErrorAnswer | null): answer is ErrorAnswer {
  if (answer === null) return false;
  return answer.status < 500 && !NOT_RUN.includes(answer.body.error.code);
}

const claims = new WeakMap<GatewayRequest, IdempotencyClaim>();

/**
 * The claim this request holds, or null without an Idempotency-Key. A handler passes
 * it to `IdempotencyService.transaction` to store its response with its rows.
 */
export const Idempotency = createParamDecorator(
  (_data: unknown, context: ExecutionContext): IdempotencyClaim | null =>
    claims.get(context.switchToHttp().getRequest<GatewayRequest>()) ?? null,
);

function readKey(request: GatewayRequest): string | null {
  const raw = request.headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return null;
  const key = Array.isArray(raw) ? raw.join(',') : raw;
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_LENGTH_MAX || !KEY_PATTERN.test(key)) {
    throw new RequestError(
      `Idempotency-Key must be 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} printable ASCII characters`,
      RequestErrorCode.ParameterInvalid,
      'Idempotency-Key',
    );
  }
  return key;
}

function isIdempotentMethod(method: string): boolean {
  return (IDEMPOTENT_METHODS as readonly string[]).includes(method);
}

/**
 * Idempotency for every POST that carries an `Idempotency-Key`, scoped to the caller
 * (a merchant, or the operators). A stored response is replayed with its status, the
 * headers its handler chose (`Location`) and `Idempotent-Replayed: true`; 5xx failures
 * and requests refused by validation release the key; every other outcome, errors
 * included, is stored and replayed.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(IdempotencyInterceptor.name);

  constructor(private readonly idempotency: IdempotencyService) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<GatewayRequest>();
    if (!isIdempotentMethod(request.method) || !request.auth) return next.handle();
    const key = readKey(request);
    if (key === null) return next.handle();
    const outcome = await this.idempotency.claim(idempotencyScope(request.auth), key, {
      method: request.method,
      path: request.path,
      body: request.body,
    });
    if (outcome.kind === 'replay') {
      return of(
        new HttpReply(outcome.status, outcome.body, {
          'Content-Type': 'application/json; charset=utf-8',
          ...outcome.headers,
          [REPLAYED_HEADER]: 'true',
        }),
      );
    }
    const { claim } = outcome;
    claims.set(request, claim);
    const response = http.getResponse<GatewayResponse>();
    return next.handle().pipe(
      mergeMap((result: unknown) => from(this.settle(claim, response, result))),
      catchError((error: unknown) =>
        from(this.fail(claim, request, error)).pipe(mergeMap(() => throwError(() => error))),
      ),
    );
  }

  private async settle(
    claim: IdempotencyClaim,
    response: GatewayResponse,
    result: unknown,
  ): Promise<unknown> {
    if (!claim.completed) {
      if (result instanceof HttpReply) {
        await this.idempotency.complete(null, claim, result.status, result.body, result.headers);
      } else {
        await this.idempotency.complete(null, claim, response.statusCode, result);
      }
    }
    return result;
  }

  /** Stores a client error as the key's response; frees the key after ours. */
  private async fail(
    claim: IdempotencyClaim,
    request: GatewayRequest,
    error: unknown,
  ): Promise<void> {
    const answer = knownErrorAnswer(error, request);
    try {
      if (!keepsResponse(answer)) {
        await this.idempotency.release(claim);
      } else if (!claim.completed) {
        await this.idempotency.complete(null, claim, answer.status, answer.body);
      }
    } catch (storeError) {
      // The request's own error is what the client must see; the key stays claimed and
      // becomes reclaimable after the lock timeout.
      this.logger.error(`could not settle idempotency key ${claim.key}: ${String(storeError)}`);
    }
  }
}
