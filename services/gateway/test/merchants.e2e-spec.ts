/**
 * Merchants, API keys and authentication, through HTTP against the real gateway (its
 * own vhost and database).
 *
 * How: operators create merchants with ADMIN_API_KEY; the answer must carry the key and
 * the webhook secret once, the database must hold only the key's hash, and the outbox
 * must hold the `ledger.open_merchant` task of the same transaction. Merchant keys must
 * open merchant routes and nothing else; a roll must kill the old key at once. PATCH
 * changes a merchant's name and webhook URL (null removes it) and nothing else.
 */
import { Client } from 'pg';
import {
  matching,
  anyString,
  anyNumber,
  startGateway,
  type ErrorReply,
  type GatewayHarness,
} from './gateway-harness';

describe('merchants and keys', () => {
  let gw: GatewayHarness;
  let db: Client;

  beforeAll(async () => {
    gw = await startGateway();
    db = new Client({ connectionString: gw.infra.databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db.end();
    await gw.close();
  });

  it('creates a merchant: key and webhook secret shown once, key stored as a hash only', async () => {
    const reply = await gw.call<Record<string, unknown>>('POST', '/v1/admin/merchants', {
      body: {
        name: 'Acme Books',
        webhook_url: 'https://acme.example/hooks',
        pricing: { percent_bps: 250, fixed: 25 },
      },
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({
      id: matching(/^mer_[A-Za-z0-9]{24}$/),
      object: 'merchant',
      name: 'Acme Books',
      webhook_url: 'https://acme.example/hooks',
      pricing: { percent_bps: 250, fixed: 25 },
      api_key: matching(/^sk_test_[A-Za-z0-9]{32}$/),
      webhook_secret: matching(/^whsec_[A-Za-z0-9]{32}$/),
      created: anyNumber(),
    });
    const { rows } = await db.query<{ key_hash: string; prefix: string }>(
      `SELECT key_hash, prefix FROM api_keys WHERE merchant_id = $1`,
      [reply.body['id']],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.key_hash).not.toContain(String(reply.body['api_key']).slice(8));
    expect(String(reply.body['api_key']).startsWith(rows[0]!.prefix)).toBe(true);
  });

  it('applies default pricing and tells the ledger through the outbox, in the same transaction', async () => {
    const merchant = await gw.createMerchant();
    expect(merchant.pricing).toEqual({ percent_bps: 290, fixed: 30 });
    expect(merchant.webhook_url).toBeNull();
    const { rows } = await db.query<{ task: string; routing_key: string; body: Buffer }>(
      `SELECT task, routing_key, body FROM task_outbox WHERE task = 'ledger.open_merchant'`,
    );
    const mine = rows.filter((row) => row.body.toString('utf8').includes(merchant.id));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.routing_key).toBe('ledger');
    const [, kwargs] = JSON.parse(mine[0]!.body.toString('utf8')) as [unknown[], object];
    expect(kwargs).toEqual({ merchant_id: merchant.id });
  });

  it('retrieves a merchant for operators, without its secrets; an unknown id is 404', async () => {
    const merchant = await gw.createMerchant({ name: 'Shown' });
    const reply = await gw.call<Record<string, unknown>>(
      'GET',
      `/v1/admin/merchants/${merchant.id}`,
    );
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      id: merchant.id,
      object: 'merchant',
      name: 'Shown',
      webhook_url: null,
      pricing: merchant.pricing,
      created: merchant.created,
    });
    const missing = await gw.call<ErrorReply>('GET', '/v1/admin/merchants/mer_nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({
      type: 'invalid_request_error',
      code: 'resource_missing',
    });
  });

  it('rejects bad merchant input with the parameter named', async () => {
    const cases: [unknown, number, string, string][] = [
      [{}, 400, 'parameter_missing', 'name'],
      [{ name: 42 }, 400, 'parameter_invalid', 'name'],
      [{ name: 'x', colour: 'red' }, 400, 'parameter_unknown', 'colour'],
      [{ name: 'x', webhook_url: 'not a url' }, 400, 'parameter_invalid', 'webhook_url'],
      [{ name: 'x', webhook_url: 'ftp://x.example/' }, 400, 'parameter_invalid', 'webhook_url'],
      [
        { name: 'x', pricing: { percent_bps: 10_001, fixed: 0 } },
        400,
        'parameter_invalid',
        'pricing.percent_bps',
      ],
      [
        { name: 'x', pricing: { percent_bps: 1.5, fixed: 0 } },
        400,
        'parameter_invalid',
        'pricing.percent_bps',
      ],
      [
        { name: 'x', pricing: { percent_bps: 1, fixed: '30' } },
        400,
        'parameter_invalid',
        'pricing.fixed',
      ],
      [
        { name: 'x', pricing: { percent_bps: 1, fixed: 1, extra: 1 } },
        400,
        'parameter_unknown',
        'pricing.extra',
      ],
      [{ name: 'x', pricing: [1, 2] }, 400, 'parameter_invalid', 'pricing'],
      [{ name: 'x', pricing: { percent_bps: 1 } }, 400, 'parameter_missing', 'pricing.fixed'],
    ];
    for (const [body, status, code, param] of cases) {
      const reply = await gw.call<ErrorReply>('POST', '/v1/admin/merchants', { body });
      expect({ body, status: reply.status, error: reply.body.error }).toEqual({
        body,
        status,
        error: { type: 'invalid_request_error', code, param, message: anyString() },
      });
    }
    const { rows } = await db.query(`SELECT 1 FROM merchants WHERE name = 'x'`);
    expect(rows).toEqual([]);
  });

  it('answers 401 without a key, with a wrong key, or with the wrong kind of key', async () => {
    const merchant = await gw.createMerchant();
    const noKey = await gw.call<ErrorReply>('POST', '/v1/admin/merchants', {
      key: null,
      body: { name: 'x' },
    });
    expect(noKey.status).toBe(401);
    expect(noKey.body.error).toEqual({
      type: 'authentication_error',
      code: 'api_key_missing',
      message: anyString(),
      param: null,
    });
    const attempts: [string, string, string | null][] = [
      ['POST', '/v1/admin/merchants', 'sk_admin_wrong'],
      ['POST', '/v1/admin/merchants', merchant.api_key],
      ['GET', '/v1/admin/dead-letters', merchant.api_key],
      ['GET', '/v1/events', gw.adminKey],
      ['GET', '/v1/events', 'sk_test_doesnotexist000000000000000000'],
      ['GET', '/v1/events', null],
    ];
    for (const [method, path, key] of attempts) {
      const reply = await gw.call<ErrorReply>(method, path, {
        key,
        body: method === 'POST' ? { name: 'x' } : undefined,
      });
      expect({ path, key, status: reply.status, type: reply.body.error.type }).toEqual({
        path,
        key,
        status: 401,
        type: 'authentication_error',
      });
    }
    const malformed = await gw.call<ErrorReply>('GET', '/v1/events', {
      key: null,
      headers: { authorization: `Basic ${merchant.api_key}` },
    });
    expect(malformed.status).toBe(401);
    // The key is never echoed whole.
    const wrong = await gw.call<ErrorReply>('GET', '/v1/events', { key: `${merchant.api_key}x` });
    expect(wrong.body.error.message).not.toContain(merchant.api_key);
  });

  it('lets a merchant key in on merchant routes', async () => {
    const merchant = await gw.createMerchant();
    const reply = await gw.call('GET', '/v1/events', { key: merchant.api_key });
    expect(reply.status).toBe(200);
  });

  it('rolls a key: the old one answers 401 at once, the new one works', async () => {
    const merchant = await gw.createMerchant();
    const rolled = await gw.call<Record<string, unknown>>(
      'POST',
      `/v1/admin/merchants/${merchant.id}/keys`,
    );
    expect(rolled.status).toBe(201);
    expect(rolled.body).toEqual({
      id: matching(/^key_/),
      object: 'api_key',
      merchant: merchant.id,
      api_key: matching(/^sk_test_[A-Za-z0-9]{32}$/),
      prefix: matching(/^sk_test_/),
      revoked: [matching(/^key_/)],
      created: anyNumber(),
    });
    const newKey = String(rolled.body['api_key']);
    expect(newKey).not.toBe(merchant.api_key);
    expect((await gw.call('GET', '/v1/events', { key: merchant.api_key })).status).toBe(401);
    expect((await gw.call('GET', '/v1/events', { key: newKey })).status).toBe(200);

    const again = await gw.call<Record<string, unknown>>(
      'POST',
      `/v1/admin/merchants/${merchant.id}/keys`,
      {
        body: {},
      },
    );
    expect(again.status).toBe(201);
    expect((await gw.call('GET', '/v1/events', { key: newKey })).status).toBe(401);
    const unknownField = await gw.call<ErrorReply>(
      'POST',
      `/v1/admin/merchants/${merchant.id}/keys`,
      {
        body: { expires: 1 },
      },
    );
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.code).toBe('parameter_unknown');
  });

  describe('PATCH /v1/admin/merchants/{id}', () => {
    const patch = (id: string, body: unknown, options: { key?: string | null } = {}) =>
      gw.call<Record<string, unknown> & ErrorReply>('PATCH', `/v1/admin/merchants/${id}`, {
        body,
        ...options,
      });

    it('changes the name and the webhook URL, keeps what is absent, and answers the merchant', async () => {
      const merchant = await gw.createMerchant({
        name: 'Before',
        webhook_url: 'https://before.example/hooks',
        pricing: { percent_bps: 250, fixed: 25 },
      });
      const renamed = await patch(merchant.id, { name: 'After' });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toEqual({
        id: merchant.id,
        object: 'merchant',
        name: 'After',
        webhook_url: 'https://before.example/hooks',
        pricing: { percent_bps: 250, fixed: 25 },
        created: merchant.created,
      });
      const moved = await patch(merchant.id, { webhook_url: 'https://after.example:8443/new' });
      expect(moved.body).toMatchObject({
        name: 'After',
        webhook_url: 'https://after.example:8443/new',
      });
      const both = await patch(merchant.id, { name: 'Both', webhook_url: 'https://b.example/h' });
      expect(both.body).toMatchObject({ name: 'Both', webhook_url: 'https://b.example/h' });
      const nothing = await patch(merchant.id, {});
      expect(nothing.status).toBe(200);
      expect(nothing.body).toEqual(both.body);
      const shown = await gw.call('GET', `/v1/admin/merchants/${merchant.id}`);
      expect(shown.body).toEqual(both.body);
    });

    it('removes the webhook URL with null', async () => {
      const merchant = await gw.createMerchant({ webhook_url: 'https://gone.example/hooks' });
      const reply = await patch(merchant.id, { webhook_url: null });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ name: merchant.name, webhook_url: null });
      const { rows } = await db.query<{ webhook_url: string | null }>(
        `SELECT webhook_url FROM merchants WHERE id = $1`,
        [merchant.id],
      );
      expect(rows).toEqual([{ webhook_url: null }]);
    });

    it('refuses bad input, unknown fields and pricing, changing nothing', async () => {
      const merchant = await gw.createMerchant({ name: 'Kept', webhook_url: 'https://k.example/' });
      const cases: [unknown, string, string][] = [
        [{ webhook_url: 'not a url' }, 'parameter_invalid', 'webhook_url'],
        [{ webhook_url: 'ftp://x.example/' }, 'parameter_invalid', 'webhook_url'],
        [
          { webhook_url: `https://x.example/${'a'.repeat(2_048)}` },
          'parameter_invalid',
          'webhook_url',
        ],
        [{ webhook_url: 42 }, 'parameter_invalid', 'webhook_url'],
        [{ name: null }, 'parameter_invalid', 'name'],
        [{ name: '' }, 'parameter_invalid', 'name'],
        [{ name: 'x'.repeat(201) }, 'parameter_invalid', 'name'],
        [{ pricing: { percent_bps: 1, fixed: 1 } }, 'parameter_unknown', 'pricing'],
        [{ api_key: 'sk_test_x' }, 'parameter_unknown', 'api_key'],
        [{ name: 'x', id: 'mer_other' }, 'parameter_unknown', 'id'],
      ];
      for (const [body, code, param] of cases) {
        const reply = await patch(merchant.id, body);
        expect({ body, status: reply.status, error: reply.body.error }).toEqual({
          body,
          status: 400,
          error: { type: 'invalid_request_error', code, param, message: anyString() },
        });
      }
      const notObject = await patch(merchant.id, ['x']);
      expect(notObject.status).toBe(400);
      const shown = await gw.call('GET', `/v1/admin/merchants/${merchant.id}`);
      expect(shown.body).toMatchObject({ name: 'Kept', webhook_url: 'https://k.example/' });
    });

    it('answers 404 for an unknown merchant and 401 to anyone but the operators', async () => {
      const missing = await patch('mer_missing', { name: 'x' });
      expect(missing.status).toBe(404);
      expect(missing.body.error).toMatchObject({ code: 'resource_missing', param: 'id' });
      const merchant = await gw.createMerchant({ name: 'Mine' });
      for (const key of [merchant.api_key, null, 'sk_admin_wrong']) {
        const reply = await patch(merchant.id, { name: 'Theirs' }, { key });
        expect({ key, status: reply.status }).toEqual({ key, status: 401 });
      }
      expect((await gw.call('GET', `/v1/admin/merchants/${merchant.id}`)).body).toMatchObject({
        name: 'Mine',
      });
    });

    it('takes no Idempotency-Key: every PATCH applies, none is a replay', async () => {
      const merchant = await gw.createMerchant();
      const key = 'patch-key-1';
      const first = await gw.call<Record<string, unknown>>(
        'PATCH',
        `/v1/admin/merchants/${merchant.id}`,
        { body: { name: 'One' }, idempotencyKey: key },
      );
      const second = await gw.call<Record<string, unknown>>(
        'PATCH',
        `/v1/admin/merchants/${merchant.id}`,
        { body: { name: 'Two' }, idempotencyKey: key },
      );
      expect([first.status, first.body['name'], second.status, second.body['name']]).toEqual([
        200,
        'One',
        200,
        'Two',
      ]);
      expect(second.headers.get('idempotent-replayed')).toBeNull();
    });
  });

  it('answers 404 when rolling the key of a merchant that does not exist', async () => {
    const reply = await gw.call<ErrorReply>('POST', '/v1/admin/merchants/mer_missing/keys');
    expect(reply.status).toBe(404);
    expect(reply.body.error.code).toBe('resource_missing');
  });
});
