import { resourceMissing, type HttpErrorShape } from '../http/api-error';
import { DomainError } from '../common/domain-error';

/** The ways an operator's request fails. */
export enum OperationsErrorCode {
  /** No dead letter with this id in any work queue. */
  DeadLetterNotFound = 'dead_letter_not_found',
}

/**
 * How each code answers over HTTP. A record over the enum rather than a switch (one
 * code so far): it is exhaustive all the same, a new code does not compile without its
 * answer.
 */
const HTTP_SHAPES: Record<OperationsErrorCode, HttpErrorShape> = {
  [OperationsErrorCode.DeadLetterNotFound]: resourceMissing('id'),
};

export function operationsErrorHttp(code: OperationsErrorCode): HttpErrorShape {
  return HTTP_SHAPES[code];
}

/** A domain error of the operator routes: `new OperationsError('…', OperationsErrorCode.X)`. */
export class OperationsError extends DomainError<OperationsErrorCode> {
  override readonly name = 'OperationsError';
}
