import {
  API_KEY_CACHE_SIZE_MAX,
  API_KEY_CACHE_TTL_MS,
  API_KEY_UNKNOWN_TTL_MS,
  ApiKeyCache,
  type ActiveApiKey,
} from './api-key-cache';

/** A database the test answers by hand: each load waits until the test settles it. */
function manualLoads() {
  const pending: { hash: string; settle: (key: ActiveApiKey | undefined) => void }[] = [];
  const load = (hash: string) =>
    new Promise<ActiveApiKey | undefined>((settle) => pending.push({ hash, settle }));
  return { pending, load };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('ApiKeyCache', () => {
  const key = { id: 'key_1', merchant_id: 'mer_1' };
  const found = (hash: string) => Promise.resolve(hash.startsWith('good') ? key : undefined);
  let now = 1_000_000;

  beforeEach(() => {
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('remembers an active key for its time to live, then asks again', async () => {
    const cache = new ApiKeyCache();
    const load = jest.fn(found);
    await cache.lookup('good', load);
    expect(cache.get('good', now + API_KEY_CACHE_TTL_MS - 1)).toEqual({ state: 'active', key });
    expect(cache.get('good', now + API_KEY_CACHE_TTL_MS)).toBeUndefined();
    now += API_KEY_CACHE_TTL_MS;
    await cache.lookup('good', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('remembers a digest no active key has, for longer, so a repeated bad key costs one load', async () => {
    const cache = new ApiKeyCache();
    const load = jest.fn(found);
    for (let i = 0; i < 5; i += 1) expect(await cache.lookup('bad', load)).toBeUndefined();
    expect(load).toHaveBeenCalledTimes(1);
    expect(cache.get('bad', now + API_KEY_UNKNOWN_TTL_MS - 1)).toEqual({ state: 'unknown' });
    expect(cache.get('bad', now + API_KEY_UNKNOWN_TTL_MS)).toBeUndefined();
  });

  it('shares one load between requests that miss together', async () => {
    const cache = new ApiKeyCache();
    const load = jest.fn(found);
    const keys = await Promise.all([1, 2, 3].map(() => cache.lookup('good', load)));
    expect(keys).toEqual([key, key, key]);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('holds a bounded number of active keys, dropping the oldest', async () => {
    const cache = new ApiKeyCache();
    for (let i = 0; i <= API_KEY_CACHE_SIZE_MAX; i += 1) await cache.lookup(`good${i}`, found);
    expect(cache.get('good0')).toBeUndefined();
    expect(cache.get(`good${API_KEY_CACHE_SIZE_MAX}`)).toBeDefined();
  });

  it("forgets a merchant's keys at once when they are revoked, and no one else's", async () => {
    const cache = new ApiKeyCache();
    await cache.lookup('h1', () => Promise.resolve(key));
    await cache.lookup('h2', () => Promise.resolve({ id: 'key_2', merchant_id: 'mer_2' }));
    cache.keysRevoked('mer_1');
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')).toBeDefined();
  });

  it('caches nothing a lookup begun before a revocation read, and lets no later one join it', async () => {
    const cache = new ApiKeyCache();
    const db = manualLoads();
    // A request reads the key while it is still active...
    const early = cache.lookup('h1', db.load);
    await flush();
    // ...the roll revokes it before that read comes back...
    cache.keysRevoked('mer_1');
    // ...and a request after the revocation asks the database itself.
    const late = cache.lookup('h1', db.load);
    expect(db.pending).toHaveLength(2);
    db.pending[0]!.settle(key);
    expect(await early).toEqual(key);
    expect(cache.get('h1')).toBeUndefined();
    db.pending[1]!.settle(undefined);
    expect(await late).toBeUndefined();
    expect(cache.get('h1')).toEqual({ state: 'unknown' });
  });

  it('passes a failed load to every request that waited for it, and caches nothing', async () => {
    const cache = new ApiKeyCache();
    const load = jest.fn(() => Promise.reject(new Error('database away')));
    await expect(cache.lookup('h1', load)).rejects.toThrow('database away');
    expect(cache.get('h1')).toBeUndefined();
    await expect(cache.lookup('h1', load)).rejects.toThrow('database away');
    expect(load).toHaveBeenCalledTimes(2);
  });
});
