import { API_KEY_CACHE_SIZE_MAX, API_KEY_CACHE_TTL_MS, ApiKeyCache } from './api-key-cache';

describe('ApiKeyCache', () => {
  const key = { id: 'key_1', merchant_id: 'mer_1' };

  it('remembers a key for its time to live, then forgets it', () => {
    const cache = new ApiKeyCache();
    cache.set('h1', key, 1_000);
    expect(cache.get('h1', 1_000 + API_KEY_CACHE_TTL_MS - 1)).toEqual(key);
    expect(cache.get('h1', 1_000 + API_KEY_CACHE_TTL_MS)).toBeUndefined();
    expect(cache.get('h1', 1_000)).toBeUndefined();
  });

  it("forgets a merchant's keys at once when they are rolled", () => {
    const cache = new ApiKeyCache();
    cache.set('h1', key, 0);
    cache.set('h2', { id: 'key_2', merchant_id: 'mer_2' }, 0);
    cache.forgetMerchant('mer_1');
    expect(cache.get('h1', 1)).toBeUndefined();
    expect(cache.get('h2', 1)).toBeDefined();
  });

  it('holds a bounded number of keys, dropping the oldest', () => {
    const cache = new ApiKeyCache();
    for (let i = 0; i <= API_KEY_CACHE_SIZE_MAX; i += 1) {
      cache.set(`h${i}`, { id: `key_${i}`, merchant_id: 'mer_1' }, 0);
    }
    expect(cache.get('h0', 1)).toBeUndefined();
    expect(cache.get(`h${API_KEY_CACHE_SIZE_MAX}`, 1)).toBeDefined();
  });

  it('shares one lookup between requests that miss together, and caches hits only', async () => {
    const cache = new ApiKeyCache();
    let loads = 0;
    const load = async (hash: string) => {
      loads += 1;
      await new Promise((resolve) => setImmediate(resolve));
      return hash === 'good' ? key : undefined;
    };
    const found = await Promise.all([1, 2, 3].map(() => cache.lookup('good', load)));
    expect(found).toEqual([key, key, key]);
    expect(loads).toBe(1);
    await cache.lookup('good', load);
    expect(loads).toBe(1);
    await cache.lookup('bad', load);
    await cache.lookup('bad', load);
    expect(loads).toBe(3);
  });
});
