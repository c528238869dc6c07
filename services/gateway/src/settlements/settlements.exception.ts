import { DomainError } from '../common/domain-error';
import {
  API_ERROR_SHAPE,
  invalidRequest,
  resourceMissing,
  type HttpErrorShape,
} from '../http/api-error';

/** Every way a settlement request, or the recording of a settlement event, fails. */
export enum SettlementErrorCode {
  /** No settlement run has this id. */
  RunNotFound = 'settlement_run_not_found',
  /** No settled settlement of the merchant has this id (another merchant's answers the same). */
  SettlementNotFound = 'settlement_not_found',
  /** No payout of the merchant has this id. */
  PayoutNotFound = 'payout_not_found',
  /** A run asked for a cut-off later than now: what it would settle has not happened yet. */
  CutOffInFuture = 'cut_off_in_future',
  /** A settlement event names an object of the wrong kind for its type (a fault of its sender). */
  EventObjectMismatch = 'event_object_mismatch',
}

/** How each code answers over HTTP; exhaustive, so a new code must choose its answer. */
export function settlementErrorHttp(code: SettlementErrorCode): HttpErrorShape {
  switch (code) {
    case SettlementErrorCode.RunNotFound:
    case SettlementErrorCode.SettlementNotFound:
    case SettlementErrorCode.PayoutNotFound:
      return resourceMissing('id');
    case SettlementErrorCode.CutOffInFuture:
      return invalidRequest('parameter_invalid', 'cut_off');
    case SettlementErrorCode.EventObjectMismatch:
      // Only the event task raises it; over HTTP it would be a fault of ours.
      return API_ERROR_SHAPE;
    default: {
      const unknown: never = code;
      throw new Error(`no HTTP shape for settlement error code ${String(unknown)}`);
    }
  }
}

/** A domain error of settlements: `SettlementError.notFound(...)`, `new SettlementError('…', code)`. */
export class SettlementError extends DomainError<SettlementErrorCode> {
  override readonly name = 'SettlementError';

  static runNotFound(id: string): SettlementError {
    return new SettlementError(`No such settlement run: '${id}'`, SettlementErrorCode.RunNotFound);
  }

  static settlementNotFound(id: string): SettlementError {
    return new SettlementError(
      `No such settlement: '${id}'`,
      SettlementErrorCode.SettlementNotFound,
    );
  }

  static payoutNotFound(id: string): SettlementError {
    return new SettlementError(`No such payout: '${id}'`, SettlementErrorCode.PayoutNotFound);
  }
}
