import { resourceMissing, type HttpErrorShape } from '../http/api-error';
import { DomainError } from '../common/domain-error';

/** The ways reading a merchant's events fails. */
export enum EventErrorCode {
  /** No event of the merchant has this id (another merchant's answers the same). */
  NotFound = 'event_not_found',
}

/**
 * How each code answers over HTTP. A record over the enum rather than a switch (one
 * code so far): it is exhaustive all the same, a new code does not compile without its
 * answer.
 */
const HTTP_SHAPES: Record<EventErrorCode, HttpErrorShape> = {
  [EventErrorCode.NotFound]: resourceMissing('id'),
};

export function eventErrorHttp(code: EventErrorCode): HttpErrorShape {
  return HTTP_SHAPES[code];
}

/** A domain error of events: `EventError.notFound(id)`. */
export class EventError extends DomainError<EventErrorCode> {
  override readonly name = 'EventError';

  static notFound(eventId: string): EventError {
    return new EventError(`No such event: '${eventId}'`, EventErrorCode.NotFound);
  }
}
