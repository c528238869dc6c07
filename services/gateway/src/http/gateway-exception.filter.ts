import {
  Catch,
  HttpStatus,
  Logger,
  ServiceUnavailableException,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';
import { newId } from '@clearline/contracts';
import { API_ERROR_SHAPE, errorAnswer, type ErrorAnswer } from './api-error';
import { knownErrorAnswer } from './error-answers';
import type { GatewayRequest as Request, GatewayResponse as Response } from './http-types';

/**
 * What of an unexpected error goes to the log: its kind, message and stack, and not its
 * other fields (a failed query carries its parameters, which may hold secrets).
 */
function loggable(exception: unknown): { type: string; message: string; stack?: string } {
  if (!(exception instanceof Error)) return { type: typeof exception, message: String(exception) };
  return {
    type: exception.name,
    message: exception.message,
    ...(exception.stack === undefined ? {} : { stack: exception.stack }),
  };
}

/** `/health/*` reporting a backing service down (terminus's 503, with its report). */
function isHealthReport(
  exception: unknown,
  request: Request,
): exception is ServiceUnavailableException {
  return exception instanceof ServiceUnavailableException && request.path.startsWith('/health/');
}

/**
 * Every HTTP error leaves as `{"error": {type, code, message, param}}`, as
 * `knownErrorAnswer` maps it. A request that could not be served in time (broker or
 * database away, a deadline passed) answers 503 `service_unavailable` with `Retry-After`.
 * Anything else, and any domain error whose code answers 5xx, is a fault of ours: it answers 500 with an error id, and the id and the stack go
 * to the log, never to the client.
 */
@Catch()
export class GatewayExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('GatewayErrors');

  catch(exception: unknown, host: ArgumentsHost): Observable<never> | undefined {
    // Task handlers share the app's global enhancers; their errors must reach the task
    // layer untouched (it decides between retry and failure).
    if (host.getType() !== 'http') return throwError(() => exception);
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    if (isHealthReport(exception, request)) {
      // A probe's answer, not the merchant API's: 503 with terminus's report of which
      // backing service is down, as Kubernetes and operators read it.
      response.status(HttpStatus.SERVICE_UNAVAILABLE).json(exception.getResponse());
      return undefined;
    }
    const answer = this.answer(exception, request);
    if (response.headersSent) {
      this.logger.warn(`error after the response was sent: ${answer.body.error.message}`);
      return undefined;
    }
    if (answer.retryAfterS !== null) response.setHeader('Retry-After', String(answer.retryAfterS));
    response.status(answer.status).json(answer.body);
    return undefined;
  }

  private answer(exception: unknown, request: Request): ErrorAnswer {
    const known = knownErrorAnswer(exception, request);
    if (known !== null && known.status < 500) return known;
    if (known?.status === 503) {
      // Not a bug of ours: a backing service is away or slow. Logged without a stack.
      const { type, message } = loggable(exception);
      this.logger.warn(
        { error_type: type, method: request.method, path: request.path },
        `${request.method} ${request.path} answered 503: ${type}: ${message}`,
      );
      return known;
    }
    const errorId = newId('err');
    this.logger.error(
      { err: loggable(exception), error_id: errorId, method: request.method, path: request.path },
      `unexpected error ${errorId}`,
    );
    return errorAnswer(
      API_ERROR_SHAPE,
      `An unexpected error occurred on our side; it has been logged as ${errorId}`,
    );
  }
}
