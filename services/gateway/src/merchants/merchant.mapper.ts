import { unixSeconds, type Plain } from '../http/wire';
import type { ApiKeyDto, CreatedMerchantDto, MerchantDto } from './merchant.dto';
import type { ApiKeyRow, MerchantRow } from './merchant.rows';

export function toMerchantDto(row: MerchantRow): Plain<MerchantDto> {
  return {
    id: row.id,
    object: 'merchant',
    name: row.name,
    webhook_url: row.webhook_url,
    // Bounded by FIXED_FEE_MAX, so exact as a JSON number.
    pricing: { percent_bps: row.pricing_percent_bps, fixed: Number(row.pricing_fixed) },
    created: unixSeconds(row.created_at),
  };
}

export function toCreatedMerchantDto(row: MerchantRow, apiKey: string): CreatedMerchantDto {
  return { ...toMerchantDto(row), api_key: apiKey, webhook_secret: row.webhook_secret };
}

export function toApiKeyDto(row: ApiKeyRow, apiKey: string, revoked: string[]): ApiKeyDto {
  return {
    id: row.id,
    object: 'api_key',
    merchant: row.merchant_id,
    api_key: apiKey,
    prefix: row.prefix,
    revoked,
    created: unixSeconds(row.created_at),
  };
}
