/**
 * Idempotency-Key on POST: a retry of the same request replays the first response
 * (status and body, byte for byte, the headers its handler chose such as a 202's
 * `Location`, and `Idempotent-Replayed: true`) without running again;
 * another body is 422; a retry while the first still runs is 409; keys belong to their
 * caller; a 5xx or a validation failure frees the key; an expired key can be reused.
 *
 * How: through HTTP with operator routes (the merchant-scoped POST routes arrive with
 * payments), counting merchants in the database to prove what ran. The "still running"
 * request is held by a table lock the test takes (the retry is sent once the database
 * shows the key claimed and the request waiting); the 5xx by a table the test renames.
 * Scoping per merchant is checked on IdempotencyService with the real database.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { eventually } from '@clearline/testing';
import { IdempotencyService } from '../src/idempotency/idempotency.service';
import { anyString, startGateway, type ErrorReply, type GatewayHarness } from './gateway-harness';

describe('idempotency', () => {
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

  const merchantsNamed = async (name: string): Promise<number> =>
    (await db.query(`SELECT 1 FROM merchants WHERE name = $1`, [name])).rowCount ?? 0;

  const create = (idempotencyKey: string, body: unknown) =>
    gw.call('POST', '/v1/admin/merchants', { body, idempotencyKey });

  it('replays the first response for the same key and body, without running again', async () => {
    const key = randomUUID();
    const name = `replay-${key}`;
    const first = await create(key, { name, pricing: { percent_bps: 100, fixed: 5 } });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    // The same body with its keys in another order is the same request.
    const again = await gw.call('POST', '/v1/admin/merchants', {
      raw: `{"pricing": {"fixed": 5, "percent_bps": 100}, "name": ${JSON.stringify(name)}}`,
      idempotencyKey: key,
    });
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await merchantsNamed(name)).toBe(1);
  });

  it('replays a stored client error too', async () => {
    const key = randomUUID();
    const first = await gw.call<ErrorReply>('POST', '/v1/admin/merchants/mer_unknown/keys', {
      idempotencyKey: key,
    });
    expect(first.status).toBe(404);
    const again = await gw.call('POST', '/v1/admin/merchants/mer_unknown/keys', {
      idempotencyKey: key,
    });
    expect(again.status).toBe(404);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('answers 422 idempotency_error for the same key with another body or route', async () => {
    const key = randomUUID();
    expect((await create(key, { name: `first-${key}` })).status).toBe(201);
    const other = await create(key, { name: `second-${key}` });
    expect(other.status).toBe(422);
    expect((other.body as ErrorReply).error).toEqual({
      type: 'idempotency_error',
      code: 'idempotency_error',
      message: anyString(),
      param: 'Idempotency-Key',
    });
    const merchant = await gw.createMerchant();
    const otherRoute = await gw.call('POST', `/v1/admin/merchants/${merchant.id}/keys`, {
      idempotencyKey: key,
    });
    expect(otherRoute.status).toBe(422);
    expect(await merchantsNamed(`second-${key}`)).toBe(0);
  });

  it('answers 409 idempotency_key_in_use while the first request still runs, then replays', async () => {
    const key = randomUUID();
    const name = `slow-${key}`;
    const lock = new Client({ connectionString: gw.infra.databaseUrl });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE merchants IN EXCLUSIVE MODE');
    const first = create(key, { name });
    try {
      // Wait until the first request has claimed the key and waits on the lock: only
      // then is "a retry while it still runs" what the second request is.
      await eventually(
        async () => {
          const { rows } = await db.query<{ claimed: boolean; waiting: boolean }>(
            `SELECT EXISTS (SELECT 1 FROM idempotency_keys WHERE key = $1 AND state = 'in_progress') AS claimed,
                    EXISTS (SELECT 1 FROM pg_stat_activity
                             WHERE datname = current_database() AND wait_event_type = 'Lock') AS waiting`,
            [key],
          );
          return rows[0]?.claimed === true && rows[0].waiting;
        },
        { what: 'the first request to claim the key and wait on the lock' },
      );
      const second = await create(key, { name });
      expect(second.status).toBe(409);
      expect((second.body as ErrorReply).error).toEqual({
        type: 'idempotency_error',
        code: 'idempotency_key_in_use',
        message: anyString(),
        param: 'Idempotency-Key',
      });
    } finally {
      await lock.query('ROLLBACK');
      await lock.end();
    }
    const done = await first;
    expect(done.status).toBe(201);
    const replay = await create(key, { name });
    expect(replay.text).toBe(done.text);
    expect(await merchantsNamed(name)).toBe(1);
  });

  it('lets only one of many concurrent identical requests run', async () => {
    const key = randomUUID();
    const name = `race-${key}`;
    const replies = await Promise.all(Array.from({ length: 8 }, () => create(key, { name })));
    const statuses = replies.map((reply) => reply.status).sort();
    expect(statuses.every((status) => status === 201 || status === 409)).toBe(true);
    expect(await merchantsNamed(name)).toBe(1);
    const created = replies.filter((reply) => reply.status === 201);
    expect(new Set(created.map((reply) => reply.text)).size).toBe(1);
  });

  it('frees the key when the request fails with a 5xx, so a retry runs', async () => {
    const key = randomUUID();
    const name = `fails-${key}`;
    await db.query('ALTER TABLE merchants RENAME TO merchants_away');
    let failed;
    try {
      failed = await create(key, { name });
    } finally {
      await db.query('ALTER TABLE merchants_away RENAME TO merchants');
    }
    expect(failed.status).toBe(500);
    const retry = await create(key, { name });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(await merchantsNamed(name)).toBe(1);
  });

  it('frees the key when the request is refused by validation', async () => {
    const key = randomUUID();
    expect((await create(key, { name: 42 })).status).toBe(400);
    const fixed = await create(key, { name: `valid-${key}` });
    expect(fixed.status).toBe(201);
  });

  it('lets an expired key be used again, for any request', async () => {
    const key = randomUUID();
    expect((await create(key, { name: `old-${key}` })).status).toBe(201);
    await db.query(
      `UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`,
      [key],
    );
    const reused = await create(key, { name: `new-${key}` });
    expect(reused.status).toBe(201);
    expect(reused.headers.get('idempotent-replayed')).toBeNull();
    const { rows } = await db.query<{ expires_at: Date }>(
      `SELECT expires_at FROM idempotency_keys WHERE key = $1`,
      [key],
    );
    expect(rows[0]!.expires_at.getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
  });

  it('refuses a malformed key', async () => {
    const reply = await create('x'.repeat(256), { name: 'long-key' });
    expect(reply.status).toBe(400);
    expect((reply.body as ErrorReply).error).toMatchObject({
      code: 'parameter_invalid',
      param: 'Idempotency-Key',
    });
  });

  it('scopes keys to their caller: two merchants may use the same key', async () => {
    const idempotency = gw.app.get(IdempotencyService);
    const key = randomUUID();
    const request = { method: 'POST', path: '/v1/payments', body: { amount: 100 } };
    const a = await idempotency.claim('mer_a', key, request);
    const b = await idempotency.claim('mer_b', key, { ...request, body: { amount: 200 } });
    expect(a.kind).toBe('claimed');
    expect(b.kind).toBe('claimed');
    if (a.kind !== 'claimed' || b.kind !== 'claimed') return;
    await idempotency.complete(null, a.claim, 202, { id: 'pay_a' }, { Location: '/pay_a' });
    await idempotency.complete(null, b.claim, 201, { id: 'pay_b' });
    expect(await idempotency.claim('mer_a', key, request)).toEqual({
      kind: 'replay',
      status: 202,
      body: '{"id":"pay_a"}',
      headers: { Location: '/pay_a' },
    });
    expect(await idempotency.claim('mer_b', key, { ...request, body: { amount: 200 } })).toEqual({
      kind: 'replay',
      status: 201,
      body: '{"id":"pay_b"}',
      headers: {},
    });
    await expect(idempotency.claim('mer_b', key, request)).rejects.toMatchObject({
      code: 'idempotency_error',
    });
  });

  it('takes over an abandoned claim of the same request after the lock timeout', async () => {
    const idempotency = gw.app.get(IdempotencyService);
    const key = randomUUID();
    const request = { method: 'POST', path: '/v1/payments', body: { amount: 1 } };
    const first = await idempotency.claim('mer_c', key, request);
    if (first.kind !== 'claimed') throw new Error('not claimed');
    await gw.app
      .get(IdempotencyService)
      .transaction(null, 201, (manager) =>
        idempotency.setReference(manager, first.claim, 'pay_123'),
      );
    await expect(idempotency.claim('mer_c', key, request)).rejects.toMatchObject({
      code: 'idempotency_key_in_use',
    });
    // The process that held it died a while ago.
    await db.query(
      `UPDATE idempotency_keys SET locked_at = now() - interval '5 minutes' WHERE key = $1`,
      [key],
    );
    const resumed = await idempotency.claim('mer_c', key, request);
    expect(resumed).toMatchObject({ kind: 'claimed', claim: { reference: 'pay_123' } });
  });
});
