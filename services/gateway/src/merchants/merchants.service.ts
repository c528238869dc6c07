import { Injectable } from '@nestjs/common';
import { LEDGER_TASK, type OpenMerchantPayload } from '@clearline/contracts';
import { enqueueTask } from '@clearline/tasks';
import type { EntityManager } from 'typeorm';
import { issueApiKey } from '../auth/api-key';
import { ApiKeyCache } from '../auth/api-key-cache';
import { newId } from '@clearline/contracts';
import { ApiKeysRepository } from './api-keys.repository';
import { DEFAULT_PRICING, type CreateMerchantDto, type UpdateMerchantDto } from './merchant.dto';
import type { CreatedMerchant, Merchant, RolledApiKey } from './merchant.model';
import { MerchantError } from './merchants.exception';
import { MerchantsRepository } from './merchants.repository';
import { newWebhookSecret } from './webhook-secrets.service';

/** Merchants and their keys; the use cases that write run in the caller's transaction. */
@Injectable()
export class MerchantsService {
  constructor(
    private readonly merchants: MerchantsRepository,
    private readonly apiKeys: ApiKeysRepository,
    private readonly keyCache: ApiKeyCache,
  ) {}

  /**
   * Creates the merchant with its first API key and, in the same transaction, the
   * outbox task `ledger.open_merchant` that opens its accounts in the ledger: the ledger
   * hears of every merchant that exists and of no other.
   */
  async create(manager: EntityManager, input: CreateMerchantDto): Promise<CreatedMerchant> {
    const pricing = input.pricing ?? DEFAULT_PRICING;
    const merchant = await this.merchants.insert(manager, {
      id: newId('mer'),
      name: input.name,
      webhookUrl: input.webhook_url ?? null,
      webhookSecret: newWebhookSecret(),
      pricingPercentBps: pricing.percent_bps,
      pricingFixed: pricing.fixed,
    });
    const key = issueApiKey();
    await this.apiKeys.insert(manager, merchant.id, key);
    const openAccounts: OpenMerchantPayload = { merchant_id: merchant.id };
    await enqueueTask(manager, LEDGER_TASK.openMerchant, openAccounts);
    return { merchant, apiKey: key.secret };
  }

  /** Revokes the merchant's keys and issues a new one, atomically. */
  async rollApiKey(manager: EntityManager, merchantId: string): Promise<RolledApiKey> {
    const merchant = await this.merchants.lock(manager, merchantId);
    if (!merchant) throw MerchantError.notFound(merchantId);
    const revoked = await this.apiKeys.revokeAll(manager, merchantId);
    // Now, while this transaction holds the revoked rows: lookups from here on wait for
    // its outcome, and no lookup begun before is cached (see ApiKeyCache).
    this.keyCache.keysRevoked(merchantId);
    const issued = issueApiKey();
    const key = await this.apiKeys.insert(manager, merchantId, issued);
    return { key, apiKey: issued.secret, revoked };
  }

  /**
   * Changes a merchant's name or webhook URL (`webhook_url: null` removes it). Webhook
   * deliveries read the URL when they run, so those already queued follow the change.
   */
  async update(merchantId: string, input: UpdateMerchantDto): Promise<Merchant> {
    const merchant = await this.merchants.update(merchantId, {
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.webhook_url === undefined ? {} : { webhookUrl: input.webhook_url }),
    });
    if (!merchant) throw MerchantError.notFound(merchantId);
    return merchant;
  }

  async find(merchantId: string): Promise<Merchant> {
    const merchant = await this.merchants.find(merchantId);
    if (!merchant) throw MerchantError.notFound(merchantId);
    return merchant;
  }
}
