import { Injectable } from '@nestjs/common';

/** How long a looked-up key is trusted without asking the database again. */
export const API_KEY_CACHE_TTL_MS = 1_000;
/** Keys remembered at most; the oldest entry goes first. */
export const API_KEY_CACHE_SIZE_MAX = 10_000;
/** How long a digest no active key has is remembered as unknown. */
export const API_KEY_UNKNOWN_TTL_MS = 30_000;
/** Unknown digests remembered at most; the oldest entry goes first. */
export const API_KEY_UNKNOWN_SIZE_MAX = 10_000;

export interface ActiveApiKey {
  id: string;
  merchant_id: string;
}

/** What the cache knows of a digest: an active key, or that no active key has it. */
export type CachedApiKey = { state: 'active'; key: ActiveApiKey } | { state: 'unknown' };

interface Entry<T> {
  value: T;
  expiresAtMs: number;
}

/** A map of entries that expire, holding at most `sizeMax` (the oldest goes first). */
class ExpiringMap<T> {
  readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly sizeMax: number,
  ) {}

  get(key: string, nowMs: number): T | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs > nowMs) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: T, nowMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAtMs: nowMs + this.ttlMs });
    if (this.entries.size > this.sizeMax) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }
}

interface Loading {
  generation: number;
  found: Promise<ActiveApiKey | undefined>;
}

/**
 * API keys by digest, in this process: active keys for a second (a merchant sending
 * hundreds of requests a second costs one lookup per second), and digests no active key
 * has for 30 s (a client retrying a wrong or revoked key, or a flood of one bad key,
 * costs one lookup). Both are bounded in size.
 *
 * Revocation (a key roll) must win every race with a lookup, so a revoked key is never
 * cached as active again. Two rules do it:
 * - `keysRevoked` is called in the roll's transaction right after its UPDATE, while it
 *   holds the revoked rows' locks. A lookup reads `FOR SHARE` (ApiKeysRepository), so
 *   one that starts later waits for the roll to commit (or roll back) and sees the
 *   outcome, never the key as it was.
 * - Each revocation starts a new generation. A lookup that began in an earlier one (it
 *   may have read the key before the UPDATE) answers its own request but caches
 *   nothing, and no later lookup joins it.
 * So the moment the roll answers, this process refuses the old keys. Another replica
 * keeps trusting a key it cached for at most API_KEY_CACHE_TTL_MS.
 */
@Injectable()
export class ApiKeyCache {
  private readonly active = new ExpiringMap<ActiveApiKey>(
    API_KEY_CACHE_TTL_MS,
    API_KEY_CACHE_SIZE_MAX,
  );
  private readonly unknown = new ExpiringMap<true>(
    API_KEY_UNKNOWN_TTL_MS,
    API_KEY_UNKNOWN_SIZE_MAX,
  );
  /** Lookups under way: requests that miss together share one query. */
  private readonly loading = new Map<string, Loading>();
  private generation = 0;

  /** What is cached for the digest, or undefined when only the database can say. */
  get(keyHash: string, nowMs = Date.now()): CachedApiKey | undefined {
    const key = this.active.get(keyHash, nowMs);
    if (key) return { state: 'active', key };
    return this.unknown.get(keyHash, nowMs) ? { state: 'unknown' } : undefined;
  }

  /** The active key with this digest: cached, or `load`'s answer (then cached either way). */
  async lookup(
    keyHash: string,
    load: (keyHash: string) => Promise<ActiveApiKey | undefined>,
  ): Promise<ActiveApiKey | undefined> {
    const cached = this.get(keyHash);
    if (cached) return cached.state === 'active' ? cached.key : undefined;
    const generation = this.generation;
    let pending = this.loading.get(keyHash);
    if (pending?.generation !== generation) {
      const loaded: Loading = { generation, found: load(keyHash) };
      pending = loaded;
      this.loading.set(keyHash, loaded);
      void loaded.found
        .finally(() => {
          if (this.loading.get(keyHash) === loaded) this.loading.delete(keyHash);
        })
        .catch(() => undefined); // the awaiting requests see the error
    }
    const found = await pending.found;
    if (this.generation === generation) {
      if (found) this.active.set(keyHash, found, Date.now());
      else this.unknown.set(keyHash, true, Date.now());
    }
    return found;
  }

  /**
   * Forgets the merchant's keys at once and starts a new generation: call it in the
   * revoking transaction, after the UPDATE that revokes them (see the class comment).
   */
  keysRevoked(merchantId: string): void {
    this.generation += 1;
    for (const [hash, entry] of this.active.entries) {
      if (entry.value.merchant_id === merchantId) this.active.entries.delete(hash);
    }
  }
}
