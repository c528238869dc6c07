import { invalidRequest, resourceMissing, type HttpErrorShape } from '../http/api-error';
import { DomainError } from '../common/domain-error';

/** The ways a merchant use case fails. */
export enum MerchantErrorCode {
  /** No merchant has this id. */
  NotFound = 'merchant_not_found',
  /**
   * The webhook URL is not one webhooks may go to (its scheme, credentials or port, or a
   * host that is or resolves to a loopback, private, link-local or metadata address).
   */
  WebhookUrlRefused = 'webhook_url_refused',
}

/**
 * How each code answers over HTTP. A record over the enum rather than a switch: it is
 * exhaustive all the same, a new code does not compile without its answer.
 */
const HTTP_SHAPES: Record<MerchantErrorCode, HttpErrorShape> = {
  [MerchantErrorCode.NotFound]: resourceMissing('id'),
  [MerchantErrorCode.WebhookUrlRefused]: invalidRequest('parameter_invalid', 'webhook_url'),
};

export function merchantErrorHttp(code: MerchantErrorCode): HttpErrorShape {
  return HTTP_SHAPES[code];
}

/** A domain error of merchants: `MerchantError.notFound(id)`. */
export class MerchantError extends DomainError<MerchantErrorCode> {
  override readonly name = 'MerchantError';

  static notFound(merchantId: string): MerchantError {
    return new MerchantError(`No such merchant: '${merchantId}'`, MerchantErrorCode.NotFound);
  }
}
