import { DomainError } from '../common/domain-error';
import { invalidRequest, resourceMissing, type HttpErrorShape } from '../http/api-error';

/** Every way a reconciliation, or a read of one, fails. */
export enum ReconciliationErrorCode {
  /** The body is not `text/csv` (in UTF-8). */
  MediaTypeUnsupported = 'media_type_unsupported',
  /** The body is empty: not even the header line. */
  FileEmpty = 'file_empty',
  /** The first line is not `processor_reference,type,amount,currency,date`. */
  HeaderInvalid = 'header_invalid',
  /** A data line cannot be read (its number is in the message). */
  LineMalformed = 'line_malformed',
  /** The file is larger than SETTLEMENT_FILE_BYTES_MAX. */
  FileTooLarge = 'file_too_large',
  /** No reconciliation has this id. */
  ReconciliationNotFound = 'reconciliation_not_found',
}

/** How each code answers over HTTP; exhaustive, so a new code must choose its answer. */
export function reconciliationErrorHttp(code: ReconciliationErrorCode): HttpErrorShape {
  switch (code) {
    case ReconciliationErrorCode.MediaTypeUnsupported:
      return { status: 415, type: 'invalid_request_error', code: 'request_invalid', param: null };
    case ReconciliationErrorCode.FileEmpty:
    case ReconciliationErrorCode.HeaderInvalid:
    case ReconciliationErrorCode.LineMalformed:
      return invalidRequest('csv_malformed', null);
    case ReconciliationErrorCode.FileTooLarge:
      return { status: 413, type: 'invalid_request_error', code: 'body_too_large', param: null };
    case ReconciliationErrorCode.ReconciliationNotFound:
      return resourceMissing('id');
    default: {
      const unknown: never = code;
      throw new Error(`no HTTP shape for reconciliation error code ${String(unknown)}`);
    }
  }
}

/** A domain error of reconciliations: `new ReconciliationError('…', ReconciliationErrorCode.X)`. */
export class ReconciliationError extends DomainError<ReconciliationErrorCode> {
  override readonly name = 'ReconciliationError';
}
