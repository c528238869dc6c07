import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { GatewayRequest as Request, GatewayResponse as Response } from './http-types';
import { throwError, type Observable } from 'rxjs';
import { newId } from './ids';
import { errorBody, errorShape, GatewayError, GatewayErrorCode } from './gateway.exception';

/** body-parser's error kinds (http-errors `type`), kept on the HttpException's cause. */
function parserErrorType(exception: HttpException): string | null {
  const cause: unknown = exception.cause;
  if (typeof cause !== 'object' || cause === null || !('type' in cause)) return null;
  return typeof cause.type === 'string' ? cause.type : null;
}

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

/**
 * Nest and Express raise HttpExceptions of their own (no route, unreadable body, body
 * too large); they become gateway errors so every answer has the same shape.
 */
export function fromHttpException(exception: HttpException, request: Request): GatewayError | null {
  const status = exception.getStatus();
  if (status >= 500) return null;
  if (status === 404) {
    return new GatewayError(
      `Unrecognized request URL (${request.method}: ${request.path})`,
      GatewayErrorCode.ResourceMissing,
    );
  }
  if (status === 413) {
    return new GatewayError('The request body is too large', GatewayErrorCode.BodyTooLarge);
  }
  if (parserErrorType(exception) === 'entity.parse.failed') {
    return new GatewayError('The request body is not valid JSON', GatewayErrorCode.BodyMalformed);
  }
  if (status === 401) return new GatewayError(exception.message, GatewayErrorCode.ApiKeyInvalid);
  if (status === 429) return new GatewayError(exception.message, GatewayErrorCode.RateLimit);
  return new GatewayError(exception.message, GatewayErrorCode.RequestInvalid);
}

/**
 * Every HTTP error leaves as `{"error": {type, code, message, param}}`. Anything that
 * is not a known client error is a fault of ours: it answers 500 with an error id, and
 * the id and the stack go to the log, never to the client.
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
    const error = this.toGatewayError(exception, request);
    if (response.headersSent) {
      this.logger.warn(`error after the response was sent: ${error.message}`);
      return undefined;
    }
    if (error.retryAfterS !== null) response.setHeader('Retry-After', String(error.retryAfterS));
    response.status(errorShape(error.code).status).json(errorBody(error));
    return undefined;
  }

  private toGatewayError(exception: unknown, request: Request): GatewayError {
    if (exception instanceof GatewayError) return exception;
    if (exception instanceof HttpException) {
      const known = fromHttpException(exception, request);
      if (known) return known;
    }
    const errorId = newId('err');
    this.logger.error(
      { err: loggable(exception), error_id: errorId, method: request.method, path: request.path },
      `unexpected error ${errorId}`,
    );
    return new GatewayError(
      `An unexpected error occurred on our side; it has been logged as ${errorId}`,
      GatewayErrorCode.ApiError,
    );
  }
}
