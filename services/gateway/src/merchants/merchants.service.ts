import { Injectable } from '@nestjs/common';
import { enqueueTask } from '@clearline/tasks';
import type { EntityManager } from 'typeorm';
import { issueApiKey } from '../auth/api-key';
import { ApiKeyCache } from '../auth/api-key-cache';
import { GatewayError } from '../http/gateway.exception';
import { newId, randomBase62 } from '../http/ids';
import { ApiKeysRepository } from './api-keys.repository';
import { DEFAULT_PRICING, type CreateMerchantDto, type UpdateMerchantDto } from './merchant.dto';
import type { ApiKeyRow, MerchantRow } from './merchant.rows';
import { MerchantsRepository } from './merchants.repository';

/**
 * The ledger opens the merchant's accounts when told of a new merchant (the task is
 * `LEDGER_TASK.openMerchant` in the ledger's contracts; named here until the gateway
 * imports those).
 */
export const LEDGER_OPEN_MERCHANT_TASK = 'ledger.open_merchant';
const WEBHOOK_SECRET_RANDOM_LENGTH = 32;

export interface CreatedMerchant {
  merchant: MerchantRow;
  /** The API key's secret: returned once, never stored. */
  apiKey: string;
}

export interface RolledApiKey {
  key: ApiKeyRow;
  apiKey: string;
  revoked: string[];
}

/** Merchants and their keys; every use case runs in the caller's transaction. */
@Injectable()
export class MerchantsService {
  constructor(
    private readonly merchants: MerchantsRepository,
    private readonly apiKeys: ApiKeysRepository,
    private readonly keyCache: ApiKeyCache,
  ) {}

  /**
   * Creates the merchant with its first API key and, in the same transaction, the
   * outbox task that tells the ledger: the ledger hears of every merchant that exists
   * and of no other.
   */
  async create(manager: EntityManager, input: CreateMerchantDto): Promise<CreatedMerchant> {
    const pricing = input.pricing ?? DEFAULT_PRICING;
    const merchant = await this.merchants.insert(manager, {
      id: newId('mer'),
      name: input.name,
      webhookUrl: input.webhook_url ?? null,
      webhookSecret: `whsec_${randomBase62(WEBHOOK_SECRET_RANDOM_LENGTH)}`,
      pricingPercentBps: pricing.percent_bps,
      pricingFixed: pricing.fixed,
    });
    const key = issueApiKey();
    await this.apiKeys.insert(manager, merchant.id, key);
    await enqueueTask(manager, LEDGER_OPEN_MERCHANT_TASK, { merchant_id: merchant.id });
    return { merchant, apiKey: key.secret };
  }

  /** Revokes the merchant's keys and issues a new one, atomically. */
  async rollApiKey(manager: EntityManager, merchantId: string): Promise<RolledApiKey> {
    const merchant = await this.merchants.lock(manager, merchantId);
    if (!merchant) throw GatewayError.notFound('merchant', merchantId);
    const revoked = await this.apiKeys.revokeAll(manager, merchantId);
    // Forgotten here at once (and again by expiry): the old key must stop working now.
    this.keyCache.forgetMerchant(merchantId);
    const issued = issueApiKey();
    const key = await this.apiKeys.insert(manager, merchantId, issued);
    return { key, apiKey: issued.secret, revoked };
  }

  /**
   * Changes a merchant's name or webhook URL (`webhook_url: null` removes it). Webhook
   * deliveries read the URL when they run, so those already queued follow the change.
   */
  async update(merchantId: string, input: UpdateMerchantDto): Promise<MerchantRow> {
    const merchant = await this.merchants.update(merchantId, {
      ...(input.name === undefined ? {} : { name: input.name }),
      ...(input.webhook_url === undefined ? {} : { webhookUrl: input.webhook_url }),
    });
    if (!merchant) throw GatewayError.notFound('merchant', merchantId);
    return merchant;
  }

  async find(merchantId: string): Promise<MerchantRow> {
    const merchant = await this.merchants.find(merchantId);
    if (!merchant) throw GatewayError.notFound('merchant', merchantId);
    return merchant;
  }
}
