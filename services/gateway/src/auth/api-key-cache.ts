import { Injectable } from '@nestjs/common';

/** How long a looked-up key is trusted without asking the database again. */
export const API_KEY_CACHE_TTL_MS = 1_000;
/** Keys remembered at most; the oldest entry goes first. */
export const API_KEY_CACHE_SIZE_MAX = 10_000;

export interface ActiveApiKey {
  id: string;
  merchant_id: string;
}

interface Entry {
  key: ActiveApiKey;
  expiresAtMs: number;
}

/**
 * Active API keys by digest, for a second: a merchant sending hundreds of requests a
 * second costs one key lookup per second instead of one per request. A key roll
 * forgets the merchant's keys at once in this process; another replica may accept a
 * revoked key for at most API_KEY_CACHE_TTL_MS. Only hits are cached, so a wrong key is
 * always checked against the database.
 */
@Injectable()
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  /** Lookups under way: requests that miss together share one query. */
  private readonly loading = new Map<string, Promise<ActiveApiKey | undefined>>();

  /** The cached key, or `load`'s answer (cached when found). */
  async lookup(
    keyHash: string,
    load: (keyHash: string) => Promise<ActiveApiKey | undefined>,
  ): Promise<ActiveApiKey | undefined> {
    const cached = this.get(keyHash);
    if (cached) return cached;
    let pending = this.loading.get(keyHash);
    if (!pending) {
      pending = load(keyHash).finally(() => this.loading.delete(keyHash));
      this.loading.set(keyHash, pending);
    }
    const found = await pending;
    if (found) this.set(keyHash, found);
    return found;
  }

  get(keyHash: string, nowMs = Date.now()): ActiveApiKey | undefined {
    const entry = this.entries.get(keyHash);
    if (!entry) return undefined;
    if (entry.expiresAtMs > nowMs) return entry.key;
    this.entries.delete(keyHash);
    return undefined;
  }

  set(keyHash: string, key: ActiveApiKey, nowMs = Date.now()): void {
    this.entries.delete(keyHash);
    this.entries.set(keyHash, { key, expiresAtMs: nowMs + API_KEY_CACHE_TTL_MS });
    if (this.entries.size > API_KEY_CACHE_SIZE_MAX) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  /** Forgets every key of the merchant (its keys were just rolled). */
  forgetMerchant(merchantId: string): void {
    for (const [hash, entry] of this.entries) {
      if (entry.key.merchant_id === merchantId) this.entries.delete(hash);
    }
  }
}
