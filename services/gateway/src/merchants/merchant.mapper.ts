import { unixSeconds, type Plain } from '../http/wire';
import type { ApiKeyDto, CreatedMerchantDto, MerchantDto, WebhookSecretDto } from './merchant.dto';
import type {
  CreatedMerchant,
  Merchant,
  RolledApiKey,
  RolledWebhookSecret,
} from './merchant.model';

/** The REST merchant object, without its secrets. */
export function toMerchantDto(merchant: Merchant): Plain<MerchantDto> {
  return {
    id: merchant.id,
    object: 'merchant',
    name: merchant.name,
    webhook_url: merchant.webhookUrl,
    // Bounded by FIXED_FEE_MAX, so exact as a JSON number.
    pricing: { percent_bps: merchant.pricing.percentBps, fixed: Number(merchant.pricing.fixed) },
    created: unixSeconds(merchant.createdAt),
  };
}

/** A new merchant with its secrets, shown once. */
export function toCreatedMerchantDto(created: CreatedMerchant): CreatedMerchantDto {
  return {
    ...toMerchantDto(created.merchant),
    api_key: created.apiKey,
    webhook_secret: created.merchant.webhookSecret,
  };
}

export function toApiKeyDto(rolled: RolledApiKey): ApiKeyDto {
  return {
    id: rolled.key.id,
    object: 'api_key',
    merchant: rolled.key.merchantId,
    api_key: rolled.apiKey,
    prefix: rolled.key.prefix,
    revoked: rolled.revoked,
    created: unixSeconds(rolled.key.createdAt),
  };
}

/** A new webhook secret, shown once. */
export function toWebhookSecretDto(rolled: RolledWebhookSecret): WebhookSecretDto {
  return {
    object: 'webhook_secret',
    merchant: rolled.merchantId,
    secret: rolled.secret,
    previous_secret_expires:
      rolled.previousExpiresAt === null ? null : unixSeconds(rolled.previousExpiresAt),
    created: unixSeconds(rolled.createdAt),
  };
}
