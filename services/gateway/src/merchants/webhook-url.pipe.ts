import { Injectable, type PipeTransform } from '@nestjs/common';
import { WebhookTargets } from '../webhooks/webhook-targets';
import { MerchantError, MerchantErrorCode } from './merchants.exception';

/**
 * Checks the `webhook_url` of a merchant body (after the global validation pipe) against
 * this gateway's webhook target policy, before the handler runs and outside its
 * transaction (a host name is resolved, within a deadline): a refused URL answers 400
 * `parameter_invalid` on `webhook_url` with what is wrong. Absent or null passes.
 */
@Injectable()
export class WebhookUrlPipe implements PipeTransform<{ webhook_url?: string | null }> {
  constructor(private readonly targets: WebhookTargets) {}

  async transform<T extends { webhook_url?: string | null }>(body: T): Promise<T> {
    if (typeof body.webhook_url !== 'string') return body;
    const refusal = await this.targets.registrationRefusal(body.webhook_url);
    if (refusal) throw new MerchantError(refusal.message, MerchantErrorCode.WebhookUrlRefused);
    return body;
  }
}
