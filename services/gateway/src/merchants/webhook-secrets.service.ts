import { Injectable } from '@nestjs/common';
import { randomBase62 } from '@clearline/contracts';
import type { EntityManager } from 'typeorm';
import type { RolledWebhookSecret } from './merchant.model';
import { MerchantError } from './merchants.exception';
import { MerchantsRepository } from './merchants.repository';

const WEBHOOK_SECRET_RANDOM_LENGTH = 32;

/** A new webhook signing secret: `whsec_` and 32 random base62 characters. */
export function newWebhookSecret(): string {
  return `whsec_${randomBase62(WEBHOOK_SECRET_RANDOM_LENGTH)}`;
}

/** Rolling a merchant's webhook signing secret. */
@Injectable()
export class WebhookSecretsService {
  constructor(private readonly merchants: MerchantsRepository) {}

  /**
   * Gives the merchant a new webhook secret, in the caller's transaction: deliveries
   * from the commit on are signed with it. With `previousForS` above 0 they carry a
   * second signature, with the replaced secret, for that long (at most a day), so the
   * merchant's endpoint can switch without rejecting a delivery; with 0 the replaced
   * secret stops at once (a leaked secret). A previous secret kept from an earlier roll
   * is dropped either way: at most two secrets sign.
   */
  async roll(
    manager: EntityManager,
    merchantId: string,
    previousForS: number,
  ): Promise<RolledWebhookSecret> {
    const secret = newWebhookSecret();
    const merchant = await this.merchants.rollWebhookSecret(
      manager,
      merchantId,
      secret,
      previousForS * 1_000,
    );
    if (!merchant) throw MerchantError.notFound(merchantId);
    return {
      merchantId,
      secret,
      previousExpiresAt: merchant.previousWebhookSecret?.expiresAt ?? null,
      createdAt: new Date(),
    };
  }
}
